# The variables `flytrap deploy` writes as terraform.tfvars.json. Names and
# meanings are a contract with internal/deploy (checked by terraform_test.go).

variable "name" {
  description = "Deployment name, e.g. \"prod\". Prefixes every resource name (\"flytrap-<name>-...\")."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,20}$", var.name))
    error_message = "The name must be 3-21 characters: a lowercase letter, then lowercase letters, digits or hyphens."
  }

  validation {
    condition     = !endswith(var.name, "-") && !strcontains(var.name, "--")
    error_message = "The name must not end with a hyphen or contain two hyphens in a row (RDS identifiers forbid both)."
  }
}

variable "region" {
  description = "AWS region to deploy to, e.g. \"eu-west-1\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2,4}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]+$", var.region)) && length(var.region) <= 20
    error_message = "The region must look like \"eu-west-1\" (at most 20 characters: it is part of the IAM names)."
  }
}

variable "availability_zones" {
  description = "Exactly two availability zones of the region, e.g. [\"eu-west-1a\", \"eu-west-1b\"] (passed in so planning needs no AWS call)."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) == 2 && length(distinct(var.availability_zones)) == 2
    error_message = "Give exactly two different availability zones."
  }

  validation {
    condition     = alltrue([for az in var.availability_zones : can(regex("^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]+[a-z]$", az))])
    error_message = "Availability zones must be zone names such as \"eu-west-1a\"."
  }
}

variable "account_id" {
  description = "ID of the AWS account to deploy to; the provider refuses credentials of any other account."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "The account ID must be 12 digits."
  }
}

variable "ami_id" {
  description = "AMI of the dashboard instance, matching the instance type's architecture (arm64 Amazon Linux 2023 for the default t4g)."
  type        = string

  validation {
    condition     = can(regex("^ami-[0-9a-f]{8,17}$", var.ami_id))
    error_message = "The AMI ID must look like \"ami-0123456789abcdef0\"."
  }
}

variable "admin_email" {
  description = "E-mail of the first dashboard administrator; written to the dashboard's runtime config."
  type        = string

  validation {
    condition     = can(regex("^[^@[:space:]]+@[^@[:space:]]+\\.[^@[:space:]]+$", var.admin_email))
    error_message = "The admin e-mail must be an e-mail address."
  }
}

variable "alert_email" {
  description = "E-mail subscribed to the alerts topic (confirmation mail first); \"\" for none."
  type        = string
  default     = ""

  validation {
    condition     = var.alert_email == "" || can(regex("^[^@[:space:]]+@[^@[:space:]]+\\.[^@[:space:]]+$", var.alert_email))
    error_message = "The alert e-mail must be empty or an e-mail address."
  }
}

variable "domain" {
  description = "Domain name of the dashboard (its A record must point at the Elastic IP; TLS by autocert); \"\" to serve it at https://<id>.cloudfront.net (or http://<elastic ip> with plain_http)."
  type        = string
  default     = ""

  validation {
    condition     = var.domain == "" || (length(var.domain) <= 253 && can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.domain)))
    error_message = "The domain must be empty or a lowercase host name such as \"errors.example.com\"."
  }
}

variable "plain_http" {
  description = "Without a domain, serve the dashboard over plain HTTP on the Elastic IP instead of HTTPS through CloudFront (for accounts that cannot use CloudFront). Sign-in and session cookies then cross the internet unencrypted."
  type        = bool
  default     = false
}

variable "cloudfront_prefix_list_id" {
  description = "ID of the region's AWS-managed prefix list com.amazonaws.global.cloudfront.origin-facing (`flytrap deploy` looks it up). Needed when the dashboard sits behind CloudFront (no domain, not plain_http)."
  type        = string
  default     = ""

  validation {
    condition     = var.cloudfront_prefix_list_id == "" || can(regex("^pl-[0-9a-f]+$", var.cloudfront_prefix_list_id))
    error_message = "The prefix list ID must be empty or look like \"pl-3b927c52\"."
  }
}

