variable "name" {
  description = "Prefix for resource names, e.g. \"flytrap-prod\"; the topic is named \"<name>-alerts\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,40}$", var.name))
    error_message = "The name must be 3-41 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "account_id" {
  description = "AWS account ID that owns the topic; only this account and its CloudWatch alarms may publish."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "The account ID must be 12 digits."
  }
}

variable "alert_email" {
  description = "E-mail address subscribed to the topic (AWS sends a confirmation mail first). Empty for no subscription."
  type        = string
  default     = ""

  validation {
    condition     = var.alert_email == "" || can(regex("^[^@[:space:]]+@[^@[:space:]]+\\.[^@[:space:]]+$", var.alert_email))
    error_message = "The alert e-mail must be empty or an e-mail address."
  }
}
