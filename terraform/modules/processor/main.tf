# Processor: a Lambda in the private subnets consuming the events queue through
# an SQS event source mapping with partial batch responses. It symbolicates
# (source maps from S3 via the gateway endpoint), groups and stores events in
# RDS, logging in with an IAM authentication token (signed locally, no network
# call). Its security group lets it reach only the database and S3.

resource "aws_security_group" "this" {
  name        = "${var.name}-processor"
  description = "Flytrap processor Lambda: egress to PostgreSQL and S3 only"
  vpc_id      = var.vpc_id

  tags = {
    Name = "${var.name}-processor"
  }
}

resource "aws_vpc_security_group_egress_rule" "postgres" {
  security_group_id            = aws_security_group.this.id
  description                  = "PostgreSQL"
  ip_protocol                  = "tcp"
  from_port                    = var.db_port
  to_port                      = var.db_port
  referenced_security_group_id = var.db_security_group_id
}

resource "aws_vpc_security_group_egress_rule" "s3" {
  security_group_id = aws_security_group.this.id
  description       = "HTTPS to S3 through the gateway endpoint"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_id    = var.s3_prefix_list_id
}

resource "aws_iam_role" "this" {
  name        = var.iam_name
  description = "Flytrap processor Lambda"

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy" "this" {
  name = "processor"
  role = aws_iam_role.this.id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ConsumeEvents"
        Effect   = "Allow"
        Action   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
        Resource = var.queue_arn
      },
      {
        Sid      = "ConnectAsProcessor"
        Effect   = "Allow"
        Action   = "rds-db:connect"
        Resource = var.db_connect_arn
      },
      {
        Sid      = "ReadSourceMaps"
        Effect   = "Allow"
        Action   = "s3:GetObject"
        Resource = "${var.bucket_arn}/${var.sourcemaps_prefix}*"
      },
      {
        # Lets a missing map answer 404 instead of 403.
        Sid       = "ListSourceMaps"
        Effect    = "Allow"
        Action    = "s3:ListBucket"
        Resource  = var.bucket_arn
        Condition = { StringLike = { "s3:prefix" = "${var.sourcemaps_prefix}*" } }
      },
      {
        Sid      = "WriteOwnLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = "${var.log_group_arn}:*"
      },
      {
        # What AWSLambdaVPCAccessExecutionRole grants for the function's
        # network interfaces; EC2 does not support narrower resources here.
        Sid    = "ManageVpcInterfaces"
        Effect = "Allow"
        Action = [
          "ec2:CreateNetworkInterface",
          "ec2:DescribeNetworkInterfaces",
          "ec2:DescribeSubnets",
          "ec2:DeleteNetworkInterface",
          "ec2:AssignPrivateIpAddresses",
          "ec2:UnassignPrivateIpAddresses",
        ]
        Resource = "*"
      },
    ]
  })
}

resource "aws_lambda_function" "this" {
  function_name    = var.function_name
  description      = "Flytrap processor: symbolicate, group, store"
  role             = aws_iam_role.this.arn
  runtime          = "provided.al2023"
  architectures    = ["arm64"]
  handler          = "bootstrap"
  filename         = var.zip_path
  source_code_hash = filebase64sha256(var.zip_path)
  memory_size      = var.memory_mb
  timeout          = var.timeout_seconds

  vpc_config {
    subnet_ids         = var.subnet_ids
    security_group_ids = [aws_security_group.this.id]
  }

  environment {
    variables = {
      DB_HOST           = var.db_host
      DB_PORT           = tostring(var.db_port)
      DB_NAME           = var.db_name
      DB_USER           = var.db_user
      DB_REGION         = var.region
      DB_AUTH           = "iam"
      DB_SSLMODE        = "require"
      SOURCEMAPS_BUCKET = var.bucket_name
      SOURCEMAPS_PREFIX = var.sourcemaps_prefix
    }
  }

  logging_config {
    log_format = "Text"
    log_group  = var.log_group_name
  }

  # Lambda checks the role for the EC2 interface permissions at creation.
  depends_on = [aws_iam_role_policy.this]
}

resource "aws_lambda_event_source_mapping" "queue" {
  event_source_arn                   = var.queue_arn
  function_name                      = aws_lambda_function.this.arn
  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.batching_window_seconds
  function_response_types            = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.max_concurrency
  }

  lifecycle {
    precondition {
      condition     = var.batch_size <= 10 || var.batching_window_seconds >= 1
      error_message = "SQS event sources with a batch size above 10 need a batching window of at least 1 second."
    }
    # A batch is one invocation: one that outlasts the timeout fails whole,
    # and SQS hands it out again, to fail again, until its events are in
    # the dead-letter queue. 50 ms an event is plan.processorMillisPerEvent
    # (a third of a core at 512 MB, a cold start's connections and source
    # maps), from which the root's processor_batch_size bound of 1200 at
    # 60 s comes; TestProcessorBatchBound keeps the two the same.
    precondition {
      condition     = var.batch_size * 50 <= var.timeout_seconds * 1000
      error_message = "A batch of ${var.batch_size} events at 50 ms an event needs ${var.batch_size * 50 / 1000} s, so it outlasts the processor's ${var.timeout_seconds} s timeout: it would fail whole and be received again until its events are in the dead-letter queue. Lower batch_size to at most ${floor(var.timeout_seconds * 1000 / 50)}, or raise timeout_seconds to at least ${ceil(var.batch_size * 50 / 1000)}."
    }
    # AWS's guidance for SQS event sources: a visibility timeout of at
    # least 6x the function's timeout plus the batching window, or a
    # message still being processed (or retried after a throttle) is
    # handed out again and processed twice.
    precondition {
      condition     = var.queue_visibility_timeout_seconds >= 6 * var.timeout_seconds + var.batching_window_seconds
      error_message = "The queue's visibility timeout of ${var.queue_visibility_timeout_seconds} s is under 6x the processor's ${var.timeout_seconds} s timeout plus its ${var.batching_window_seconds} s batching window (${6 * var.timeout_seconds + var.batching_window_seconds} s, AWS's minimum for SQS event sources), so messages still being processed would be received again. Give the queue module the processor's timeout and batching window (consumer_timeout_seconds, consumer_batching_window_seconds), or lower timeout_seconds."
    }
  }

  # The event source checks the role for the SQS permissions at creation.
  depends_on = [aws_iam_role_policy.this]
}
