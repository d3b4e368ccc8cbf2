package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/getflytrap/flytrap/internal/awsx"
	"github.com/getflytrap/flytrap/internal/plan"
	"github.com/getflytrap/flytrap/internal/runtimebin"
	"github.com/getflytrap/flytrap/internal/tf"
)

// Vars is terraform.tfvars.json: every variable of the root module in
// terraform/variables.tf, each written explicitly (no omitempty), so the
// file says everything the apply used. The contract test checks the field
// set against the module.
type Vars struct {
	Name                  string            `json:"name"`
	Region                string            `json:"region"`
	AvailabilityZones     []string          `json:"availability_zones"`
	AccountID             string            `json:"account_id"`
	AMIID                 string            `json:"ami_id"`
	AdminEmail            string            `json:"admin_email"`
	AlertEmail            string            `json:"alert_email"`
	Domain                string            `json:"domain"`
	PlainHTTP             bool              `json:"plain_http"`
	CloudFrontPrefixList  string            `json:"cloudfront_prefix_list_id"`
	OriginSecret          string            `json:"origin_secret"`
	IngestDomain          string            `json:"ingest_domain"`
	IngestZoneID          string            `json:"ingest_zone_id"`
	DashboardInstanceType string            `json:"dashboard_instance_type"`
	DBInstanceClass       string            `json:"db_instance_class"`
	DBAllocatedStorage    int               `json:"db_allocated_storage"`
	DBDeletionProtection  bool              `json:"db_deletion_protection"`
	IngestMemoryMB        int               `json:"ingest_memory_mb"`
	ProcessorMemoryMB     int               `json:"processor_memory_mb"`
	ProcessorBatchSize    int               `json:"processor_batch_size"`
	IngestThrottleRate    int               `json:"ingest_throttle_rate"`
	IngestThrottleBurst   int               `json:"ingest_throttle_burst"`
	IngestRateLimit       int               `json:"ingest_rate_limit"`
	MaxLiveStreams        int               `json:"max_live_streams"`
	MaxLiveStreamsPerUser int               `json:"max_live_streams_per_user"`
	MinUploadRate         int               `json:"min_upload_rate"`
	MaxConnsPerClient     int               `json:"max_conns_per_client"`
	LogRetentionDays      int               `json:"log_retention_days"`
	RetentionDays         int               `json:"retention_days"`
	RetentionPerIssue     int               `json:"retention_per_issue"`
	IngestZipPath         string            `json:"ingest_zip_path"`
	ProcessorZipPath      string            `json:"processor_zip_path"`
	DashboardBinaryPath   string            `json:"dashboard_binary_path"`
	DashboardUserData     string            `json:"dashboard_user_data"`
	Tags                  map[string]string `json:"tags"`
}

// VarsFileName is the variables file Terraform loads automatically.
const VarsFileName = "terraform.tfvars.json"

// ArtifactsDir is the workspace folder of the runtime binaries. The
// variables name them relative to the workspace (Terraform's working
// directory), so the file is the same on every machine and a teammate's
// destroy can reuse it.
const ArtifactsDir = "artifacts"

// BuildVars maps a plan and the resolved values to the root module's
// variables.
func BuildVars(p plan.Plan, r Resolved, userData string) Vars {
	tags := map[string]string{}
	for k, v := range p.Tags {
		tags[k] = v
	}
	return Vars{
		Name:                  p.Name,
		Region:                p.AWS.Region,
		AvailabilityZones:     append([]string(nil), r.AvailabilityZones...),
		AccountID:             r.AccountID,
		AMIID:                 r.AMIID,
		AdminEmail:            p.AdminEmail,
		AlertEmail:            p.AlertEmail,
		Domain:                p.Domain,
		PlainHTTP:             p.PlainHTTP,
		CloudFrontPrefixList:  r.CloudFrontPrefixList,
		OriginSecret:          r.OriginSecret,
		IngestDomain:          p.IngestDomain,
		IngestZoneID:          p.IngestZoneID,
		DashboardInstanceType: p.Sizes.DashboardInstanceType,
		DBInstanceClass:       p.Sizes.DBInstanceClass,
		DBAllocatedStorage:    p.Sizes.DBAllocatedStorageGB,
		DBDeletionProtection:  p.DBDeletionProtection,
		IngestMemoryMB:        p.Sizes.IngestMemoryMB,
		ProcessorMemoryMB:     p.Sizes.ProcessorMemoryMB,
		ProcessorBatchSize:    p.Sizes.ProcessorBatchSize,
		IngestThrottleRate:    p.Sizes.IngestThrottleRate,
		IngestThrottleBurst:   p.Sizes.IngestThrottleBurst,
		IngestRateLimit:       p.EffectiveIngestRateLimit(),
		MaxLiveStreams:        p.EffectiveMaxLiveStreams(),
		MaxLiveStreamsPerUser: p.EffectiveMaxLiveStreamsPerUser(),
		MinUploadRate:         p.EffectiveMinUploadRate(),
		MaxConnsPerClient:     p.EffectiveMaxConnsPerClient(),
		LogRetentionDays:      p.LogRetentionDays,
		RetentionDays:         p.Retention.Days,
		RetentionPerIssue:     p.Retention.PerIssue,
		IngestZipPath:         filepath.ToSlash(filepath.Join(ArtifactsDir, runtimebin.IngestZip)),
		ProcessorZipPath:      filepath.ToSlash(filepath.Join(ArtifactsDir, runtimebin.ProcessorZip)),
		DashboardBinaryPath:   filepath.ToSlash(filepath.Join(ArtifactsDir, runtimebin.DashboardBinary)),
		DashboardUserData:     userData,
		Tags:                  tags,
	}
}

