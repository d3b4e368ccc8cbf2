package awsx_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"

	"github.com/getflytrap/flytrap/internal/awsx"
	"github.com/getflytrap/flytrap/internal/awsx/awsxtest"
)

func TestReadInstance(t *testing.T) {
	full := map[string]string{
		"placement/region":               "eu-west-1",
		"tags/instance/FlytrapBucket":    "flytrap-prod-123456789012-eu-west-1",
		"tags/instance/FlytrapBinaryKey": "deploy/dashboard/flytrap-dashboard",
		"tags/instance/FlytrapConfigKey": "deploy/dashboard/config.json",
	}
	tests := []struct {
		name    string
		drop    string
		wantErr string
	}{
		{name: "all tags"},
		{name: "tags not in metadata", drop: "tags/instance/FlytrapConfigKey", wantErr: "tags/instance/FlytrapConfigKey is missing"},
		{name: "no region", drop: "placement/region", wantErr: "placement/region"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := map[string]string{}
			for k, v := range full {
				if k != tt.drop {
					md[k] = v
				}
			}
			fake := awsxtest.NewIMDS(t, md)
			client := imds.New(imds.Options{Endpoint: fake.URL()})
			got, err := awsx.ReadInstance(context.Background(), client)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			want := awsx.Instance{Region: "eu-west-1", Bucket: full["tags/instance/FlytrapBucket"],
				BinaryKey: full["tags/instance/FlytrapBinaryKey"], ConfigKey: full["tags/instance/FlytrapConfigKey"]}
			if err != nil || got != want {
				t.Fatalf("ReadInstance = %+v, %v; want %+v", got, err, want)
			}
		})
	}
}
