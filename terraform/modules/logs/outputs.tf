output "ingest_log_group_name" {
  description = "Name of the ingest Lambda's log group."
  value       = aws_cloudwatch_log_group.ingest.name
}

output "ingest_log_group_arn" {
  description = "ARN of the ingest Lambda's log group."
  value       = aws_cloudwatch_log_group.ingest.arn
}

output "processor_log_group_name" {
  description = "Name of the processor Lambda's log group."
  value       = aws_cloudwatch_log_group.processor.name
}

output "processor_log_group_arn" {
  description = "ARN of the processor Lambda's log group."
  value       = aws_cloudwatch_log_group.processor.arn
}

output "api_access_log_group_arn" {
  description = "ARN of the HTTP API access log group."
  value       = aws_cloudwatch_log_group.api_access.arn
}
