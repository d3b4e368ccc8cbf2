output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr_block" {
  description = "IPv4 CIDR block of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "public_subnet_ids" {
  description = "IDs of the two public subnets, in availability zone order. Available only once their internet route exists (an Elastic IP cannot be associated before the internet gateway is attached)."
  value       = aws_subnet.public[*].id

  depends_on = [aws_route.public_internet, aws_route_table_association.public]
}

output "private_subnet_ids" {
  description = "IDs of the two private subnets, in availability zone order."
  value       = aws_subnet.private[*].id
}

output "private_route_table_id" {
  description = "ID of the private route table (no default route)."
  value       = aws_route_table.private.id
}

output "s3_endpoint_id" {
  description = "ID of the S3 gateway endpoint."
  value       = aws_vpc_endpoint.s3.id
}

output "s3_prefix_list_id" {
  description = "Managed prefix list ID of S3 in this region, for security group egress rules towards the gateway endpoint."
  value       = aws_vpc_endpoint.s3.prefix_list_id
}
