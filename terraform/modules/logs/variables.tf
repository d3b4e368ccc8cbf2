variable "ingest_function_name" {
  description = "Name of the ingest Lambda function; its log group is /aws/lambda/<name>."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.ingest_function_name))
    error_message = "A Lambda function name is 1-64 letters, digits, hyphens and underscores."
  }
}

variable "processor_function_name" {
  description = "Name of the processor Lambda function; its log group is /aws/lambda/<name>."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.processor_function_name))
    error_message = "A Lambda function name is 1-64 letters, digits, hyphens and underscores."
  }
}

variable "api_name" {
  description = "Name of the ingest HTTP API; its access log group is /aws/apigateway/<name>/access."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{1,128}$", var.api_name))
    error_message = "The API name must be 1-128 letters, digits, dots, hyphens and underscores."
  }
}

variable "retention_days" {
  description = "How many days CloudWatch keeps the log events (one of the values CloudWatch Logs accepts; never-expire is not offered)."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.retention_days)
    error_message = "Log retention must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653 days."
  }
}