variable "origin_secret" {
  description = "Value CloudFront sends to the dashboard in X-Flytrap-Origin-Secret, so the instance answers this deployment's distribution only (every distribution shares CloudFront's addresses). `flytrap deploy` generates it once and keeps it."
  type        = string
  default     = ""
  sensitive   = true

  validation {
    condition     = var.origin_secret == "" || can(regex("^[A-Za-z0-9_-]{32,128}$", var.origin_secret))
    error_message = "The origin secret must be empty or 32-128 letters, digits, \"-\" or \"_\"."
  }
}

variable "ingest_domain" {
  description = "Stable host name for the ingest API (DSNs name it instead of the random execute-api host, so they survive a redeploy); \"\" for the execute-api host. Needs ingest_zone_id."
  type        = string
  default     = ""

  validation {
    condition     = var.ingest_domain == "" || (length(var.ingest_domain) <= 253 && can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.ingest_domain)))
    error_message = "The ingest domain must be empty or a lowercase host name such as \"ingest.example.com\"."
  }
}

variable "ingest_zone_id" {
  description = "Route 53 public hosted zone that holds ingest_domain: the certificate's DNS validation records and the domain's alias record are created there. \"\" when ingest_domain is \"\"."
  type        = string
  default     = ""

  validation {
    condition     = var.ingest_zone_id == "" || can(regex("^Z[A-Z0-9]{1,31}$", var.ingest_zone_id))
    error_message = "The ingest zone ID must be empty or a Route 53 hosted zone ID such as \"Z0123456789ABCDEFGHIJ\"."
  }
}

variable "dashboard_instance_type" {
  description = "EC2 instance type of the dashboard."
  type        = string
  default     = "t4g.small"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", var.dashboard_instance_type))
    error_message = "The instance type must look like \"t4g.small\"."
  }
}

variable "db_instance_class" {
  description = "RDS instance class of the PostgreSQL database."
  type        = string
  default     = "db.t4g.micro"

  validation {
    condition     = can(regex("^db\\.[a-z0-9-]+\\.[a-z0-9]+$", var.db_instance_class))
    error_message = "The instance class must look like \"db.t4g.micro\"."
  }
}

variable "db_allocated_storage" {
  description = "Initial database storage in GiB (autoscaling may grow it)."
  type        = number
  default     = 20

  validation {
    condition     = var.db_allocated_storage >= 20 && var.db_allocated_storage <= 1000 && floor(var.db_allocated_storage) == var.db_allocated_storage
    error_message = "Database storage must be a whole number of GiB from 20 to 1000."
  }
}

variable "db_deletion_protection" {
  description = "Protect the data: RDS refuses deletion, and the bucket cannot be destroyed while it holds objects. Set false and apply before `flytrap destroy`."
  type        = bool
  default     = true
}

variable "ingest_memory_mb" {
  description = "Memory of the ingest Lambda in MB."
  type        = number
  default     = 256

  validation {
    condition     = var.ingest_memory_mb >= 128 && var.ingest_memory_mb <= 10240 && floor(var.ingest_memory_mb) == var.ingest_memory_mb
    error_message = "Lambda memory must be a whole number of MB from 128 to 10240."
  }
}

variable "processor_memory_mb" {
  description = "Memory of the processor Lambda in MB."
  type        = number
  default     = 512

  validation {
    condition     = var.processor_memory_mb >= 128 && var.processor_memory_mb <= 10240 && floor(var.processor_memory_mb) == var.processor_memory_mb
    error_message = "Lambda memory must be a whole number of MB from 128 to 10240."
  }
}

variable "processor_batch_size" {
  description = "Most queued events one processor invocation handles. At most 1200: at 50 ms an event, a larger batch outlasts the processor's 60 s timeout."
  type        = number
  default     = 10

  validation {
    condition     = var.processor_batch_size >= 1 && var.processor_batch_size <= 1200 && floor(var.processor_batch_size) == var.processor_batch_size
    error_message = "The batch size must be a whole number from 1 to 1200: a larger batch, at 50 ms an event, outlasts the processor's 60 s timeout, fails whole, and is received again until its events are in the dead-letter queue."
  }
}

