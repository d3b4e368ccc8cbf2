variable "name" {
  description = "Prefix for resource names and Name tags, e.g. \"flytrap-prod\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,40}$", var.name))
    error_message = "The name must be 3-41 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "region" {
  description = "AWS region the VPC lives in (used for the S3 gateway endpoint's service name and to check the availability zones)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]+$", var.region))
    error_message = "The region must look like \"eu-west-1\"."
  }
}

variable "availability_zones" {
  description = "Exactly two availability zone names in var.region; one public and one private subnet is created in each."
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

variable "cidr_block" {
  description = "IPv4 CIDR block of the VPC, /16 to /20. Subnets are carved out as /20 to /24 blocks (4 extra bits)."
  type        = string
  default     = "10.42.0.0/16"

  validation {
    condition     = can(cidrhost(var.cidr_block, 0)) && tonumber(try(split("/", var.cidr_block)[1], "0")) >= 16 && tonumber(try(split("/", var.cidr_block)[1], "0")) <= 20
    error_message = "The VPC CIDR block must be a valid IPv4 CIDR between /16 and /20, e.g. \"10.42.0.0/16\"."
  }
}