// Marshal encodes v as the variables file.
func (v Vars) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ParseVars decodes a variables file written by Marshal.
func ParseVars(b []byte) (Vars, error) {
	var v Vars
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return Vars{}, fmt.Errorf("parse %s: %w", VarsFileName, err)
	}
	return v, nil
}

// WriteVars writes the variables file into the workspace. It is private
// to the owner: it names the account and people's addresses.
func WriteVars(dir string, v Vars) error {
	b, err := v.Marshal()
	if err != nil {
		return err
	}
	p := filepath.Join(dir, VarsFileName)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		return err
	}
	return os.Chmod(p, 0o600)
}

// VarNames lists the variable names Vars writes, sorted.
func VarNames() []string { return jsonNames(reflect.TypeOf(Vars{})) }

// Outputs are the root module outputs the CLI reads after apply (and
// `flytrap status` from the state). Each field's JSON name is an output of
// terraform/outputs.tf; the contract test checks them.
type Outputs struct {
	DashboardURL        string `json:"dashboard_url"`
	IngestURL           string `json:"ingest_url"`
	BucketName          string `json:"bucket_name"`
	QueueURL            string `json:"queue_url"`
	DLQURL              string `json:"dlq_url"`
	AlertsTopicARN      string `json:"alerts_topic_arn"`
	DBEndpoint          string `json:"db_endpoint"`
	DashboardInstanceID string `json:"dashboard_instance_id"`
}

// OutputNames lists the outputs the CLI reads, sorted.
func OutputNames() []string { return jsonNames(reflect.TypeOf(Outputs{})) }

// OutputsFromTerraform converts `terraform output` values.
func OutputsFromTerraform(m map[string]tf.Output) (Outputs, error) {
	s := make(map[string]string, len(m))
	for k, v := range m {
		s[k] = v.String()
	}
	return outputsFromStrings(s)
}

// OutputsFromState converts the outputs recorded in a state file.
func OutputsFromState(m map[string]awsx.StateOutput) (Outputs, error) {
	s := make(map[string]string, len(m))
	for k, v := range m {
		s[k] = v.String()
	}
	return outputsFromStrings(s)
}

func outputsFromStrings(m map[string]string) (Outputs, error) {
	var o Outputs
	rv := reflect.ValueOf(&o).Elem()
	var missing []string
	for i := 0; i < rv.NumField(); i++ {
		name := jsonName(rv.Type().Field(i))
		v, ok := m[name]
		if !ok || v == "" {
			missing = append(missing, name)
			continue
		}
		rv.Field(i).SetString(v)
	}
	if len(missing) > 0 {
		return o, fmt.Errorf("terraform outputs missing: %s (is the state from an older or newer flytrap?)", strings.Join(missing, ", "))
	}
	return o, nil
}

func jsonNames(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		out = append(out, jsonName(t.Field(i)))
	}
	sort.Strings(out)
	return out
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return name
}

// DSN is the shape of a project's DSN on this deployment: the dashboard
// shows each project's key and ID.
func (o Outputs) DSN() string {
	host := strings.TrimPrefix(strings.TrimPrefix(o.IngestURL, "https://"), "http://")
	scheme := "https"
	if strings.HasPrefix(o.IngestURL, "http://") {
		scheme = "http"
	}
	return scheme + "://<public key>@" + strings.TrimSuffix(host, "/") + "/<project id>"
}

// Backend is the S3 backend configuration passed to `terraform init`.
type Backend struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	Region string `json:"region"`
}

// InitConfig returns the -backend-config pairs: state encrypted at rest,
// and locked with a lock file next to it (use_lockfile, Terraform ≥ 1.10),
// so two teammates cannot apply at once and no DynamoDB table is needed.
func (b Backend) InitConfig() []string {
	return []string{
		"bucket=" + b.Bucket,
		"key=" + b.Key,
		"region=" + b.Region,
		"encrypt=true",
		"use_lockfile=true",
	}
}
