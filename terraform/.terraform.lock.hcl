# The provider version `flytrap deploy` and the tests use: a fresh
# `terraform init` selects exactly this one instead of the newest 6.x.
#
# No hashes on purpose. The file is written offline (the project's build
# machines reach no registry), and the only provider package there is a
# local build from the provider's Go module, whose h1: hash differs from the
# package registry.terraform.io serves: recording it would make every real
# init fail its checksum check. `flytrap deploy` writes this file into the
# workspace before each init, and init records the hashes of the package it
# installed (from the registry, verified against HashiCorp's signed
# SHA256SUMS, or from FLYTRAP_TF_PLUGIN_DIR for a dry run).

provider "registry.terraform.io/hashicorp/aws" {
  version     = "6.47.1"
  constraints = "~> 6.0"
}
