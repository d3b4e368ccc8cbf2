// Package awsx holds Flytrap's narrow adapters over aws-sdk-go-v2: each
// piece of AWS the runtime binaries and the deploy CLI use sits behind a
// small interface declared next to the code that calls it, with one real
// implementation over the SDK client and protocol-level fakes in awsxtest.
//
// Runtime pieces (the Lambda functions and the dashboard instance):
//
//	AWSConfig, NewS3Client, NewSQSClient, NewSecretsManagerClient
//	                  a lean SDK configuration (environment or instance role)
//	                  and clients honoring AWS_ENDPOINT_URL_<SERVICE>
//	SQSQueue          ingest.Queue over SQS SendMessage
//	PublishKeySet     the dashboard writes the ingest key set to S3
//	KeySetLoader      the ingest Lambda reads it, with conditional GETs
//	GetDBCredentials  the RDS-managed master secret from Secrets Manager
//	SecretPassword    that secret's password, re-read as RDS rotates it
//	ReadInstance      region and Flytrap* instance tags from IMDSv2
//	RuntimeConfig     the dashboard's config.json written by Terraform
//	PutInitialAdmin   the first admin password, handed to `flytrap deploy`
//	TakeInitialAdmin  ... which reads and deletes it
//	SNSCalls, SecretsCalls, STSCalls, SQSCalls
//	                  a client's operations as method values (Call), so a
//	                  binary that renders templates links only those
//
// The helpers take their clients as interfaces shaped like the SDK's
// methods: production passes the SDK clients or their *Calls, tests the
// same clients pointed at the fakes or a wrapper that counts calls.
package awsx
