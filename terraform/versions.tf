terraform {
  required_version = ">= 1.5"

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
    tags = merge(var.tags, {
      Project           = "flytrap"
      FlytrapDeployment = var.name
      ManagedBy         = "terraform"
    })
  }
}
