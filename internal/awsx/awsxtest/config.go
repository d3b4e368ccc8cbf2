// Package awsxtest provides protocol-level AWS fakes for tests: an SQS
// server speaking AWS JSON 1.0, S3 (gofakes3 plus conditional GETs), Secrets
// Manager (AWS JSON 1.1), SNS (Query), Lambda's GetAccountSettings
// (REST-JSON) and the EC2 instance metadata service (IMDSv2).
// Real aws-sdk-go-v2 clients talk to them over HTTP, so request signing,
// serialization and checksum validation are exercised as in production.
package awsxtest

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Region and Account are what the fakes pretend to be.
const (
	Region  = "us-east-1"
	Account = "000000000000"
)

// Static credentials the fakes accept (they check that requests are
// signed, not the signature).
const (
	AccessKeyID     = "AKIDFLYTRAPTEST"
	SecretAccessKey = "flytrap-test-secret"
)

// Config returns an SDK configuration with static credentials, Region, and
// a single attempt per call (a fake never throttles, and retries would only
// slow a failing test down). endpoint, when not empty, becomes
// BaseEndpoint for every client made from it.
func Config(endpoint string) aws.Config {
	cfg := aws.Config{
		Region:           Region,
		Credentials:      credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
		RetryMaxAttempts: 1,
	}
	if endpoint != "" {
		cfg.BaseEndpoint = aws.String(endpoint)
	}
	return cfg
}

// S3Client returns a path-style S3 client for the fake at endpoint.
func S3Client(endpoint string) *s3.Client {
	return s3.NewFromConfig(Config(endpoint), func(o *s3.Options) { o.UsePathStyle = true })
}

// SQSClient returns an SQS client for the fake at endpoint.
func SQSClient(endpoint string) *sqs.Client {
	return sqs.NewFromConfig(Config(endpoint))
}

// SecretsManagerClient returns a Secrets Manager client for the fake at
// endpoint.
func SecretsManagerClient(endpoint string) *secretsmanager.Client {
	return secretsmanager.NewFromConfig(Config(endpoint))
}

// Env returns environment variables for a child process (a runtime binary
// under test) that make the SDK's default configuration use the static
// credentials and Region and nothing from the machine: no shared config
// files, no instance metadata. Add AWS_ENDPOINT_URL_<SERVICE> entries to
// point its clients at fakes.
func Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + SecretAccessKey,
		"AWS_REGION=" + Region,
		"AWS_CONFIG_FILE=/nonexistent/flytrap-awsxtest",
		"AWS_SHARED_CREDENTIALS_FILE=/nonexistent/flytrap-awsxtest",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_MAX_ATTEMPTS=1",
	}
}
