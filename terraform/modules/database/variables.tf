variable "name" {
  description = "Prefix for resource names, e.g. \"flytrap-prod\"; the instance identifier is \"<name>-db\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,40}$", var.name)) && !strcontains(var.name, "--") && !endswith(var.name, "-")
    error_message = "The name must be 3-41 lowercase letters, digits and single hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "vpc_id" {
  description = "ID of the VPC the database security group belongs to."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "The VPC ID must look like \"vpc-0123abcd\"."
  }
}

variable "subnet_ids" {
  description = "Private subnet IDs (at least two availability zones) for the DB subnet group."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "RDS needs subnets in at least two availability zones."
  }
}

variable "client_security_group_ids" {
  description = "Security groups allowed to connect on the PostgreSQL port, keyed by a static label (e.g. processor, dashboard) so the keys are known at plan time."
  type        = map(string)

  validation {
    condition     = length(var.client_security_group_ids) >= 1 && alltrue([for k in keys(var.client_security_group_ids) : can(regex("^[a-z][a-z0-9_-]*$", k))])
    error_message = "Give at least one client security group, keyed by a lowercase label."
  }
}

variable "instance_class" {
  description = "RDS instance class, e.g. \"db.t4g.micro\"."
  type        = string
  default     = "db.t4g.micro"

  validation {
    condition     = can(regex("^db\\.[a-z0-9-]+\\.[a-z0-9]+$", var.instance_class))
    error_message = "The instance class must look like \"db.t4g.micro\"."
  }
}

variable "engine_version" {
  description = "PostgreSQL version: a major version (\"17\") lets RDS pick and upgrade the minor version."
  type        = string
  default     = "17"

  validation {
    condition     = can(regex("^1[6-9](\\.[0-9]+)?$", var.engine_version))
    error_message = "The engine version must be PostgreSQL 16 or newer, e.g. \"17\" or \"17.6\"."
  }
}

variable "allocated_storage" {
  description = "Initial storage in GiB (gp3)."
  type        = number
  default     = 20

  validation {
    condition     = var.allocated_storage >= 20 && var.allocated_storage <= 1000 && floor(var.allocated_storage) == var.allocated_storage
    error_message = "Allocated storage must be a whole number of GiB from 20 to 1000."
  }
}

variable "max_allocated_storage" {
  description = "Upper limit in GiB for storage autoscaling (raised to 125 % of allocated_storage, rounded up, when lower than that: RDS wants at least 10 % headroom); 0 turns autoscaling off."
  type        = number
  default     = 100

  validation {
    condition     = var.max_allocated_storage == 0 || (var.max_allocated_storage >= 20 && var.max_allocated_storage <= 65536)
    error_message = "max_allocated_storage must be 0 or between 20 and 65536 GiB."
  }
}

variable "db_name" {
  description = "Name of the database Flytrap uses."
  type        = string
  default     = "flytrap"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.db_name))
    error_message = "The database name must start with a letter and hold lowercase letters, digits and underscores (at most 63)."
  }
}

variable "master_username" {
  description = "Master user name. Its password is generated and kept in Secrets Manager by RDS; the dashboard uses it to run migrations."
  type        = string
  default     = "flytrap_admin"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.master_username)) && !contains(["admin", "postgres", "rdsadmin"], var.master_username)
    error_message = "The master user name must be a lowercase identifier and not a reserved name."
  }
}

variable "processor_db_user" {
  description = "Database user the processor Lambda logs in as with an IAM authentication token. The dashboard's migrations create it and GRANT rds_iam to it."
  type        = string
  default     = "flytrap_processor"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.processor_db_user))
    error_message = "The processor user name must be a lowercase identifier."
  }
}

variable "backup_retention_days" {
  description = "Days of automated backups (point-in-time recovery)."
  type        = number
  default     = 7

  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 35
    error_message = "Backup retention must be 1 to 35 days (0 would turn backups off)."
  }
}

variable "multi_az" {
  description = "Run a standby in the second availability zone (doubles the instance cost)."
  type        = bool
  default     = false
}

variable "deletion_protection" {
  description = "Refuse to delete the instance (set false, apply, then destroy)."
  type        = bool
  default     = true
}
