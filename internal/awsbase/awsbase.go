package awsbase

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// AWSConfig returns the SDK configuration of the runtime binaries. It
// deliberately does not use config.LoadDefaultConfig: shared config files,
// profiles, SSO and assume-role chains are never used on Lambda or the
// instance, and leaving that machinery out makes each binary about 1.5 MB
// smaller (faster Lambda cold starts). The credential providers are the
// SDK's own, the ones LoadDefaultConfig would pick there. What it reads
// from the environment:
//
//   - the region: region if not empty, else AWS_REGION (set by Lambda),
//     else AWS_DEFAULT_REGION;
//   - credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
//     AWS_SESSION_TOKEN when set (a Lambda function's role), else the
//     instance role through IMDSv2, refreshed before it expires;
//   - AWS_MAX_ATTEMPTS, and AWS_ENDPOINT_URL as every client's endpoint.
//
// Service-specific endpoints (AWS_ENDPOINT_URL_S3, _SQS, _SECRETS_MANAGER)
// are applied by NewS3Client here and by awsx.NewSQSClient and
// awsx.NewSecretsManagerClient.
// getenv is os.Getenv outside tests.
func AWSConfig(region string, getenv func(string) string) (aws.Config, error) {
	if region == "" {
		region = getenv("AWS_REGION")
	}
	if region == "" {
		region = getenv("AWS_DEFAULT_REGION")
	}
	if region == "" {
		return aws.Config{}, errors.New("AWS configuration: no region (set AWS_REGION)")
	}
	cfg := aws.Config{Region: region}
	if id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"); id != "" && secret != "" {
		cfg.Credentials = credentials.NewStaticCredentialsProvider(id, secret, getenv("AWS_SESSION_TOKEN"))
	} else {
		cfg.Credentials = aws.NewCredentialsCache(ec2rolecreds.New())
	}
	if v := getenv("AWS_MAX_ATTEMPTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return aws.Config{}, fmt.Errorf("AWS configuration: AWS_MAX_ATTEMPTS=%q is not a positive number", v)
		}
		cfg.RetryMaxAttempts = n
	}
	if v := getenv("AWS_ENDPOINT_URL"); v != "" {
		cfg.BaseEndpoint = aws.String(v)
	}
	return cfg, nil
}

// ServiceEndpoint is the AWS_ENDPOINT_URL_<SERVICE> override, or nil.
func ServiceEndpoint(envSuffix string) *string {
	if v := os.Getenv("AWS_ENDPOINT_URL_" + envSuffix); v != "" {
		return aws.String(v)
	}
	return nil
}

// S3Getter is the read side of S3 that the key set loader, the runtime
// config loader and the processor's source maps use; *s3.Client implements it.
type S3Getter interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// S3Putter is the write side of S3 that the key set publisher and the
// initial-admin hand-over use; *s3.Client implements it.
type S3Putter interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// ErrObjectNotFound is wrapped by the errors of loaders whose object does
// not exist (yet), so callers can tell "not published" from "unreachable".
var ErrObjectNotFound = errors.New("S3 object not found")

// ErrNotModified is what a conditional GET answers when the object still
// has the ETag the caller holds.
var ErrNotModified = errors.New("S3 object not modified")

// NewS3Client returns an S3 client for cfg, honoring AWS_ENDPOINT_URL_S3.
// With any endpoint override (that one, AWS_ENDPOINT_URL or
// cfg.BaseEndpoint) it uses path-style addressing: real S3 never needs an
// override in a Flytrap deployment, and every S3 fake or emulator it would
// point at serves buckets by path, not by host name.
func NewS3Client(cfg aws.Config, optFns ...func(*s3.Options)) *s3.Client {
	e := ServiceEndpoint("S3")
	custom := e != nil || cfg.BaseEndpoint != nil || os.Getenv("AWS_ENDPOINT_URL") != ""
	return s3.NewFromConfig(cfg, append([]func(*s3.Options){func(o *s3.Options) {
		if e != nil {
			o.BaseEndpoint = e
		}
		if custom {
			o.UsePathStyle = true
		}
	}}, optFns...)...)
}

// GetObjectIfChanged downloads a whole object of at most limit bytes.
// With etag set it is a conditional GET that returns ErrNotModified when
// the object is unchanged. A missing object or bucket is ErrObjectNotFound.
func GetObjectIfChanged(ctx context.Context, c S3Getter, bucket, key, etag string, limit int64) (body []byte, newETag string, err error) {
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if etag != "" {
		in.IfNoneMatch = aws.String(etag)
	}
	out, err := c.GetObject(ctx, in)
	if err != nil {
		var (
			noKey    *types.NoSuchKey
			noBucket *types.NoSuchBucket
			resp     *smithyhttp.ResponseError
		)
		switch {
		case errors.As(err, &noKey), errors.As(err, &noBucket):
			return nil, "", fmt.Errorf("s3://%s/%s: %w", bucket, key, ErrObjectNotFound)
		case errors.As(err, &resp) && resp.HTTPStatusCode() == http.StatusNotModified:
			return nil, etag, ErrNotModified
		case errors.As(err, &resp) && resp.HTTPStatusCode() == http.StatusNotFound:
			return nil, "", fmt.Errorf("s3://%s/%s: %w", bucket, key, ErrObjectNotFound)
		}
		return nil, "", fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	body, err = io.ReadAll(io.LimitReader(out.Body, limit+1))
	if err != nil {
		return nil, "", fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
	}
	if int64(len(body)) > limit {
		return nil, "", fmt.Errorf("s3://%s/%s is larger than %d bytes", bucket, key, limit)
	}
	return body, aws.ToString(out.ETag), nil
}

// GetObject downloads a whole object of at most limit bytes; a missing
// object or bucket is ErrObjectNotFound.
func GetObject(ctx context.Context, c S3Getter, bucket, key string, limit int64) ([]byte, error) {
	body, _, err := GetObjectIfChanged(ctx, c, bucket, key, "", limit)
	return body, err
}
