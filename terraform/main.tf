# Flytrap on AWS: the root module `flytrap deploy` applies.
#
#   SDK -> API Gateway (HTTP API) -> ingest Lambda -> SQS (+DLQ)
#       -> processor Lambda (VPC) -> RDS PostgreSQL
#   dashboard EC2 (UI/API, key set publisher, migrations, alerts via SNS),
#       behind CloudFront when there is no domain
#
# No data sources: the account, zones and AMI are variables, so `plan` needs no
# AWS call (see offline.go and docs/deploy-terraform.md).

locals {
  prefix = "flytrap-${var.name}"

  ingest_function_name    = "${local.prefix}-ingest"
  processor_function_name = "${local.prefix}-processor"
  ingest_api_name         = "${local.prefix}-ingest"
  bucket_name             = "${local.prefix}-${var.account_id}-${var.region}"

  # IAM names are global to the account while everything else (and the
  # state) is per region: the region in them lets one deployment name live
  # in two regions. The bucket name above is globally unique already.
  iam_prefix = "${local.prefix}-${var.region}"

  # Without a domain the dashboard gets HTTPS from CloudFront's default
  # certificate, unless plain HTTP was chosen explicitly.
  cloudfront = var.domain == "" && !var.plain_http

  # The queue's visibility timeout is derived from these.
  processor_timeout_seconds         = 60
  processor_batching_window_seconds = 5
}

module "network" {
  source = "./modules/network"

  name               = local.prefix
  region             = var.region
  availability_zones = var.availability_zones
}

module "alerts" {
  source = "./modules/alerts"

  name        = local.prefix
  account_id  = var.account_id
  alert_email = var.alert_email
}

module "logs" {
  source = "./modules/logs"

  ingest_function_name    = local.ingest_function_name
  processor_function_name = local.processor_function_name
  api_name                = local.ingest_api_name
  retention_days          = var.log_retention_days
}

module "queue" {
  source = "./modules/queue"

  name                             = local.prefix
  consumer_timeout_seconds         = local.processor_timeout_seconds
  consumer_batching_window_seconds = local.processor_batching_window_seconds
  alarm_topic_arn                  = module.alerts.topic_arn
}

module "storage" {
  source = "./modules/storage"

  bucket_name = local.bucket_name
  # Data protection is one switch: while the database is protected, so is the
  # bucket's content; turning protection off (before destroy) lets both go.
  force_destroy = !var.db_deletion_protection
}

module "database" {
  source = "./modules/database"

  name                = local.prefix
  vpc_id              = module.network.vpc_id
  subnet_ids          = module.network.private_subnet_ids
  instance_class      = var.db_instance_class
  allocated_storage   = var.db_allocated_storage
  deletion_protection = var.db_deletion_protection

  client_security_group_ids = {
    processor = module.processor.security_group_id
    dashboard = module.dashboard.security_group_id
  }
}

module "ingest" {
  source = "./modules/ingest"

  name           = local.prefix
  function_name  = local.ingest_function_name
  iam_name       = "${local.iam_prefix}-ingest"
  api_name       = local.ingest_api_name
  zip_path       = var.ingest_zip_path
  memory_mb      = var.ingest_memory_mb
  throttle_rate  = var.ingest_throttle_rate
  throttle_burst = var.ingest_throttle_burst
  rate_limit     = var.ingest_rate_limit

  queue_url   = module.queue.queue_url
  queue_arn   = module.queue.queue_arn
  bucket_name = module.storage.bucket_name
  bucket_arn  = module.storage.bucket_arn
  keyset_key  = module.storage.keyset_key

  log_group_name       = module.logs.ingest_log_group_name
  log_group_arn        = module.logs.ingest_log_group_arn
  access_log_group_arn = module.logs.api_access_log_group_arn
}

module "processor" {
  source = "./modules/processor"

  name                    = local.prefix
  function_name           = local.processor_function_name
  iam_name                = "${local.iam_prefix}-processor"
  zip_path                = var.processor_zip_path
  memory_mb               = var.processor_memory_mb
  timeout_seconds         = local.processor_timeout_seconds
  batch_size              = var.processor_batch_size
  batching_window_seconds = local.processor_batching_window_seconds

