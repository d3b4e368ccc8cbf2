# The outputs `flytrap deploy` reads after apply. Names are a contract with
# internal/deploy (checked by terraform_test.go).

output "dashboard_url" {
  description = "URL of the dashboard: https://<domain> when a domain is set, else https://<id>.cloudfront.net, or http://<elastic ip> with plain_http."
  value       = var.domain != "" ? "https://${var.domain}" : (local.cloudfront ? "https://${aws_cloudfront_distribution.dashboard[0].domain_name}" : "http://${module.dashboard.public_ip}")
}

output "ingest_url" {
  description = "Base URL SDKs send to (the host part of DSNs), e.g. https://abc123.execute-api.eu-west-1.amazonaws.com."
  value       = local.ingest_url
}

output "bucket_name" {
  description = "S3 bucket for source maps, artifacts, the ingest key set and the dashboard binary."
  value       = module.storage.bucket_name
}

output "queue_url" {
  description = "URL of the SQS events queue."
  value       = module.queue.queue_url
}

output "dlq_url" {
  description = "URL of the SQS dead-letter queue."
  value       = module.queue.dlq_url
}

output "alerts_topic_arn" {
  description = "ARN of the SNS alerts topic."
  value       = module.alerts.topic_arn
}

output "db_endpoint" {
  description = "PostgreSQL endpoint, \"host:port\" (private: reachable from the VPC only)."
  value       = module.database.endpoint
}

output "db_secret_arn" {
  description = "ARN of the Secrets Manager secret RDS manages for the master user."
  value       = module.database.master_user_secret_arn
}

output "dashboard_instance_id" {
  description = "EC2 instance ID of the dashboard (for SSM Session Manager and service restarts)."
  value       = module.dashboard.instance_id
}

output "db_final_snapshot" {
  description = "Name of the snapshot RDS keeps when the deployment is destroyed (flytrap destroy prints it)."
  value       = module.database.final_snapshot_identifier
}
