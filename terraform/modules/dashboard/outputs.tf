output "instance_id" {
  description = "ID of the dashboard EC2 instance (target of SSM Session Manager)."
  value       = aws_instance.this.id
}

output "public_ip" {
  description = "Elastic IP of the dashboard; point the domain's A record here."
  value       = aws_eip.this.public_ip
}

output "public_dns" {
  description = "Public DNS name of the Elastic IP: CloudFront's origin. Known before the instance exists (the instance's config names the distribution, so nothing here may wait for it)."
  value       = aws_eip.this.public_dns
}

output "security_group_id" {
  description = "ID of the dashboard's security group (allowed into the database)."
  value       = aws_security_group.this.id
}

output "role_arn" {
  description = "ARN of the dashboard instance role."
  value       = aws_iam_role.this.arn
}

output "binary_key" {
  description = "Object key of the uploaded dashboard binary."
  value       = aws_s3_object.binary.key
}

output "binary_version_id" {
  description = "S3 version ID of the uploaded binary; it changes on every upload (a running instance picks the new binary up on service restart)."
  value       = aws_s3_object.binary.version_id
}

output "config_key" {
  description = "Object key of the dashboard's runtime configuration."
  value       = aws_s3_object.config.key
}

output "role_name" {
  description = "Name of the dashboard instance role (for policies added outside the module)."
  value       = aws_iam_role.this.name
}
