variable "name" {
  description = "Prefix for resource names, e.g. \"flytrap-prod\"; the queues are \"<name>-events\" and \"<name>-events-dlq\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,40}$", var.name))
    error_message = "The name must be 3-41 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "consumer_timeout_seconds" {
  description = "Timeout of the Lambda function consuming the queue. The visibility timeout is set to 6x this plus the batching window plus 30 s (AWS recommends at least 6x plus the window for SQS event sources)."
  type        = number

  validation {
    condition     = var.consumer_timeout_seconds >= 1 && var.consumer_timeout_seconds <= 900 && floor(var.consumer_timeout_seconds) == var.consumer_timeout_seconds
    error_message = "The consumer timeout must be a whole number of seconds from 1 to 900."
  }
}

variable "consumer_batching_window_seconds" {
  description = "Maximum batching window of the consumer's event source mapping, added to the visibility timeout."
  type        = number
  default     = 0

  validation {
    condition     = var.consumer_batching_window_seconds >= 0 && var.consumer_batching_window_seconds <= 300 && floor(var.consumer_batching_window_seconds) == var.consumer_batching_window_seconds
    error_message = "The batching window must be a whole number of seconds from 0 to 300."
  }
}

variable "max_receive_count" {
  description = "How many times a message is received (and fails) before SQS moves it to the dead-letter queue."
  type        = number
  default     = 5

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000 && floor(var.max_receive_count) == var.max_receive_count
    error_message = "max_receive_count must be a whole number from 1 to 1000."
  }
}

variable "message_retention_seconds" {
  description = "How long the main queue keeps an unprocessed event (the dead-letter queue always keeps 14 days)."
  type        = number
  default     = 345600 # 4 days

  validation {
    condition     = var.message_retention_seconds >= 60 && var.message_retention_seconds <= 1209600
    error_message = "Message retention must be between 60 seconds and 14 days (1209600)."
  }
}

variable "max_message_bytes" {
  description = "Largest message the queue accepts. Ingest caps one normalized event at 1 MiB, so the default is SQS's maximum."
  type        = number
  default     = 1048576

  validation {
    condition     = var.max_message_bytes >= 1024 && var.max_message_bytes <= 1048576
    error_message = "The maximum message size must be between 1024 and 1048576 bytes."
  }
}

variable "oldest_message_alarm_seconds" {
  description = "Alarm when the oldest message in the main queue is older than this (the processor is failing or cannot keep up)."
  type        = number
  default     = 900

  validation {
    condition     = var.oldest_message_alarm_seconds >= 60
    error_message = "The oldest-message alarm threshold must be at least 60 seconds."
  }
}

variable "alarm_topic_arn" {
  description = "ARN of the SNS topic the queue alarms notify."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:sns:", var.alarm_topic_arn))
    error_message = "The alarm topic must be an SNS topic ARN."
  }
}
