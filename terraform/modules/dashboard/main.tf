# Dashboard: one EC2 instance in a public subnet behind an Elastic IP, running
# the Go dashboard binary under systemd (set up by the CLI's cloud-init). It
# serves the UI and REST API, publishes the ingest key set to S3, runs database
# migrations with the master secret, and delivers alerts through SNS.
#
# Only 80 and 443 are open; there is no SSH. Behind CloudFront (no domain)
# only port 80 is open, and only to CloudFront's origin-facing addresses. Shell access is SSM Session
# Manager (a scoped policy for the SSM agent, no parameter access). IMDSv2 is required with a hop limit
# of 1, and instance tags are exposed in the metadata so cloud-init can find
# the binary and the runtime config without any value baked into user data.

resource "aws_security_group" "this" {
  name        = "${var.name}-dashboard"
  description = "Flytrap dashboard: HTTP and HTTPS in; HTTPS, HTTP and PostgreSQL out"
  vpc_id      = var.vpc_id

  tags = {
    Name = "${var.name}-dashboard"
  }
}

resource "aws_vpc_security_group_ingress_rule" "web" {
  for_each = var.cloudfront_prefix_list_id != "" ? {} : {
    for pair in setproduct([80, 443], var.ingress_cidr_blocks) : "${pair[0]}-${pair[1]}" => { port = pair[0], cidr = pair[1] }
  }

  security_group_id = aws_security_group.this.id
  description       = each.value.port == 443 ? "HTTPS" : "HTTP (ACME challenges, redirect to HTTPS)"
  ip_protocol       = "tcp"
  from_port         = each.value.port
  to_port           = each.value.port
  cidr_ipv4         = each.value.cidr
}

# Behind CloudFront the instance answers HTTP from CloudFront's edge only
# (the AWS-managed prefix list weighs about 55 of the group's 60 inbound
# rules); the dashboard also refuses requests without the distribution's
# origin secret, since every CloudFront distribution shares those ranges.
resource "aws_vpc_security_group_ingress_rule" "cloudfront" {
  count = var.cloudfront_prefix_list_id != "" ? 1 : 0

  security_group_id = aws_security_group.this.id
  description       = "HTTP from CloudFront (origin-facing)"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  prefix_list_id    = var.cloudfront_prefix_list_id
}