variable "ingest_throttle_rate" {
  description = "Requests per second the ingest API accepts before answering 429."
  type        = number
  default     = 100

  validation {
    condition     = var.ingest_throttle_rate >= 1 && var.ingest_throttle_rate <= 10000
    error_message = "The throttle rate must be between 1 and 10000 requests per second."
  }
}

variable "ingest_rate_limit" {
  description = "Events per minute the ingest function accepts from each project without a limit of its own before answering 429 (flytrap dev's --rate-limit); -1 for no limit. The dashboard is given the same value, to name it on a project's settings."
  type        = number
  default     = 6000

  validation {
    condition     = (var.ingest_rate_limit == -1 || (var.ingest_rate_limit >= 1 && var.ingest_rate_limit <= 1000000)) && floor(var.ingest_rate_limit) == var.ingest_rate_limit
    error_message = "The ingest rate limit must be a whole number of events per minute from 1 to 1000000, or -1 for no limit."
  }
}

variable "max_live_streams" {
  description = "Live-update streams (dashboard tabs, flytrap tail) the dashboard holds open at once before refusing more with 503 (flytrap dev's --max-live-streams)."
  type        = number
  default     = 500

  validation {
    condition     = var.max_live_streams >= 1 && var.max_live_streams <= 100000 && floor(var.max_live_streams) == var.max_live_streams
    error_message = "The most live streams must be a whole number from 1 to 100000."
  }
}

variable "max_live_streams_per_user" {
  description = "Of max_live_streams, those one user may hold before more of theirs are refused with 429 (flytrap dev's --max-live-streams-per-user)."
  type        = number
  default     = 16

  validation {
    condition     = var.max_live_streams_per_user >= 1 && var.max_live_streams_per_user <= 100000 && floor(var.max_live_streams_per_user) == var.max_live_streams_per_user
    error_message = "The most live streams per user must be a whole number from 1 to 100000."
  }
}

variable "min_upload_rate" {
  description = "Bytes per second each request of a source map upload to the dashboard (sentry-cli, with an API token) must keep up after 10 seconds before it is cut off with 408 (flytrap dev's --min-upload-rate)."
  type        = number
  default     = 1024

  validation {
    condition     = var.min_upload_rate >= 1 && var.min_upload_rate <= 1048576 && floor(var.min_upload_rate) == var.min_upload_rate
    error_message = "The upload rate must be a whole number of bytes per second from 1 to 1048576."
  }
}

variable "max_conns_per_client" {
  description = "Connections one client address (an IPv6 /64) may hold open on the dashboard at once when it serves clients itself (a domain, or plain_http; behind CloudFront they are not counted); over it the address's longest-idle connection is closed to make room, or the new one, unanswered, when none is idle (flytrap dev's --max-conns-per-client)."
  type        = number
  default     = 128

  validation {
    condition     = var.max_conns_per_client >= 1 && var.max_conns_per_client <= 10000 && floor(var.max_conns_per_client) == var.max_conns_per_client
    error_message = "The connections per client must be a whole number from 1 to 10000."
  }
}

variable "ingest_throttle_burst" {
  description = "Request burst the ingest API accepts above the steady rate."
  type        = number
  default     = 200

  validation {
    condition     = var.ingest_throttle_burst >= 1 && var.ingest_throttle_burst <= 5000 && floor(var.ingest_throttle_burst) == var.ingest_throttle_burst
    error_message = "The throttle burst must be a whole number from 1 to 5000."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the Lambda and API access logs."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "Log retention must be one of CloudWatch's values: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653 days."
  }
}

variable "retention_days" {
  description = "The dashboard deletes events received more than this many days ago (0: keep them). Issues keep their counts."
  type        = number
  default     = 90

  validation {
    condition     = var.retention_days >= 0 && var.retention_days <= 3650 && floor(var.retention_days) == var.retention_days
    error_message = "Retention days must be a whole number from 0 (keep events) to 3650."
  }
}

