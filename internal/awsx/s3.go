package awsx

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/getflytrap/flytrap/internal/awsbase"
)

// putPrivateJSON writes v as a JSON object that is encrypted at rest and
// never cached: the key set and the initial admin password both are.
func putPrivateJSON(ctx context.Context, c awsbase.S3Putter, bucket, key string, v any) error {
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
