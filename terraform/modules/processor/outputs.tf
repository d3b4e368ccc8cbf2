output "function_name" {
  description = "Name of the processor Lambda function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the processor Lambda function."
  value       = aws_lambda_function.this.arn
}

output "role_arn" {
  description = "ARN of the processor Lambda's execution role."
  value       = aws_iam_role.this.arn
}

output "security_group_id" {
  description = "ID of the processor's security group (allowed into the database)."
  value       = aws_security_group.this.id
}

output "event_source_mapping_uuid" {
  description = "UUID of the SQS event source mapping."
  value       = aws_lambda_event_source_mapping.queue.uuid
}
