variable "iam_name" {
  description = "Name of the IAM role: IAM is global to the account, so it carries the region (\"flytrap-prod-eu-west-1-ingest\") and the same deployment name can live in two regions."
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
  description = "Name of the ingest Lambda function (its log group must be /aws/lambda/<function_name>)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.function_name))
    error_message = "A Lambda function name is 1-64 letters, digits, hyphens and underscores."
  }
}

variable "api_name" {
  description = "Name of the HTTP API."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{1,128}$", var.api_name))
    error_message = "The API name must be 1-128 letters, digits, dots, hyphens and underscores."
  }
}

variable "zip_path" {
  description = "Local path of the ingest Lambda zip (holding the arm64 `bootstrap` executable)."
  type        = string

  validation {
    condition     = endswith(var.zip_path, ".zip")
    error_message = "The ingest package must be a .zip file."
  }
}

variable "memory_mb" {
  description = "Memory of the ingest Lambda in MB (CPU scales with it)."
  type        = number
  default     = 256

  validation {
    condition     = var.memory_mb >= 128 && var.memory_mb <= 10240 && floor(var.memory_mb) == var.memory_mb
    error_message = "Lambda memory must be a whole number of MB from 128 to 10240."
  }
}

variable "timeout_seconds" {
  description = "Timeout of the ingest Lambda; API Gateway waits at most 30 s for it."
  type        = number
  default     = 10

  validation {
    condition     = var.timeout_seconds >= 1 && var.timeout_seconds <= 29 && floor(var.timeout_seconds) == var.timeout_seconds
    error_message = "The ingest timeout must be 1 to 29 whole seconds (below API Gateway's 30 s integration limit)."
  }
}

variable "throttle_rate" {
  description = "Steady-state requests per second the API stage accepts before answering 429."
  type        = number
  default     = 100

  validation {
    condition     = var.throttle_rate >= 1 && var.throttle_rate <= 10000
    error_message = "The throttle rate must be between 1 and 10000 requests per second."
  }
}

variable "throttle_burst" {
  description = "Burst of requests the API stage accepts above the steady rate."
  type        = number
  default     = 200

  validation {
    condition     = var.throttle_burst >= 1 && var.throttle_burst <= 5000 && floor(var.throttle_burst) == var.throttle_burst
    error_message = "The throttle burst must be a whole number from 1 to 5000."
  }
}

variable "rate_limit" {
  description = "Events per minute the function accepts from each project without a limit of its own (RATE_LIMIT); -1 for no limit."
  type        = number
  default     = 6000

  validation {
    condition     = (var.rate_limit == -1 || (var.rate_limit >= 1 && var.rate_limit <= 1000000)) && floor(var.rate_limit) == var.rate_limit
    error_message = "The rate limit must be a whole number of events per minute from 1 to 1000000, or -1 for no limit."
  }
}

variable "routes" {
  description = <<-EOT
    Route keys sent to the ingest Lambda. One greedy route per method: the
    SDKs post to /api/<project>/envelope/ WITH a trailing slash, other clients
    without, and HTTP API route paths cannot end in "/", so an exact route
    would bet every event on how API Gateway treats the slash. {proxy+}
    matches both forms; the function routes inside (the same mux as
    `flytrap dev`) and answers unknown paths with its JSON 404. OPTIONS goes
    to the function, which answers CORS preflights exactly as `flytrap dev`.
    GET is routed for the crash-report dialog's script only
    (/api/embed/error-page/, which Sentry.showReportDialog loads); nothing
    else under /api/ answers a GET.
  EOT
  type        = list(string)
  default = [
    "POST /api/{proxy+}",
    "OPTIONS /api/{proxy+}",
    "GET /api/embed/{proxy+}",
  ]

  validation {
    condition     = length(var.routes) > 0 && alltrue([for r in var.routes : can(regex("^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|ANY) /[A-Za-z0-9_.{}+/-]*[^/]$", r))])
    error_message = "Routes must be \"METHOD /path\" with a path that does not end in \"/\"."
  }
}

variable "queue_url" {
  description = "URL of the SQS queue accepted events are sent to (QUEUE_URL)."
  type        = string

  validation {
    condition     = can(regex("^https://", var.queue_url))
    error_message = "The queue URL must be an https URL."
  }
}

variable "queue_arn" {
  description = "ARN of the SQS queue; the function may only sqs:SendMessage to it."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:sqs:", var.queue_arn))
    error_message = "The queue ARN must be an SQS ARN."
  }
}

variable "bucket_name" {
  description = "Bucket holding the ingest key set (KEYSET_BUCKET)."
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

variable "keyset_key" {
  description = "Object key of the key set (KEYSET_KEY); the function may read this one object only."
  type        = string

  validation {
    condition     = length(var.keyset_key) > 0 && !startswith(var.keyset_key, "/")
    error_message = "The key set key must be a relative S3 key."
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

variable "access_log_group_arn" {
  description = "ARN of the log group receiving the API's access logs."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:logs:", var.access_log_group_arn))
    error_message = "The access log group ARN must be a CloudWatch Logs ARN."
  }
}
