# Alert delivery from the dashboard instance (docs/alerts.md).
#
# Alert email goes through one SNS topic per project, "<prefix>-alerts-<project
# id>", which the dashboard creates on first use and whose email
# subscriptions it keeps in step with the project's members. To send through
# SMTP instead (SES's SMTP interface, or any provider), put
# {"url": "smtp://user:pass@host:587", "from": "alerts@example.com"} in the
# secret below; the dashboard reads it at start-up.
#
# The instance role gets exactly what the delivery worker calls: on the
# project topics (not another deployment's) CreateTopic (idempotent, finds the ARN), Publish,
# Subscribe and ListSubscriptionsByTopic; Unsubscribe and SetSubscriptionAttributes
# (the filter policy that keeps an email subscription to the messages for its
# address), which IAM cannot scope to a topic; and GetSecretValue on
# the SMTP secret. Slack and webhooks are plain HTTPS from the instance.

resource "aws_secretsmanager_secret" "alerts_smtp" {
  name        = "${local.prefix}-alerts-smtp"
  description = "Flytrap alert email through SMTP: {\"url\": \"smtp://user:pass@host:587\", \"from\": \"alerts@example.com\"}. Empty: email goes through SNS."
  # Deleted at once on destroy, so a redeploy can create it again by name.
  recovery_window_in_days = 0
}

resource "aws_iam_role_policy" "dashboard_alerts" {
  name = "alerts"
  role = element(split("/", module.dashboard.role_arn), length(split("/", module.dashboard.role_arn)) - 1)

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid    = "ProjectAlertTopics"
        Effect = "Allow"
        Action = [
          "sns:CreateTopic",
          "sns:Publish",
          "sns:Subscribe",
          "sns:ListSubscriptionsByTopic",
        ]
        # The partition of an ARN the plan already knows (aws, aws-cn, aws-us-gov).
        Resource = "arn:${split(":", module.storage.bucket_arn)[1]}:sns:${var.region}:${var.account_id}:${local.prefix}-alerts-*"
      },
      {
        # IAM has no resource type for these two (the Service Authorization
        # Reference lists none): a statement naming the topics' ARNs would
        # never match them, and they would be denied. The worker calls
        # them only on subscriptions ListSubscriptionsByTopic returned for
        # this deployment's topics.
        Sid      = "ProjectAlertSubscriptions"
        Effect   = "Allow"
        Action   = ["sns:Unsubscribe", "sns:SetSubscriptionAttributes"]
        Resource = "*"
      },
      {
        # Project IDs are digits, so a topic with a second "-alerts-" is
        # another deployment's, one whose name extends this one's (prod and
        # prod-alerts-x): IAM's * cannot say "digits only".
        Sid      = "NotOtherDeploymentsTopics"
        Effect   = "Deny"
        Action   = "sns:*"
        Resource = "arn:${split(":", module.storage.bucket_arn)[1]}:sns:${var.region}:${var.account_id}:${local.prefix}-alerts-*-alerts-*"
      },
      {
        Sid      = "ReadAlertSMTPSecret"
        Effect   = "Allow"
        Action   = "secretsmanager:GetSecretValue"
        Resource = aws_secretsmanager_secret.alerts_smtp.arn
      },
    ]
  })
}