# Egress: AWS APIs (SSM, Secrets Manager, SNS, S3, SQS), Let's Encrypt,
# webhooks and package mirrors over HTTPS; HTTP for OCSP/CRL, mirrors and
# http:// webhooks; SMTP alert delivery (docs/alerts.md): submission 587 and
# implicit TLS 465, and SES's alternatives 2587 and 2465 (25 is throttled by
# EC2 and not opened); the database. Webhooks on other ports are not reachable
# (docs/alerts.md). DNS and NTP go to VPC-local addresses security groups do
# not filter.
resource "aws_vpc_security_group_egress_rule" "internet" {
  for_each = { https = 443, http = 80, smtps = 465, submission = 587, ses-smtps = 2465, ses-submission = 2587 }

  security_group_id = aws_security_group.this.id
  description       = upper(each.key)
  ip_protocol       = "tcp"
  from_port         = each.value
  to_port           = each.value
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "postgres" {
  security_group_id            = aws_security_group.this.id
  description                  = "PostgreSQL"
  ip_protocol                  = "tcp"
  from_port                    = var.db_port
  to_port                      = var.db_port
  referenced_security_group_id = var.db_security_group_id
}

resource "aws_iam_role" "this" {
  name        = var.iam_name
  description = "Flytrap dashboard instance"

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ec2.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy" "this" {
  name = "dashboard"
  role = aws_iam_role.this.id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ReadDatabaseMasterSecret"
        Effect   = "Allow"
        Action   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
        Resource = var.db_secret_arn
      },
      {
        Sid      = "ListBucket"
        Effect   = "Allow"
        Action   = ["s3:ListBucket", "s3:GetBucketLocation"]
        Resource = var.bucket_arn
      },
      {
        Sid      = "ReadObjects"
        Effect   = "Allow"
        Action   = "s3:GetObject"
        Resource = "${var.bucket_arn}/*"
      },
      {
        # Only what the dashboard publishes: the key set, source maps and
        # the first admin's password. Its own binary and config are not
        # writable, so a compromised process cannot persist across restarts.
        Sid      = "WriteOwnObjects"
        Effect   = "Allow"
        Action   = ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
        Resource = [for k in var.writable_keys : "${var.bucket_arn}/${k}"]
      },
      {
        Sid      = "NeverOverwriteOwnCode"
        Effect   = "Deny"
        Action   = ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectAcl"]
        Resource = ["${var.bucket_arn}/${var.binary_key}", "${var.bucket_arn}/${var.config_key}"]
      },
      {
        # What the SSM agent needs for Session Manager and Run Command (the
        # deploy's restart), instead of AmazonSSMManagedInstanceCore, which
        # also grants ssm:GetParameter* on every parameter of the account.
        # These actions support no resource-level permissions.
        Sid    = "SSMAgent"
        Effect = "Allow"
        Action = [
          "ssm:UpdateInstanceInformation",
          "ssm:ListInstanceAssociations",
          "ssm:UpdateInstanceAssociationStatus",
          "ssmmessages:CreateControlChannel",
          "ssmmessages:CreateDataChannel",
          "ssmmessages:OpenControlChannel",
          "ssmmessages:OpenDataChannel",
          "ec2messages:AcknowledgeMessage",
          "ec2messages:DeleteMessage",
          "ec2messages:FailMessage",
          "ec2messages:GetEndpoint",
          "ec2messages:GetMessages",
          "ec2messages:SendReply",
        ]
        Resource = "*"
      },
      {
        Sid      = "PublishAlerts"
        Effect   = "Allow"
        Action   = "sns:Publish"
        Resource = var.alerts_topic_arn
      },
      {
        Sid      = "ReadQueueDepth"
        Effect   = "Allow"
        Action   = "sqs:GetQueueAttributes"
        Resource = var.queue_arns
      },
    ]
  })
}

resource "aws_iam_instance_profile" "this" {
  name = var.iam_name
  role = aws_iam_role.this.name
}

resource "aws_s3_object" "binary" {
  provider     = aws.untagged
  bucket       = var.bucket_name
  key          = var.binary_key
  source       = var.binary_path
  source_hash  = filemd5(var.binary_path)
  content_type = "application/octet-stream"
}

resource "aws_s3_object" "config" {
  provider     = aws.untagged
  bucket       = var.bucket_name
  key          = var.config_key
  content_type = "application/json"
  content = jsonencode(merge(var.runtime_config, {
    dashboard_binary_key    = var.binary_key
    dashboard_binary_sha256 = filesha256(var.binary_path)
  }))
}

resource "aws_instance" "this" {
  ami                         = var.ami_id
  instance_type               = var.instance_type
  subnet_id                   = var.subnet_id
  vpc_security_group_ids      = [aws_security_group.this.id]
  iam_instance_profile        = aws_iam_instance_profile.this.name
  user_data                   = var.user_data
  user_data_replace_on_change = true # cloud-init runs user data on first boot only
  monitoring                  = false

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
    instance_metadata_tags      = "enabled"
  }

  root_block_device {
    volume_type           = "gp3"
    volume_size           = var.root_volume_gb
    encrypted             = true
    delete_on_termination = true
  }

  tags = {
    Name             = "${var.name}-dashboard"
    FlytrapBucket    = var.bucket_name
    FlytrapBinaryKey = var.binary_key
    FlytrapConfigKey = var.config_key
  }

  # cloud-init fetches both objects on first boot with the instance role.
  depends_on = [
    aws_s3_object.binary,
    aws_s3_object.config,
    aws_iam_role_policy.this,
  ]
}

# The address exists apart from the instance so that CloudFront's origin
# (its public DNS name) does not wait for the instance, whose config.json
# holds the distribution's address.
resource "aws_eip" "this" {
  domain = "vpc"

  tags = {
    Name = "${var.name}-dashboard"
  }
}

resource "aws_eip_association" "this" {
  allocation_id = aws_eip.this.id
  instance_id   = aws_instance.this.id
}