variable "retention_per_issue" {
  description = "The dashboard keeps at most this many events per issue, deleting the oldest (0: keep all)."
  type        = number
  default     = 10000

  validation {
    condition     = var.retention_per_issue >= 0 && var.retention_per_issue <= 1000000 && floor(var.retention_per_issue) == var.retention_per_issue
    error_message = "Retention per issue must be a whole number from 0 (keep all) to 1000000."
  }
}

variable "ingest_zip_path" {
  description = "Local path of the ingest Lambda zip (arm64 `bootstrap` inside)."
  type        = string

  validation {
    condition     = endswith(var.ingest_zip_path, ".zip")
    error_message = "The ingest package must be a .zip file."
  }
}

variable "processor_zip_path" {
  description = "Local path of the processor Lambda zip (arm64 `bootstrap` inside)."
  type        = string

  validation {
    condition     = endswith(var.processor_zip_path, ".zip")
    error_message = "The processor package must be a .zip file."
  }
}

variable "dashboard_binary_path" {
  description = "Local path of the dashboard executable (linux, the AMI's architecture), uploaded to the bucket."
  type        = string

  validation {
    condition     = length(trimspace(var.dashboard_binary_path)) > 0
    error_message = "The dashboard binary path is required."
  }
}

variable "dashboard_user_data" {
  description = "cloud-init user data for the dashboard instance, rendered by the CLI from its template (at most 16 KiB)."
  type        = string

  validation {
    condition     = length(var.dashboard_user_data) > 0 && length(var.dashboard_user_data) <= 16384
    error_message = "User data must be between 1 byte and 16 KiB."
  }

  validation {
    condition     = can(regex("^(#cloud-config|#!|## template: jinja|Content-Type: multipart/)", var.dashboard_user_data))
    error_message = "User data must be cloud-init input: start with \"#cloud-config\", \"#!\", \"## template: jinja\" or a MIME multipart header."
  }
}

variable "tags" {
  description = "Extra tags for every resource (Project, FlytrapDeployment and ManagedBy are always set)."
  type        = map(string)
  default     = {}

  validation {
    condition     = length(var.tags) <= 40
    error_message = "At most 40 extra tags (AWS allows 50 per resource, Flytrap sets some)."
  }

  validation {
    condition     = alltrue([for k, v in var.tags : length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:")])
    error_message = "Tag keys must be 1-128 characters and not start with \"aws:\"; values at most 256 characters."
  }

  # Flytrap's own keys (versions.tf) in any case: IAM would get Project and
  # project, the same key to it.
  validation {
    condition     = alltrue([for k in keys(var.tags) : !contains(["project", "flytrapdeployment", "managedby"], lower(k))])
    error_message = "Tag keys Project, FlytrapDeployment and ManagedBy (in any case) are set by Flytrap itself; choose another key."
  }

  # IAM tag keys are case-insensitive: Team and team would fail apply.
  validation {
    condition     = length(distinct([for k in keys(var.tags) : lower(k)])) == length(var.tags)
    error_message = "Tag keys must differ in more than case: AWS tag keys are case-insensitive."
  }

  # Keys: what both IAM's Tag API (no ",") and the instance metadata, where
  # the dashboard exposes its tags (no spaces, no "/", ASCII letters), allow.
  validation {
    condition     = alltrue([for k in keys(var.tags) : can(regex("^[A-Za-z0-9+=._:@-]+$", k)) && !contains([".", "..", "_index"], k)])
    error_message = "Tag keys may hold only letters A-Z and a-z, digits and + - = . _ : @ (IAM refuses \",\"; the dashboard instance's metadata refuses spaces and \"/\")."
  }

  # Values: IAM's Tag API pattern, the strictest of the tagged services.
  validation {
    condition     = alltrue([for v in values(var.tags) : can(regex("^[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*$", v))])
    error_message = "Tag values may hold only letters, digits, spaces and _ . : / = + - @ (AWS IAM refuses others, such as & ( ) # , ! ')."
  }
}
