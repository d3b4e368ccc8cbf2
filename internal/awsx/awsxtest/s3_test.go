package awsxtest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/getflytrap/flytrap/internal/awsx/awsxtest"
)

func TestS3ConditionalGet(t *testing.T) {
	ctx := context.Background()
	c := awsxtest.S3Client(awsxtest.NewS3(t))
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	put, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Body: strings.NewReader("v1")})
	if err != nil {
		t.Fatal(err)
	}
	etag := aws.ToString(put.ETag)
	tests := []struct {
		name, ifNoneMatch string
		wantBody          string // "" means 304
	}{
		{"no condition", "", "v1"},
		{"same etag", etag, ""},
		{"same etag unquoted", strings.Trim(etag, `"`), ""},
		{"one of a list", `"other", ` + etag, ""},
		{"wildcard", "*", ""},
		{"other etag", `"0123"`, "v1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")}
			if tt.ifNoneMatch != "" {
				in.IfNoneMatch = aws.String(tt.ifNoneMatch)
			}
			out, err := c.GetObject(ctx, in)
			if tt.wantBody == "" {
				var re *smithyhttp.ResponseError
				if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusNotModified {
					t.Fatalf("err = %v, want 304 Not Modified", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(out.Body)
			if string(b) != tt.wantBody {
				t.Errorf("body = %q, want %q", b, tt.wantBody)
			}
		})
	}
}
