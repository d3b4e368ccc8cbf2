package awsbase_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/getflytrap/flytrap/internal/awsbase"
)

func TestAWSConfig(t *testing.T) {
	tests := []struct {
		name         string
		region       string
		env          map[string]string
		wantRegion   string
		wantStatic   bool // static credentials rather than the instance role
		wantAttempts int
		wantEndpoint string
		wantErr      string
	}{
		{name: "lambda", env: map[string]string{"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "ASIA1", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t"},
			wantRegion: "eu-west-1", wantStatic: true},
		{name: "instance", region: "eu-central-1", env: map[string]string{"AWS_REGION": "us-east-1"}, wantRegion: "eu-central-1"},
		{name: "default region", env: map[string]string{"AWS_DEFAULT_REGION": "ap-south-1"}, wantRegion: "ap-south-1"},
		{name: "key without secret uses the role", env: map[string]string{"AWS_REGION": "r", "AWS_ACCESS_KEY_ID": "AKIA"}, wantRegion: "r"},
		{name: "overrides", env: map[string]string{"AWS_REGION": "r", "AWS_MAX_ATTEMPTS": "1", "AWS_ENDPOINT_URL": "http://127.0.0.1:9"},
			wantRegion: "r", wantAttempts: 1, wantEndpoint: "http://127.0.0.1:9"},
		{name: "no region", wantErr: "no region"},
		{name: "bad attempts", env: map[string]string{"AWS_REGION": "r", "AWS_MAX_ATTEMPTS": "many"}, wantErr: "AWS_MAX_ATTEMPTS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := awsbase.AWSConfig(tt.region, func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Region != tt.wantRegion || cfg.RetryMaxAttempts != tt.wantAttempts || aws.ToString(cfg.BaseEndpoint) != tt.wantEndpoint {
				t.Errorf("config: region %q attempts %d endpoint %q", cfg.Region, cfg.RetryMaxAttempts, aws.ToString(cfg.BaseEndpoint))
			}
			_, cached := cfg.Credentials.(*aws.CredentialsCache)
			if tt.wantStatic == cached {
				t.Errorf("credentials %T; want static: %v", cfg.Credentials, tt.wantStatic)
			}
			if tt.wantStatic {
				c, err := cfg.Credentials.Retrieve(context.Background())
				if err != nil || c.AccessKeyID != "ASIA1" || c.SessionToken != "t" {
					t.Errorf("credentials %+v, %v", c, err)
				}
			}
		})
	}
}
