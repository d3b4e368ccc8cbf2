terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
      # For the S3 objects: the root's configuration without the user's tags.
      configuration_aliases = [aws.untagged]
    }
  }
}
