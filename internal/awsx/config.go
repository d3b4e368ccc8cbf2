package awsx

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/getflytrap/flytrap/internal/awsbase"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// NewSQSClient returns an SQS client for cfg, honoring
// AWS_ENDPOINT_URL_SQS.
func NewSQSClient(cfg aws.Config, optFns ...func(*sqs.Options)) *sqs.Client {
	return sqs.NewFromConfig(cfg, append([]func(*sqs.Options){func(o *sqs.Options) {
		if e := awsbase.ServiceEndpoint("SQS"); e != nil {
			o.BaseEndpoint = e
		}
	}}, optFns...)...)
}

// NewSecretsManagerClient returns a Secrets Manager client for cfg,
// honoring AWS_ENDPOINT_URL_SECRETS_MANAGER.
func NewSecretsManagerClient(cfg aws.Config, optFns ...func(*secretsmanager.Options)) *secretsmanager.Client {
	return secretsmanager.NewFromConfig(cfg, append([]func(*secretsmanager.Options){func(o *secretsmanager.Options) {
		if e := awsbase.ServiceEndpoint("SECRETS_MANAGER"); e != nil {
			o.BaseEndpoint = e
		}
	}}, optFns...)...)
}

// maxRuntimeConfigBytes bounds config.json: a flat object of a few dozen
// short strings.
const maxRuntimeConfigBytes = 1 << 20

// RuntimeConfig is the dashboard's config.json: the settings that exist
// only after `terraform apply`, written by the dashboard module from the
// root module's runtime_config map (terraform/main.tf) plus the binary's
// key and SHA-256. Every value is a JSON string because the Terraform
// variable is map(string); db_port is a number in a string. Its one secret
// is origin_secret, which only proves a request came through CloudFront;
// the database password stays in Secrets Manager.
type RuntimeConfig struct {
	Name   string `json:"name"`
	Region string `json:"region"`
	Domain string `json:"domain"` // empty: CloudFront (PublicURL set) or plain HTTP
	// PublicURL is https://<id>.cloudfront.net when the dashboard sits
	// behind CloudFront, which sends OriginSecret in
	// X-Flytrap-Origin-Secret with every request; both empty otherwise.
	PublicURL             string `json:"public_url"`
	OriginSecret          string `json:"origin_secret"`
	AdminEmail            string `json:"admin_email"`
	Bucket                string `json:"bucket"`
	KeySetKey             string `json:"keyset_key"`
	SourceMapsPrefix      string `json:"sourcemaps_prefix"`
	QueueURL              string `json:"queue_url"`
	DLQURL                string `json:"dlq_url"`
	AlertsTopicARN        string `json:"alerts_topic_arn"`
	IngestURL             string `json:"ingest_url"`
	DBHost                string `json:"db_host"`
	DBPort                int    `json:"db_port,string"`
	DBName                string `json:"db_name"`
	DBMasterUsername      string `json:"db_master_username"`
	DBMasterSecretARN     string `json:"db_master_secret_arn"`
	DBProcessorUser       string `json:"db_processor_user"`
	DashboardBinaryKey    string `json:"dashboard_binary_key"`
	DashboardBinarySHA256 string `json:"dashboard_binary_sha256"`
	// RetentionDays and RetentionPerIssue are flytrap.yaml's retention:
	// events older than that many days, and beyond that many per issue,
	// are deleted (0: keep). Absent, as in configs written before they
	// existed, both are 0.
	RetentionDays     int `json:"retention_days"`
	RetentionPerIssue int `json:"retention_per_issue"`
	// IngestRateLimit is the limit the ingest function applies to
	// projects without their own (RATE_LIMIT, the variable
	// ingest_rate_limit): events per minute, -1 for none. Absent, as in
	// configs written before it existed, it is 0: not known.
	IngestRateLimit int `json:"ingest_rate_limit"`
	// MaxLiveStreams and MaxLiveStreamsPerUser bound the live-update
	// streams (flytrap.yaml's max_live_streams and
	// max_live_streams_per_user). Absent, as in configs written before
	// they existed, they are 0: live's defaults.
	MaxLiveStreams        int `json:"max_live_streams"`
	MaxLiveStreamsPerUser int `json:"max_live_streams_per_user"`
	// MinUploadRate is the bytes per second a source map upload must keep
	// up (flytrap.yaml's min_upload_rate). Absent, as in configs written
	// before it existed, it is 0: bodydeadline's default.
	MinUploadRate int `json:"min_upload_rate"`
	// MaxConnsPerClient bounds the connections one client address holds
	// open when the dashboard serves clients itself (flytrap.yaml's
	// max_conns_per_client). Absent, as in configs written before it
	// existed, it is 0: connlimit's default.
	MaxConnsPerClient int `json:"max_conns_per_client"`
}

