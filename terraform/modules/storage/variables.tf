variable "bucket_name" {
  description = "Globally unique name of the bucket for source maps, artifacts, the ingest key set and the dashboard binary."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.bucket_name)) && !strcontains(var.bucket_name, "--")
    error_message = "The bucket name must be 3-63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit."
  }
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete the bucket with every object version in it. Keep false while the deployment holds data you want."
  type        = bool
  default     = false
}

variable "noncurrent_version_days" {
  description = "Days a replaced or deleted object version is kept before S3 expires it."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_days >= 1 && floor(var.noncurrent_version_days) == var.noncurrent_version_days
    error_message = "noncurrent_version_days must be a whole number of at least 1."
  }
}

variable "keyset_key" {
  description = "Object key of the ingest key set the dashboard publishes and the ingest Lambda reads."
  type        = string
  default     = "keyset/ingest-keys.json"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()/-]+$", var.keyset_key)) && !startswith(var.keyset_key, "/")
    error_message = "The key set key must be a relative S3 key of safe characters."
  }
}

variable "sourcemaps_prefix" {
  description = "Key prefix (ending in \"/\") under which source maps and artifact bundles are stored; the processor may read only this prefix."
  type        = string
  default     = "sourcemaps/"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/$", var.sourcemaps_prefix))
    error_message = "The source map prefix must be one path segment ending in \"/\", e.g. \"sourcemaps/\"."
  }
}
