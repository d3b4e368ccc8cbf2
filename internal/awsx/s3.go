package awsx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// S3Getter is the read side of S3 that the key set loader and the runtime
// config loader use; *s3.Client implements it.
type S3Getter interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// S3Putter is the write side of S3 that the key set publisher and the
// initial-admin hand-over use; *s3.Client implements it.
type S3Putter interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// putPrivateJSON writes v as a JSON object that is encrypted at rest and
// never cached: the key set and the initial admin password both are.
func putPrivateJSON(ctx context.Context, c S3Putter, bucket, key string, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = c.PutObject(ctx, &s3.PutObjectInput{
		Bucket:               aws.String(bucket),
		Key:                  aws.String(key),
		Body:                 bytes.NewReader(body),
		ContentLength:        aws.Int64(int64(len(body))),
		ContentType:          aws.String("application/json"),
		CacheControl:         aws.String("no-store"),
		ServerSideEncryption: types.ServerSideEncryptionAes256,
	})
	return err
}

// ErrObjectNotFound is wrapped by the errors of loaders whose object does
// not exist (yet), so callers can tell "not published" from "unreachable".
var ErrObjectNotFound = errors.New("S3 object not found")

// errNotModified is what a conditional GET answers when the object still
// has the ETag the caller holds.
var errNotModified = errors.New("S3 object not modified")

// NewS3Client returns an S3 client for cfg, honoring AWS_ENDPOINT_URL_S3.
// With any endpoint override (that one, AWS_ENDPOINT_URL or
// cfg.BaseEndpoint) it uses path-style addressing: real S3 never needs an
// override in a Flytrap deployment, and every S3 fake or emulator it would
// point at serves buckets by path, not by host name.
func NewS3Client(cfg aws.Config, optFns ...func(*s3.Options)) *s3.Client {
	e := serviceEndpoint("S3")
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

// getObject downloads a whole object of at most limit bytes. With etag set
// it is a conditional GET that returns errNotModified when the object is
// unchanged. A missing object or bucket is ErrObjectNotFound.
func getObject(ctx context.Context, c S3Getter, bucket, key, etag string, limit int64) (body []byte, newETag string, err error) {
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
			return nil, etag, errNotModified
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
	body, _, err := getObject(ctx, c, bucket, key, "", limit)
	return body, err
}
