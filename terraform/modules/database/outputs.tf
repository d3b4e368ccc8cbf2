output "endpoint" {
  description = "Connection endpoint, \"host:port\"."
  value       = aws_db_instance.this.endpoint
}

output "address" {
  description = "Host name of the instance."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "PostgreSQL port."
  value       = aws_db_instance.this.port
}

output "db_name" {
  description = "Name of the Flytrap database."
  value       = aws_db_instance.this.db_name
}

output "master_username" {
  description = "Master user name (password in master_user_secret_arn)."
  value       = aws_db_instance.this.username
}

output "master_user_secret_arn" {
  description = "ARN of the Secrets Manager secret RDS manages for the master user."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}

output "processor_db_user" {
  description = "Database user the processor connects as with IAM authentication."
  value       = var.processor_db_user
}

output "processor_connect_arn" {
  description = "rds-db:connect resource ARN for the processor user (arn:<partition>:rds-db:<region>:<account>:dbuser:<resource id>/<user>)."
  value = format("arn:%s:rds-db:%s:%s:dbuser:%s/%s",
    split(":", aws_db_instance.this.arn)[1],
    split(":", aws_db_instance.this.arn)[3],
    split(":", aws_db_instance.this.arn)[4],
    aws_db_instance.this.resource_id,
    var.processor_db_user,
  )
}

output "security_group_id" {
  description = "ID of the database security group."
  value       = aws_security_group.this.id
}

output "final_snapshot_identifier" {
  description = "Name of the snapshot RDS takes when the database is destroyed."
  value       = aws_db_instance.this.final_snapshot_identifier
}