// UnmarshalJSON reads the numbers (db_port, retention_days,
// retention_per_issue, ingest_rate_limit, max_live_streams,
// max_live_streams_per_user, min_upload_rate, max_conns_per_client) as strings (what Terraform writes) or
// numbers, and names the field when one is neither.
func (c *RuntimeConfig) UnmarshalJSON(b []byte) error {
	type plain RuntimeConfig // without this method
	var aux struct {
		plain
		// These shadow plain's.
		DBPort                json.RawMessage `json:"db_port"`
		RetentionDays         json.RawMessage `json:"retention_days"`
		RetentionPerIssue     json.RawMessage `json:"retention_per_issue"`
		IngestRateLimit       json.RawMessage `json:"ingest_rate_limit"`
		MaxLiveStreams        json.RawMessage `json:"max_live_streams"`
		MaxLiveStreamsPerUser json.RawMessage `json:"max_live_streams_per_user"`
		MinUploadRate         json.RawMessage `json:"min_upload_rate"`
		MaxConnsPerClient     json.RawMessage `json:"max_conns_per_client"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*c = RuntimeConfig(aux.plain)
	for _, f := range []struct {
		name string
		raw  json.RawMessage
		dst  *int
	}{
		{"db_port", aux.DBPort, &c.DBPort},
		{"retention_days", aux.RetentionDays, &c.RetentionDays},
		{"retention_per_issue", aux.RetentionPerIssue, &c.RetentionPerIssue},
		{"ingest_rate_limit", aux.IngestRateLimit, &c.IngestRateLimit},
		{"max_live_streams", aux.MaxLiveStreams, &c.MaxLiveStreams},
		{"max_live_streams_per_user", aux.MaxLiveStreamsPerUser, &c.MaxLiveStreamsPerUser},
		{"min_upload_rate", aux.MinUploadRate, &c.MinUploadRate},
		{"max_conns_per_client", aux.MaxConnsPerClient, &c.MaxConnsPerClient},
	} {
		*f.dst = 0
		if len(f.raw) == 0 || string(f.raw) == "null" {
			continue
		}
		n, err := strconv.Atoi(strings.Trim(string(f.raw), `"`))
		if err != nil {
			return fmt.Errorf("%s %s is not a whole number", f.name, f.raw)
		}
		*f.dst = n
	}
	return nil
}

// ParseRuntimeConfig decodes and validates config.json. Unknown fields are
// accepted, so a newer Terraform module can add settings before the
// binary reads them.
func ParseRuntimeConfig(b []byte) (RuntimeConfig, error) {
	var c RuntimeConfig
	if err := json.Unmarshal(b, &c); err != nil {
		return RuntimeConfig{}, fmt.Errorf("runtime config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return RuntimeConfig{}, err
	}
	return c, nil
}

// Validate reports the settings the dashboard cannot start without.
func (c RuntimeConfig) Validate() error {
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"region", c.Region},
		{"admin_email", c.AdminEmail},
		{"bucket", c.Bucket},
		{"keyset_key", c.KeySetKey},
		{"db_host", c.DBHost},
		{"db_name", c.DBName},
		{"db_master_username", c.DBMasterUsername},
		{"db_master_secret_arn", c.DBMasterSecretARN},
		{"db_processor_user", c.DBProcessorUser},
	} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("runtime config lacks %s", strings.Join(missing, ", "))
	}
	if c.DBPort < 1 || c.DBPort > 65535 {
		return fmt.Errorf("runtime config: db_port %d is not a TCP port", c.DBPort)
	}
	if c.PublicURL != "" && (len(c.OriginSecret) < 32 || !strings.HasPrefix(c.PublicURL, "https://")) {
		// Without the secret any CloudFront distribution could front the
		// instance, and an empty one would match every request.
		return fmt.Errorf("runtime config: public_url %q needs an https:// URL and an origin_secret of at least 32 characters", c.PublicURL)
	}
	if c.RetentionDays < 0 || c.RetentionPerIssue < 0 {
		return fmt.Errorf("runtime config: retention_days %d and retention_per_issue %d cannot be negative (0 turns a rule off)", c.RetentionDays, c.RetentionPerIssue)
	}
	if c.MaxLiveStreams < 0 || c.MaxLiveStreamsPerUser < 0 {
		return fmt.Errorf("runtime config: max_live_streams %d and max_live_streams_per_user %d cannot be negative (0 is the default)", c.MaxLiveStreams, c.MaxLiveStreamsPerUser)
	}
	if c.MinUploadRate < 0 {
		return fmt.Errorf("runtime config: min_upload_rate %d cannot be negative (0 is the default)", c.MinUploadRate)
	}
	if c.MaxConnsPerClient < 0 {
		return fmt.Errorf("runtime config: max_conns_per_client %d cannot be negative (0 is the default)", c.MaxConnsPerClient)
	}
	if c.IngestRateLimit < -1 {
		return fmt.Errorf("runtime config: ingest_rate_limit %d is not a number of events per minute, or -1 for no limit", c.IngestRateLimit)
	}
	return nil
}

// LoadRuntimeConfig reads and validates s3://bucket/key.
func LoadRuntimeConfig(ctx context.Context, c awsbase.S3Getter, bucket, key string) (RuntimeConfig, error) {
	body, _, err := awsbase.GetObjectIfChanged(ctx, c, bucket, key, "", maxRuntimeConfigBytes)
	if err != nil {
		return RuntimeConfig{}, fmt.Errorf("runtime config: %w", err)
	}
	cfg, err := ParseRuntimeConfig(body)
	if err != nil {
		return RuntimeConfig{}, fmt.Errorf("s3://%s/%s: %w", bucket, key, err)
	}
	return cfg, nil
}
