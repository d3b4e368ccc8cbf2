# Optional stable ingest host name. DSNs embed the ingest host; the
# execute-api host is random and changes when the API is replaced or the
# deployment is destroyed and deployed again. With ingest_domain, an ACM
# certificate (validated by DNS in the Route 53 zone ingest_zone_id) backs
# an API Gateway custom domain mapped to the $default stage, and an alias
# record points the name at it; ingest_url (and so every DSN) names it.

locals {
  ingest_domain_enabled = var.ingest_domain != ""
  # What DSNs name: the stable domain when there is one.
  ingest_url = local.ingest_domain_enabled ? "https://${var.ingest_domain}" : module.ingest.api_endpoint
}

resource "aws_acm_certificate" "ingest" {
  count = local.ingest_domain_enabled ? 1 : 0

  domain_name       = var.ingest_domain
  validation_method = "DNS"

  lifecycle {
    create_before_destroy = true
    precondition {
      condition     = var.ingest_zone_id != ""
      error_message = "ingest_domain needs ingest_zone_id: the Route 53 hosted zone that holds it."
    }
    # One name cannot be both the dashboard's A record and the API's alias.
    precondition {
      condition     = var.ingest_domain != var.domain
      error_message = "ingest_domain must differ from domain: one host name cannot point at both the dashboard and the ingest API."
    }
  }
}

resource "aws_route53_record" "ingest_validation" {
  for_each = local.ingest_domain_enabled ? {
    for o in aws_acm_certificate.ingest[0].domain_validation_options : o.domain_name => o
  } : {}

  zone_id         = var.ingest_zone_id
  name            = each.value.resource_record_name
  type            = each.value.resource_record_type
  records         = [each.value.resource_record_value]
  ttl             = 300
  allow_overwrite = true
}

resource "aws_acm_certificate_validation" "ingest" {
  count = local.ingest_domain_enabled ? 1 : 0

  certificate_arn         = aws_acm_certificate.ingest[0].arn
  validation_record_fqdns = [for r in aws_route53_record.ingest_validation : r.fqdn]
}

resource "aws_apigatewayv2_domain_name" "ingest" {
  count = local.ingest_domain_enabled ? 1 : 0

  domain_name = var.ingest_domain

  domain_name_configuration {
    certificate_arn = aws_acm_certificate_validation.ingest[0].certificate_arn
    endpoint_type   = "REGIONAL"
    security_policy = "TLS_1_2"
  }
}

resource "aws_apigatewayv2_api_mapping" "ingest" {
  count = local.ingest_domain_enabled ? 1 : 0

  api_id      = module.ingest.api_id
  domain_name = aws_apigatewayv2_domain_name.ingest[0].id
  stage       = "$default"
}

resource "aws_route53_record" "ingest" {
  count = local.ingest_domain_enabled ? 1 : 0

  zone_id = var.ingest_zone_id
  name    = var.ingest_domain
  type    = "A"

  alias {
    name                   = aws_apigatewayv2_domain_name.ingest[0].domain_name_configuration[0].target_domain_name
    zone_id                = aws_apigatewayv2_domain_name.ingest[0].domain_name_configuration[0].hosted_zone_id
    evaluate_target_health = false
  }
}
