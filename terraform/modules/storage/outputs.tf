output "bucket_name" {
  description = "Name of the bucket."
  value       = aws_s3_bucket.this.id

  # Consumers (objects, policies) wait until the bucket is fully configured.
  depends_on = [
    aws_s3_bucket_public_access_block.this,
    aws_s3_bucket_ownership_controls.this,
    aws_s3_bucket_server_side_encryption_configuration.this,
    aws_s3_bucket_versioning.this,
    aws_s3_bucket_policy.this,
  ]
}

output "bucket_arn" {
  description = "ARN of the bucket."
  value       = aws_s3_bucket.this.arn

  # Consumers (objects, policies) wait until the bucket is fully configured.
  depends_on = [
    aws_s3_bucket_public_access_block.this,
    aws_s3_bucket_ownership_controls.this,
    aws_s3_bucket_server_side_encryption_configuration.this,
    aws_s3_bucket_versioning.this,
    aws_s3_bucket_policy.this,
  ]
}

output "keyset_key" {
  description = "Object key of the ingest key set."
  value       = var.keyset_key
}

output "sourcemaps_prefix" {
  description = "Key prefix of source maps and artifact bundles."
  value       = var.sourcemaps_prefix
}
