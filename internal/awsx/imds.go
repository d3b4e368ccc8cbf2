package awsx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
)

// Instance tags Terraform puts on the dashboard instance, readable from the
// instance metadata (instance_metadata_tags = "enabled").
const (
	TagBucket    = "FlytrapBucket"
	TagBinaryKey = "FlytrapBinaryKey"
	TagConfigKey = "FlytrapConfigKey"
)

// MetadataGetter is the part of the IMDS client the dashboard uses;
// *imds.Client implements it (with IMDSv2 session tokens, which the
// instance requires).
type MetadataGetter interface {
	GetMetadata(ctx context.Context, in *imds.GetMetadataInput, optFns ...func(*imds.Options)) (*imds.GetMetadataOutput, error)
}

// Instance is what the dashboard learns about itself from the instance
// metadata: where it runs and where its binary and config.json are.
type Instance struct {
	Region    string
	Bucket    string
	BinaryKey string
	ConfigKey string
}

// ReadInstance reads the region and the Flytrap* tags. A missing tag is an
// error naming it: the instance was not created by Flytrap's Terraform, or
// tags in metadata are off.
func ReadInstance(ctx context.Context, c MetadataGetter) (Instance, error) {
	var in Instance
	for _, f := range []struct {
		path string
		dst  *string
	}{
		{"placement/region", &in.Region},
		{"tags/instance/" + TagBucket, &in.Bucket},
		{"tags/instance/" + TagBinaryKey, &in.BinaryKey},
		{"tags/instance/" + TagConfigKey, &in.ConfigKey},
	} {
		v, err := getMetadata(ctx, c, f.path)
		if err != nil {
			return Instance{}, err
		}
		*f.dst = v
	}
	return in, nil
}

func getMetadata(ctx context.Context, c MetadataGetter, path string) (string, error) {
	out, err := c.GetMetadata(ctx, &imds.GetMetadataInput{Path: path})
	if err != nil {
		var status interface{ HTTPStatusCode() int }
		if errors.As(err, &status) && status.HTTPStatusCode() == 404 {
			return "", fmt.Errorf("instance metadata %s is missing (are instance tags in metadata enabled?)", path)
		}
		return "", fmt.Errorf("instance metadata %s: %w", path, err)
	}
	defer out.Content.Close()
	b, err := io.ReadAll(io.LimitReader(out.Content, 64<<10))
	if err != nil {
		return "", fmt.Errorf("instance metadata %s: %w", path, err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("instance metadata %s is empty", path)
	}
	return v, nil
}
