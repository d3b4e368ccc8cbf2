package awsx_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/getflytrap/flytrap/internal/awsbase"
	"github.com/getflytrap/flytrap/internal/awsx"
)

// testdata/config.json is shaped like the object the dashboard module
// writes: jsonencode of a map(string), keys sorted, db_port a string.
func TestParseRuntimeConfigTerraformShape(t *testing.T) {
	b, err := os.ReadFile("testdata/config.json")
	if err != nil {
		t.Fatal(err)
	}
	c, err := awsx.ParseRuntimeConfig(b)
	if err != nil {
		t.Fatalf("ParseRuntimeConfig: %v", err)
	}
	want := awsx.RuntimeConfig{
		Name:                  "flytrap-prod",
		Region:                "eu-west-1",
		Domain:                "errors.example.com",
		AdminEmail:            "ops@example.com",
		Bucket:                "flytrap-prod-123456789012-eu-west-1",
		KeySetKey:             "keyset/ingest-keys.json",
		SourceMapsPrefix:      "sourcemaps/",
		QueueURL:              "https://sqs.eu-west-1.amazonaws.com/123456789012/flytrap-prod-events",
		DLQURL:                "https://sqs.eu-west-1.amazonaws.com/123456789012/flytrap-prod-events-dlq",
		AlertsTopicARN:        "arn:aws:sns:eu-west-1:123456789012:flytrap-prod-alerts",
		IngestURL:             "https://abc123defg.execute-api.eu-west-1.amazonaws.com",
		DBHost:                "flytrap-prod-db.abcdefghijkl.eu-west-1.rds.amazonaws.com",
		DBPort:                5432,
		DBName:                "flytrap",
		DBMasterUsername:      "flytrap",
		DBMasterSecretARN:     "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d-AbCdEf",
		DBProcessorUser:       "flytrap_processor",
		DashboardBinaryKey:    "deploy/dashboard/flytrap-dashboard",
		DashboardBinarySHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		RetentionDays:         90,
		RetentionPerIssue:     10000,
		IngestRateLimit:       6000,
		MaxLiveStreams:        500,
		MaxLiveStreamsPerUser: 16,
		MinUploadRate:         1024,
		MaxConnsPerClient:     128,
	}
	if c != want {
		t.Errorf("parsed\n%+v\nwant\n%+v", c, want)
	}

	// Every key Terraform writes maps to a field: re-encoding the struct
	// gives back the same key set.
	var in, out map[string]any
	json.Unmarshal(b, &in)
	re, _ := json.Marshal(c)
	json.Unmarshal(re, &out)
	for k := range in {
		if _, ok := out[k]; !ok {
			t.Errorf("config.json key %q has no RuntimeConfig field", k)
		}
	}
}

func TestRuntimeConfigValidate(t *testing.T) {
	base, err := os.ReadFile("testdata/config.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		edit    func(m map[string]any)
		wantErr string
	}{
		{"complete", func(map[string]any) {}, ""},
		{"no domain is fine", func(m map[string]any) { m["domain"] = "" }, ""},
		{"unknown key is fine", func(m map[string]any) { m["added_later"] = "x" }, ""},
		{"missing secret", func(m map[string]any) { delete(m, "db_master_secret_arn") }, "db_master_secret_arn"},
		{"two missing", func(m map[string]any) { m["bucket"] = ""; m["region"] = " " }, "region, bucket"},
		{"port not a number", func(m map[string]any) { m["db_port"] = "fivefour" }, "db_port"},
		{"port as JSON number", func(m map[string]any) { m["db_port"] = 5432 }, ""},
		{"port out of range", func(m map[string]any) { m["db_port"] = "70000" }, "not a TCP port"},
		{"no retention (an older module) keeps events", func(m map[string]any) { delete(m, "retention_days"); delete(m, "retention_per_issue") }, ""},
		{"retention not a number", func(m map[string]any) { m["retention_days"] = "ninety" }, "retention_days"},
		{"negative retention", func(m map[string]any) { m["retention_per_issue"] = "-1" }, "cannot be negative"},
		{"no ingest rate limit (an older module) is not known", func(m map[string]any) { delete(m, "ingest_rate_limit") }, ""},
		{"no ingest rate limit", func(m map[string]any) { m["ingest_rate_limit"] = "-1" }, ""},
		{"ingest rate limit below -1", func(m map[string]any) { m["ingest_rate_limit"] = "-2" }, "ingest_rate_limit -2"},
		{"ingest rate limit not a number", func(m map[string]any) { m["ingest_rate_limit"] = "fast" }, "ingest_rate_limit"},
		{"no live-stream limits (an older module) are the defaults", func(m map[string]any) { delete(m, "max_live_streams"); delete(m, "max_live_streams_per_user") }, ""},
		{"live-stream limit not a number", func(m map[string]any) { m["max_live_streams_per_user"] = "many" }, "max_live_streams_per_user"},
		{"negative live-stream limit", func(m map[string]any) { m["max_live_streams"] = "-1" }, "max_live_streams -1"},
		{"no upload rate (an older module) is the default", func(m map[string]any) { delete(m, "min_upload_rate") }, ""},
		{"negative upload rate", func(m map[string]any) { m["min_upload_rate"] = "-1" }, "min_upload_rate -1"},
		{"no connections per client (an older module) is the default", func(m map[string]any) { delete(m, "max_conns_per_client") }, ""},
		{"negative connections per client", func(m map[string]any) { m["max_conns_per_client"] = "-1" }, "max_conns_per_client -1"},
		{"behind CloudFront", func(m map[string]any) {
			m["domain"], m["public_url"], m["origin_secret"] = "", "https://d111111abcdef8.cloudfront.net", strings.Repeat("k", 43)
		}, ""},
		{"CloudFront without its secret", func(m map[string]any) { m["domain"], m["public_url"] = "", "https://d111111abcdef8.cloudfront.net" }, "origin_secret of at least 32"},
		{"CloudFront with a short secret", func(m map[string]any) {
			m["public_url"], m["origin_secret"] = "https://d111111abcdef8.cloudfront.net", "short"
		}, "origin_secret of at least 32"},
		{"CloudFront over http", func(m map[string]any) {
			m["public_url"], m["origin_secret"] = "http://d111111abcdef8.cloudfront.net", strings.Repeat("k", 43)
		}, "https:// URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m map[string]any
			json.Unmarshal(base, &m)
			tt.edit(m)
			b, _ := json.Marshal(m)
			_, err := awsx.ParseRuntimeConfig(b)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func TestLoadRuntimeConfig(t *testing.T) {
	ctx := context.Background()
	client := newBucket(t, "flytrap-cfg")
	if _, err := awsx.LoadRuntimeConfig(ctx, client, "flytrap-cfg", "deploy/dashboard/config.json"); !errors.Is(err, awsbase.ErrObjectNotFound) {
		t.Fatalf("missing config: %v, want ErrObjectNotFound", err)
	}
	b, _ := os.ReadFile("testdata/config.json")
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("flytrap-cfg"), Key: aws.String("deploy/dashboard/config.json"),
		Body: strings.NewReader(string(b))}); err != nil {
		t.Fatal(err)
	}
	c, err := awsx.LoadRuntimeConfig(ctx, client, "flytrap-cfg", "deploy/dashboard/config.json")
	if err != nil || c.DBProcessorUser != "flytrap_processor" {
		t.Fatalf("LoadRuntimeConfig = %+v, %v", c, err)
	}
}