  vpc_id               = module.network.vpc_id
  subnet_ids           = module.network.private_subnet_ids
  s3_prefix_list_id    = module.network.s3_prefix_list_id
  db_security_group_id = module.database.security_group_id

  queue_arn                        = module.queue.queue_arn
  queue_visibility_timeout_seconds = module.queue.visibility_timeout_seconds

  db_host           = module.database.address
  db_port           = module.database.port
  db_name           = module.database.db_name
  db_user           = module.database.processor_db_user
  db_connect_arn    = module.database.processor_connect_arn
  region            = var.region
  bucket_name       = module.storage.bucket_name
  bucket_arn        = module.storage.bucket_arn
  sourcemaps_prefix = module.storage.sourcemaps_prefix

  log_group_name = module.logs.processor_log_group_name
  log_group_arn  = module.logs.processor_log_group_arn
}

module "dashboard" {
  source = "./modules/dashboard"
  providers = {
    aws          = aws
    aws.untagged = aws.untagged
  }

  name          = local.prefix
  iam_name      = "${local.iam_prefix}-dashboard"
  ami_id        = var.ami_id
  instance_type = var.dashboard_instance_type
  vpc_id        = module.network.vpc_id
  subnet_id     = module.network.public_subnet_ids[0]
  user_data     = var.dashboard_user_data
  binary_path   = var.dashboard_binary_path

  cloudfront_prefix_list_id = local.cloudfront ? var.cloudfront_prefix_list_id : ""

  db_security_group_id = module.database.security_group_id
  db_port              = module.database.port
  db_secret_arn        = module.database.master_user_secret_arn
  bucket_name          = module.storage.bucket_name
  bucket_arn           = module.storage.bucket_arn
  alerts_topic_arn     = module.alerts.topic_arn
  queue_arns           = [module.queue.queue_arn, module.queue.dlq_arn]
  writable_keys = [
    module.storage.keyset_key,
    "${module.storage.sourcemaps_prefix}*",
    "deploy/initial-admin-password",
  ]

  # What the dashboard cannot know before apply; read from S3 at start-up.
  runtime_config = {
    name                 = var.name
    region               = var.region
    domain               = var.domain
    admin_email          = var.admin_email
    bucket               = module.storage.bucket_name
    keyset_key           = module.storage.keyset_key
    sourcemaps_prefix    = module.storage.sourcemaps_prefix
    queue_url            = module.queue.queue_url
    dlq_url              = module.queue.dlq_url
    alerts_topic_arn     = module.alerts.topic_arn
    ingest_url           = local.ingest_url
    db_host              = module.database.address
    db_port              = tostring(module.database.port)
    db_name              = module.database.db_name
    db_master_username   = module.database.master_username
    db_master_secret_arn = module.database.master_user_secret_arn
    db_processor_user    = module.database.processor_db_user
    retention_days       = tostring(var.retention_days)
    retention_per_issue  = tostring(var.retention_per_issue)
    # The limit the ingest function applies (RATE_LIMIT), which the
    # dashboard cannot see otherwise.
    ingest_rate_limit = tostring(var.ingest_rate_limit)
    # The dashboard's live-stream limits (flytrap dev's --max-live-streams
    # and --max-live-streams-per-user).
    max_live_streams          = tostring(var.max_live_streams)
    max_live_streams_per_user = tostring(var.max_live_streams_per_user)
    # What a source map upload must keep up (flytrap dev's --min-upload-rate).
    min_upload_rate = tostring(var.min_upload_rate)
    # Connections one client address may hold open when the dashboard
    # serves clients itself (flytrap dev's --max-conns-per-client).
    max_conns_per_client = tostring(var.max_conns_per_client)
    # Behind CloudFront: the address users reach, and the header value
    # that proves a request came through this deployment's distribution.
    public_url    = local.cloudfront ? "https://${aws_cloudfront_distribution.dashboard[0].domain_name}" : ""
    origin_secret = local.cloudfront ? var.origin_secret : ""
  }
}
