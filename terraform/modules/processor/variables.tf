variable "iam_name" {
  description = "Name of the IAM role: IAM is global to the account, so it carries the region (\"flytrap-prod-eu-west-1-processor\") and the same deployment name can live in two regions."
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

variable "function_name" {
  description = "Name of the processor Lambda function (its log group must be /aws/lambda/<function_name>)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.function_name))
    error_message = "A Lambda function name is 1-64 letters, digits, hyphens and underscores."
  }
}

variable "zip_path" {
  description = "Local path of the processor Lambda zip (holding the arm64 `bootstrap` executable)."
  type        = string

  validation {
    condition     = endswith(var.zip_path, ".zip")
    error_message = "The processor package must be a .zip file."
  }
}

variable "memory_mb" {
  description = "Memory of the processor Lambda in MB (CPU scales with it)."
  type        = number
  default     = 512

  validation {
    condition     = var.memory_mb >= 128 && var.memory_mb <= 10240 && floor(var.memory_mb) == var.memory_mb
    error_message = "Lambda memory must be a whole number of MB from 128 to 10240."
  }
}

variable "timeout_seconds" {
  description = "Timeout of one processor invocation (one batch). The queue's visibility timeout must be at least 6x this plus the batching window, and a batch must fit it at 50 ms an event (batch_size at most 20x this)."
  type        = number
  default     = 60

  validation {
    condition     = var.timeout_seconds >= 1 && var.timeout_seconds <= 900 && floor(var.timeout_seconds) == var.timeout_seconds
    error_message = "The processor timeout must be 1 to 900 whole seconds."
  }
}

variable "batch_size" {
  description = "Most SQS messages handed to one invocation. At 50 ms an event a batch must fit timeout_seconds: at most 20x the timeout (1200 at the default 60 s, the root's processor_batch_size bound); SQS allows up to 10000."
  type        = number
  default     = 10

  # The bound by the timeout is the event source's precondition (main.tf):
  # a variable's validation may name other variables only from Terraform
  # 1.9, and this module works with 1.5.
  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 10000 && floor(var.batch_size) == var.batch_size
    error_message = "The batch size must be a whole number from 1 to 10000 (SQS's most for a standard queue), and at most 20x timeout_seconds."
  }
}

variable "batching_window_seconds" {
  description = "How long the event source waits to fill a batch (required > 0 by SQS when batch_size > 10)."
  type        = number
  default     = 5

  validation {
    condition     = var.batching_window_seconds >= 0 && var.batching_window_seconds <= 300 && floor(var.batching_window_seconds) == var.batching_window_seconds
    error_message = "The batching window must be 0 to 300 whole seconds."
  }
}

variable "max_concurrency" {
  description = "Most concurrent processor invocations the SQS event source starts; bounds the database connections the processor opens."
  type        = number
  default     = 5

  validation {
    condition     = var.max_concurrency >= 2 && var.max_concurrency <= 1000 && floor(var.max_concurrency) == var.max_concurrency
    error_message = "SQS event source maximum concurrency must be a whole number from 2 to 1000."
  }
}

variable "vpc_id" {
  description = "ID of the VPC the function's network interfaces live in."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "The VPC ID must look like \"vpc-0123abcd\"."
  }
}

variable "subnet_ids" {
  description = "Private subnet IDs for the function's network interfaces."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 1
    error_message = "Give at least one subnet."
  }
}

variable "db_security_group_id" {
  description = "Security group of the database; the function may open connections to it on the database port only."
  type        = string

  validation {
    condition     = can(regex("^sg-[0-9a-f]+$", var.db_security_group_id))
    error_message = "The security group ID must look like \"sg-0123abcd\"."
  }
}

variable "s3_prefix_list_id" {
  description = "Prefix list of S3 (from the VPC's gateway endpoint); HTTPS egress is allowed to it only."
  type        = string

  validation {
    condition     = can(regex("^pl-[0-9a-f]+$", var.s3_prefix_list_id))
    error_message = "The prefix list ID must look like \"pl-0123abcd\"."
  }
}

variable "queue_arn" {
  description = "ARN of the SQS queue the function consumes."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:sqs:", var.queue_arn))
    error_message = "The queue ARN must be an SQS ARN."
  }
}

variable "queue_visibility_timeout_seconds" {
  description = "Visibility timeout of the queue at queue_arn (the queue module's visibility_timeout_seconds output); it must be at least 6x timeout_seconds plus batching_window_seconds."
  type        = number

  validation {
    condition     = var.queue_visibility_timeout_seconds >= 0 && var.queue_visibility_timeout_seconds <= 43200 && floor(var.queue_visibility_timeout_seconds) == var.queue_visibility_timeout_seconds
    error_message = "The visibility timeout must be 0 to 43200 whole seconds (SQS's 12 hours)."
  }
}

variable "db_host" {
  description = "Database host name (DB_HOST)."
  type        = string

  validation {
    condition     = length(var.db_host) > 0
    error_message = "The database host is required."
  }
}

variable "db_port" {
  description = "Database port (DB_PORT)."
  type        = number
  default     = 5432

  validation {
    condition     = var.db_port >= 1 && var.db_port <= 65535
    error_message = "The database port must be 1 to 65535."
  }
}

variable "db_name" {
  description = "Database name (DB_NAME)."
  type        = string

  validation {
    condition     = length(var.db_name) > 0
    error_message = "The database name is required."
  }
}

variable "db_user" {
  description = "Database user the function logs in as with an IAM authentication token (DB_USER)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.db_user))
    error_message = "The database user must be a lowercase identifier."
  }
}

variable "db_connect_arn" {
  description = "rds-db:connect resource ARN of db_user on the instance."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:rds-db:", var.db_connect_arn))
    error_message = "The connect ARN must be an rds-db ARN."
  }
}

variable "region" {
  description = "Region the IAM authentication token is signed for (DB_REGION; Lambda reserves AWS_REGION)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]+$", var.region))
    error_message = "The region must look like \"eu-west-1\"."
  }
}

variable "bucket_name" {
  description = "Bucket holding source maps (SOURCEMAPS_BUCKET)."
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

variable "sourcemaps_prefix" {
  description = "Key prefix of source maps (SOURCEMAPS_PREFIX); the function may read only below it."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/$", var.sourcemaps_prefix))
    error_message = "The source map prefix must be one path segment ending in \"/\"."
  }
}

variable "log_group_name" {
  description = "Name of the function's (pre-created) CloudWatch log group."
  type        = string

  validation {
    condition     = startswith(var.log_group_name, "/aws/lambda/")
    error_message = "A Lambda log group name starts with /aws/lambda/."
  }
}

variable "log_group_arn" {
  description = "ARN of the function's log group; the role may only write streams into it."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:logs:", var.log_group_arn))
    error_message = "The log group ARN must be a CloudWatch Logs ARN."
  }
}
