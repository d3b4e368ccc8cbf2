# Logs: the CloudWatch log groups are created here, with a retention, before
# the functions and the API stage that write to them (otherwise Lambda creates
# them on first use with infinite retention). The Lambda roles may only write
# to their own group; they cannot create groups.

resource "aws_cloudwatch_log_group" "ingest" {
  name              = "/aws/lambda/${var.ingest_function_name}"
  retention_in_days = var.retention_days
}

resource "aws_cloudwatch_log_group" "processor" {
  name              = "/aws/lambda/${var.processor_function_name}"
  retention_in_days = var.retention_days
}

resource "aws_cloudwatch_log_group" "api_access" {
  name              = "/aws/apigateway/${var.api_name}/access"
  retention_in_days = var.retention_days
}
