# Ingest: the public HTTP endpoint SDKs send to. API Gateway (HTTP API)
# throttles per stage and invokes the ingest Lambda (payload format 2.0); the
# function authenticates the key against the key set it reads from S3 and sends
# the normalized event to SQS. It reads and writes no database.

resource "aws_iam_role" "this" {
  name        = var.iam_name
  description = "Flytrap ingest Lambda"

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy" "this" {
  name = "ingest"
  role = aws_iam_role.this.id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "EnqueueEvents"
        Effect   = "Allow"
        Action   = "sqs:SendMessage"
        Resource = var.queue_arn
      },
      {
        Sid      = "ReadKeySet"
        Effect   = "Allow"
        Action   = "s3:GetObject"
        Resource = "${var.bucket_arn}/${var.keyset_key}"
      },
      {
        # Lets a key set not published yet (before the dashboard's first
        # start) answer 404 NoSuchKey instead of 403 AccessDenied, so the
        # function logs "no key set yet" rather than an access error.
        Sid       = "ListKeySet"
        Effect    = "Allow"
        Action    = "s3:ListBucket"
        Resource  = var.bucket_arn
        Condition = { StringEquals = { "s3:prefix" = var.keyset_key } }
      },
      {
        Sid      = "WriteOwnLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = "${var.log_group_arn}:*"
      },
    ]
  })
}

resource "aws_lambda_function" "this" {
  function_name    = var.function_name
  description      = "Flytrap ingest: authenticate, validate, normalize, enqueue"
  role             = aws_iam_role.this.arn
  runtime          = "provided.al2023"
  architectures    = ["arm64"]
  handler          = "bootstrap"
  filename         = var.zip_path
  source_code_hash = filebase64sha256(var.zip_path)
  memory_size      = var.memory_mb
  timeout          = var.timeout_seconds

  environment {
    variables = {
      QUEUE_URL     = var.queue_url
      KEYSET_BUCKET = var.bucket_name
      KEYSET_KEY    = var.keyset_key
      RATE_LIMIT    = tostring(var.rate_limit)
    }
  }

  logging_config {
    log_format = "Text"
    log_group  = var.log_group_name
  }

  # The role must be able to write logs before the first invocation.
  depends_on = [aws_iam_role_policy.this]
}

resource "aws_apigatewayv2_api" "this" {
  name          = var.api_name
  description   = "Flytrap ingest (Sentry and Flytrap SDK endpoints)"
  protocol_type = "HTTP"
  # No cors_configuration: API Gateway would answer preflights itself and
  # overwrite the handler's CORS headers. The OPTIONS route below sends
  # preflights to the function instead, the same code that answers them locally.
}

resource "aws_apigatewayv2_integration" "lambda" {
  api_id                 = aws_apigatewayv2_api.this.id
  integration_type       = "AWS_PROXY"
  integration_method     = "POST"
  integration_uri        = aws_lambda_function.this.invoke_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = 30000
}

resource "aws_apigatewayv2_route" "this" {
  for_each = toset(var.routes)

  api_id    = aws_apigatewayv2_api.this.id
  route_key = each.value
  target    = "integrations/${aws_apigatewayv2_integration.lambda.id}"
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.this.id
  name        = "$default"
  auto_deploy = true

  default_route_settings {
    throttling_rate_limit  = var.throttle_rate
    throttling_burst_limit = var.throttle_burst
  }

  # $context.path excludes the query string, which may carry sentry_key.
  access_log_settings {
    destination_arn = var.access_log_group_arn
    format = jsonencode({
      requestId          = "$context.requestId"
      requestTime        = "$context.requestTime"
      sourceIp           = "$context.identity.sourceIp"
      userAgent          = "$context.identity.userAgent"
      httpMethod         = "$context.httpMethod"
      routeKey           = "$context.routeKey"
      path               = "$context.path"
      protocol           = "$context.protocol"
      status             = "$context.status"
      responseLength     = "$context.responseLength"
      responseLatency    = "$context.responseLatency"
      integrationStatus  = "$context.integrationStatus"
      integrationLatency = "$context.integrationLatency"
      integrationError   = "$context.integrationErrorMessage"
      error              = "$context.error.message"
    })
  }
}

resource "aws_lambda_permission" "api" {
  statement_id  = "AllowInvokeFromIngestApi"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.this.execution_arn}/*/*"
}
