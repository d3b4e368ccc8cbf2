variable "iam_name" {
  description = "Name of the IAM role and instance profile: IAM is global to the account, so it carries the region (\"flytrap-prod-eu-west-1-dashboard\") and the same deployment name can live in two regions."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.iam_name))
    error_message = "IAM role and instance profile names are 1-64 characters of letters, digits and +=,.@_-."
  }
}

variable "name" {
  description = "Prefix for resource names, e.g. \"flytrap-prod\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,40}$", var.name))
    error_message = "The name must be 3-41 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "ami_id" {
  description = "AMI of the dashboard instance (an arm64 AMI such as Amazon Linux 2023 for Graviton instance types; it needs cloud-init and the AWS CLI or curl)."
  type        = string

  validation {
    condition     = can(regex("^ami-[0-9a-f]{8,17}$", var.ami_id))
    error_message = "The AMI ID must look like \"ami-0123456789abcdef0\"."
  }
}

variable "instance_type" {
  description = "EC2 instance type of the dashboard."
  type        = string
  default     = "t4g.small"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", var.instance_type))
    error_message = "The instance type must look like \"t4g.small\"."
  }
}

variable "root_volume_gb" {
  description = "Size of the encrypted gp3 root volume in GiB."
  type        = number
  default     = 20

  validation {
    condition     = var.root_volume_gb >= 8 && var.root_volume_gb <= 1000 && floor(var.root_volume_gb) == var.root_volume_gb
    error_message = "The root volume must be 8 to 1000 whole GiB."
  }
}

variable "vpc_id" {
  description = "ID of the VPC of the dashboard's security group."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "The VPC ID must look like \"vpc-0123abcd\"."
  }
}

variable "subnet_id" {
  description = "Public subnet the instance runs in."
  type        = string

  validation {
    condition     = can(regex("^subnet-[0-9a-f]+$", var.subnet_id))
    error_message = "The subnet ID must look like \"subnet-0123abcd\"."
  }
}

variable "ingress_cidr_blocks" {
  description = "IPv4 ranges allowed to reach the dashboard on ports 80 and 443. No other port is open; administer the instance with SSM Session Manager."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = length(var.ingress_cidr_blocks) > 0 && alltrue([for c in var.ingress_cidr_blocks : can(cidrhost(c, 0)) && !strcontains(c, ":")])
    error_message = "Give at least one IPv4 CIDR block."
  }
}

variable "cloudfront_prefix_list_id" {
  description = "CloudFront's origin-facing managed prefix list in this region (com.amazonaws.global.cloudfront.origin-facing). When set, the dashboard sits behind CloudFront: port 80 is open to that list only and ingress_cidr_blocks is ignored. \"\" for a directly reachable instance (a custom domain with Let's Encrypt, or plain HTTP)."
  type        = string
  default     = ""

  validation {
    condition     = var.cloudfront_prefix_list_id == "" || can(regex("^pl-[0-9a-f]+$", var.cloudfront_prefix_list_id))
    error_message = "The prefix list ID must be empty or look like \"pl-3b927c52\"."
  }
}

variable "db_security_group_id" {
  description = "Security group of the database; the dashboard may connect to it on db_port."
  type        = string

  validation {
    condition     = can(regex("^sg-[0-9a-f]+$", var.db_security_group_id))
    error_message = "The security group ID must look like \"sg-0123abcd\"."
  }
}

variable "db_port" {
  description = "PostgreSQL port."
  type        = number
  default     = 5432

  validation {
    condition     = var.db_port >= 1 && var.db_port <= 65535
    error_message = "The database port must be 1 to 65535."
  }
}

variable "db_secret_arn" {
  description = "ARN of the Secrets Manager secret holding the database master credentials (readable by the dashboard, to run migrations)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:secretsmanager:", var.db_secret_arn))
    error_message = "The secret ARN must be a Secrets Manager ARN."
  }
}

variable "bucket_name" {
  description = "Bucket the dashboard reads and writes (source maps, artifacts, key set) and its binary is uploaded to."
  type        = string

  validation {
    condition     = length(var.bucket_name) >= 3
    error_message = "The bucket name is required."
  }
}

variable "bucket_arn" {
  description = "ARN of that bucket."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::", var.bucket_arn))
    error_message = "The bucket ARN must be an S3 bucket ARN."
  }
}

variable "alerts_topic_arn" {
  description = "SNS topic the dashboard publishes alerts to."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:sns:", var.alerts_topic_arn))
    error_message = "The alerts topic must be an SNS topic ARN."
  }
}

variable "queue_arns" {
  description = "ARNs of the events queue and its dead-letter queue, whose depth the dashboard reads (sqs:GetQueueAttributes)."
  type        = list(string)

  validation {
    condition     = alltrue([for a in var.queue_arns : can(regex("^arn:aws[a-z-]*:sqs:", a))])
    error_message = "Every queue ARN must be an SQS ARN."
  }
}

variable "binary_path" {
  description = "Local path of the dashboard executable (linux, matching the AMI's architecture), uploaded to S3 for cloud-init to fetch."
  type        = string

  validation {
    condition     = length(var.binary_path) > 0
    error_message = "The dashboard binary path is required."
  }
}

variable "binary_key" {
  description = "Object key of the uploaded dashboard binary."
  type        = string
  default     = "deploy/dashboard/flytrap-dashboard"

  validation {
    condition     = length(var.binary_key) > 0 && !startswith(var.binary_key, "/")
    error_message = "The binary key must be a relative S3 key."
  }
}

variable "config_key" {
  description = "Object key of the dashboard's runtime configuration (JSON written from var.runtime_config)."
  type        = string
  default     = "deploy/dashboard/config.json"

  validation {
    condition     = length(var.config_key) > 0 && !startswith(var.config_key, "/")
    error_message = "The config key must be a relative S3 key."
  }
}

variable "runtime_config" {
  description = "Settings known only after apply (database endpoint, queue URLs, topic...) written as a flat JSON object to s3://<bucket>/<config_key> for the dashboard to read at start-up. No secrets: the database password stays in Secrets Manager."
  type        = map(string)
}

variable "user_data" {
  description = "cloud-init user data rendered by the CLI (at most 16 KiB). It finds the bucket and keys in the instance tags FlytrapBucket, FlytrapBinaryKey and FlytrapConfigKey (instance metadata, IMDSv2). Changing it replaces the instance."
  type        = string

  validation {
    condition     = length(var.user_data) > 0 && length(var.user_data) <= 16384
    error_message = "User data must be between 1 byte and 16 KiB."
  }

  validation {
    condition     = can(regex("^(#cloud-config|#!|## template: jinja|Content-Type: multipart/)", var.user_data))
    error_message = "User data must be cloud-init input: start with \"#cloud-config\", \"#!\", \"## template: jinja\" or a MIME multipart header."
  }
}

variable "writable_keys" {
  description = "S3 keys (a trailing * for a prefix) the instance may write and delete: the key set, source maps, the initial admin password. Its binary and config stay read-only to it."
  type        = list(string)

  validation {
    condition     = length(var.writable_keys) > 0 && alltrue([for k in var.writable_keys : length(k) > 0 && !startswith(k, "/") && !startswith(k, "deploy/dashboard/")])
    error_message = "Writable keys must be relative S3 keys outside deploy/dashboard/."
  }
}
