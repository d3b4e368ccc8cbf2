output "api_endpoint" {
  description = "Base URL of the ingest API ($default stage), e.g. https://abc123.execute-api.eu-west-1.amazonaws.com."
  value       = aws_apigatewayv2_api.this.api_endpoint
}

output "api_id" {
  description = "ID of the HTTP API."
  value       = aws_apigatewayv2_api.this.id
}

output "function_name" {
  description = "Name of the ingest Lambda function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the ingest Lambda function."
  value       = aws_lambda_function.this.arn
}

output "role_arn" {
  description = "ARN of the ingest Lambda's execution role."
  value       = aws_iam_role.this.arn
}
