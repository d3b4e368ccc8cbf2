# Observability: the dashboard's logs in CloudWatch Logs (journald alone is
# lost with the instance) and the alarms `flytrap status` lists, all
# notifying the alerts topic. The queue module owns the DLQ and the
# oldest-message alarms; these cover the rest of the path.

locals {
  dashboard_log_group = "/ec2/${local.prefix}-dashboard"
  db_identifier       = "${local.prefix}-db"

  # Lambda alarms: any error (a crash or timeout, not a reported batch item
  # failure) or throttle in five minutes.
  function_alarms = {
    for pair in setproduct(["ingest", "processor"], ["Errors", "Throttles"]) :
    "${pair[0]}-${lower(pair[1])}" => { function = "${local.prefix}-${pair[0]}", metric = pair[1] }
  }
}

resource "aws_cloudwatch_log_group" "dashboard" {
  name              = local.dashboard_log_group
  retention_in_days = var.log_retention_days
}

# The CloudWatch agent on the instance ships /var/log/flytrap/dashboard.log
# to this group (templates/cloudinit/dashboard.yaml.tmpl).
resource "aws_iam_role_policy" "dashboard_logs" {
  name = "dashboard-logs"
  role = module.dashboard.role_name

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid      = "ShipOwnLogs"
      Effect   = "Allow"
      Action   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
      Resource = ["${aws_cloudwatch_log_group.dashboard.arn}", "${aws_cloudwatch_log_group.dashboard.arn}:*"]
    }]
  })
}

resource "aws_cloudwatch_metric_alarm" "ingest_5xx" {
  alarm_name          = "${local.prefix}-ingest-5xx"
  alarm_description   = "The ingest API answered 5xx more than 5 times in 5 minutes: SDKs retry, but events may be lost. See the ingest function's logs."
  namespace           = "AWS/ApiGateway"
  metric_name         = "5xx"
  dimensions          = { ApiId = module.ingest.api_id, Stage = "$default" }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 5
  treat_missing_data  = "notBreaching"
  alarm_actions       = [module.alerts.topic_arn]
  ok_actions          = [module.alerts.topic_arn]
}

resource "aws_cloudwatch_metric_alarm" "function" {
  for_each = local.function_alarms

  alarm_name          = "${local.prefix}-${each.key}"
  alarm_description   = "${each.value.function}: ${each.value.metric} in the last 5 minutes. See /aws/lambda/${each.value.function}."
  namespace           = "AWS/Lambda"
  metric_name         = each.value.metric
  dimensions          = { FunctionName = each.value.function }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = [module.alerts.topic_arn]
  ok_actions          = [module.alerts.topic_arn]
}

resource "aws_cloudwatch_metric_alarm" "dashboard_status_check" {
  alarm_name          = "${local.prefix}-dashboard-status-check"
  alarm_description   = "The dashboard instance failed its EC2 status checks for 10 minutes. `flytrap status`; a stop and start moves it to healthy hardware."
  namespace           = "AWS/EC2"
  metric_name         = "StatusCheckFailed"
  dimensions          = { InstanceId = module.dashboard.instance_id }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 2
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  treat_missing_data  = "missing"
  alarm_actions       = [module.alerts.topic_arn]
  ok_actions          = [module.alerts.topic_arn]
}

resource "aws_cloudwatch_metric_alarm" "db_storage" {
  alarm_name          = "${local.prefix}-db-storage-low"
  alarm_description   = "The database has less than 10% of its initial ${var.db_allocated_storage} GiB free (storage autoscaling may be at its limit). Lower the event retention or raise db_allocated_storage."
  namespace           = "AWS/RDS"
  metric_name         = "FreeStorageSpace"
  dimensions          = { DBInstanceIdentifier = local.db_identifier }
  statistic           = "Minimum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "LessThanThreshold"
  threshold           = var.db_allocated_storage * 0.1 * 1073741824
  treat_missing_data  = "notBreaching"
  alarm_actions       = [module.alerts.topic_arn]
  ok_actions          = [module.alerts.topic_arn]
}
