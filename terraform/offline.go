package terraform

// OfflineOverrideFileName is the file name `flytrap deploy --dry-run` and the
// tests give OfflineOverride in the workspace. Terraform merges every
// *_override.tf file over the configuration after loading it.
const OfflineOverrideFileName = "flytrap_offline_override.tf"

// OfflineOverride is a Terraform override file that lets `terraform init` and
// `terraform plan` of the root module run without an AWS account or network:
//
//   - the partial S3 backend is replaced by the local backend (state in the
//     workspace), so init needs no bucket, and required_version drops to
//     1.5 (1.10 is for the S3 lock file);
//   - the provider skips credential validation (STS), the account ID lookup,
//     the EC2 metadata endpoint and the region name check;
//   - allowed_account_ids is cleared: with the lookup skipped the provider has
//     no account ID to compare and would refuse every plan.
//
// Credentials must still be present (fake ones do: AWS_ACCESS_KEY_ID=test,
// AWS_SECRET_ACCESS_KEY=test) and the configuration must read no data source
// that calls AWS; the root module has none. A plan made this way shows what a
// first apply would create; it cannot be applied. WriteTo removes the file
// again, so a later real deploy in the same workspace is not affected (its
// `terraform init` then needs -reconfigure to switch back to the S3 backend).
const OfflineOverride = `# Written by flytrap for an offline plan (dry run, tests). Not for apply.
terraform {
  # No S3 backend, so no S3 lock file: any Terraform >= 1.5 can plan.
  required_version = ">= 1.5"
  backend "local" {}
}

provider "aws" {
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  allowed_account_ids         = null
}

provider "aws" {
  alias                       = "untagged"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  allowed_account_ids         = null
}
`

// MigrateTargets are the -target addresses of the upgrade's pre-migration
// apply (internal/deploy's migrate step): only the new dashboard binary.
// -target also applies whatever a target depends on; the binary depends
// only on the bucket (TestMigrateTargetsClosure), whereas the runtime
// config depends on the database, the queues, the alerts topic and
// CloudFront, whose pending changes would then be applied before the
// migration. The config follows in the full apply.
var MigrateTargets = []string{"module.dashboard.aws_s3_object.binary"}
