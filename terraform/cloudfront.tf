# HTTPS for a dashboard without a domain: CloudFront, with its default
# *.cloudfront.net certificate, in front of the instance. Viewers reach
# CloudFront over TLS (plain HTTP is redirected); CloudFront reaches the
# instance on port 80, which only CloudFront's origin-facing addresses may
# open (modules/dashboard), and sends a per-deployment secret header the
# dashboard checks, since every CloudFront distribution shares those
# addresses. Nothing is cached: every page is per user, and WebSocket
# upgrades (the live stream) pass through.
#
# Why not a VPC origin: it needs the instance in a private subnet, and the
# dashboard's own calls out (SSM, Secrets Manager, SNS, Slack, webhooks,
# SMTP) would then need a NAT gateway, about as much again as the rest of a
# small deployment costs.

locals {
  # AWS-managed policies (their IDs are the same in every account).
  cloudfront_caching_disabled = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad" # Managed-CachingDisabled
  cloudfront_all_viewer       = "216adef6-5c7f-47e4-b989-5492eafa07d3" # Managed-AllViewer: every header, cookie and query string, Host included
}

resource "aws_cloudfront_distribution" "dashboard" {
  count = local.cloudfront ? 1 : 0

  enabled         = true
  comment         = "${local.prefix} dashboard"
  is_ipv6_enabled = true
  http_version    = "http2and3"
  # North America and Europe edges only: the cheapest class; viewers
  # elsewhere are served from the nearest of those.
  price_class = "PriceClass_100"

  origin {
    origin_id   = "dashboard"
    domain_name = module.dashboard.public_dns

    custom_origin_config {
      http_port              = 80
      https_port             = 443
      origin_protocol_policy = "http-only"
      origin_ssl_protocols   = ["TLSv1.2"]
      # The longest CloudFront allows without a quota increase; the live
      # stream pings every 30 s, so an idle WebSocket is never cut.
      origin_read_timeout = 60
      # Below the dashboard's 60 s idle timeout (internal/web), so CloudFront
      # never reuses a connection the server is closing (a 502).
      origin_keepalive_timeout = 30
    }

    custom_header {
      name  = "X-Flytrap-Origin-Secret"
      value = var.origin_secret
    }
  }

  default_cache_behavior {
    target_origin_id         = "dashboard"
    viewer_protocol_policy   = "redirect-to-https"
    allowed_methods          = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
    cached_methods           = ["GET", "HEAD"]
    cache_policy_id          = local.cloudfront_caching_disabled
    origin_request_policy_id = local.cloudfront_all_viewer
    compress                 = true
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = true
  }

  lifecycle {
    precondition {
      condition     = var.cloudfront_prefix_list_id != "" && var.origin_secret != ""
      error_message = "Without a domain the dashboard sits behind CloudFront, which needs cloudfront_prefix_list_id and origin_secret (flytrap deploy sets both); or set plain_http = true."
    }
  }
}
