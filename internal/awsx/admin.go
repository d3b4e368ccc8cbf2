package awsx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/getflytrap/flytrap/internal/awsbase"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// InitialAdminKey is where the dashboard leaves the first admin's generated
// password, in the deployment's bucket. The object is private and
// encrypted like the bucket, readable by the instance role and the
// deployer's credentials only; `flytrap deploy` prints it once and deletes
// it (TakeInitialAdmin). Nothing else keeps the password: the database
// holds only its hash, and it never appears in a log.
const InitialAdminKey = "deploy/initial-admin-password"

// InitialAdmin is the JSON at InitialAdminKey.
type InitialAdmin struct {
	Email     string    `json:"email"`
	Password  string    `json:"password"`
	CreatedAt time.Time `json:"created_at"`
}

// S3GetDeleter is what TakeInitialAdmin needs; *s3.Client implements it.
type S3GetDeleter interface {
	awsbase.S3Getter
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
}

// PutInitialAdmin writes a to s3://bucket/InitialAdminKey. The dashboard
// calls it before it creates the admin user, so a crash in between leaves
// a password that is simply replaced on the next start, never a user whose
// password nobody knows.
func PutInitialAdmin(ctx context.Context, c awsbase.S3Putter, bucket string, a InitialAdmin) error {
	if a.CreatedAt.IsZero() {
		a.CreatedAt = time.Now().UTC()
	}
	if err := putPrivateJSON(ctx, c, bucket, InitialAdminKey, a); err != nil {
		return fmt.Errorf("store the initial admin password in s3://%s/%s: %w", bucket, InitialAdminKey, err)
	}
	return nil
}

// TakeInitialAdmin reads the initial admin password and deletes the object
// version it read, so a versioned bucket keeps no copy. ok is false when
// there is none: the password was taken already, or the dashboard has not
// finished its first start.
func TakeInitialAdmin(ctx context.Context, c S3GetDeleter, bucket string) (a InitialAdmin, ok bool, err error) {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(InitialAdminKey)})
	if err != nil {
		var noKey *types.NoSuchKey
		if errors.As(err, &noKey) {
			return InitialAdmin{}, false, nil
		}
		return InitialAdmin{}, false, fmt.Errorf("read s3://%s/%s: %w", bucket, InitialAdminKey, err)
	}
	var buf bytes.Buffer
	_, err = buf.ReadFrom(out.Body)
	out.Body.Close()
	if err != nil {
		return InitialAdmin{}, false, fmt.Errorf("read s3://%s/%s: %w", bucket, InitialAdminKey, err)
	}
	if err := json.Unmarshal(buf.Bytes(), &a); err != nil || a.Password == "" {
		return InitialAdmin{}, false, fmt.Errorf("s3://%s/%s is not an initial admin record", bucket, InitialAdminKey)
	}
	del := &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(InitialAdminKey)}
	if v := aws.ToString(out.VersionId); v != "" && v != "null" {
		del.VersionId = out.VersionId
	}
	if _, err := c.DeleteObject(ctx, del); err != nil {
		return a, true, fmt.Errorf("delete s3://%s/%s after reading it: %w", bucket, InitialAdminKey, err)
	}
	return a, true, nil
}
