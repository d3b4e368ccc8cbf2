terraform {
  # The S3 backend's lock file (use_lockfile, which `flytrap deploy` sets)
  # needs 1.10; OfflineOverride relaxes this for plans without a backend.
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }

  # Partial configuration: `flytrap deploy` passes bucket, key, region and
  # use_lockfile with -backend-config at init, so teammates share the state.
  backend "s3" {}
}

provider "aws" {
  region = var.region

  # Refuse to touch any other account than the one the plan was made for.
  allowed_account_ids = [var.account_id]

  default_tags {
    tags = merge(var.tags, local.builtin_tags)
  }
}

# For S3 objects, which take at most 10 tags: without the user's tags (up
# to 40) the first apply cannot fail on them. A resource cannot drop a
# default tag, only override its value, hence a second configuration.
provider "aws" {
  alias  = "untagged"
  region = var.region

  allowed_account_ids = [var.account_id]

  default_tags {
    tags = local.builtin_tags
  }
}

locals {
  builtin_tags = {
    Project           = "flytrap"
    FlytrapDeployment = var.name
    ManagedBy         = "terraform"
  }
}
