output "queue_url" {
  description = "URL of the events queue (ingest sends here)."
  value       = aws_sqs_queue.events.id
}

output "queue_arn" {
  description = "ARN of the events queue."
  value       = aws_sqs_queue.events.arn
}

output "queue_name" {
  description = "Name of the events queue."
  value       = aws_sqs_queue.events.name
}

output "dlq_url" {
  description = "URL of the dead-letter queue."
  value       = aws_sqs_queue.dlq.id
}

output "dlq_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}

output "visibility_timeout_seconds" {
  description = "Visibility timeout of the events queue."
  value       = aws_sqs_queue.events.visibility_timeout_seconds
}
