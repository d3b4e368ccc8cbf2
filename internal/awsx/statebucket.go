package awsx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/getflytrap/flytrap/internal/awsbase"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// StateBucketAPI is the part of the S3 client `flytrap deploy`, `destroy`
// and `status` use: the Terraform state bucket and small objects in it and
// in the deployment's own bucket.
type StateBucketAPI interface {
	HeadBucket(ctx context.Context, in *s3.HeadBucketInput, optFns ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
	CreateBucket(ctx context.Context, in *s3.CreateBucketInput, optFns ...func(*s3.Options)) (*s3.CreateBucketOutput, error)
	PutBucketVersioning(ctx context.Context, in *s3.PutBucketVersioningInput, optFns ...func(*s3.Options)) (*s3.PutBucketVersioningOutput, error)
	PutBucketEncryption(ctx context.Context, in *s3.PutBucketEncryptionInput, optFns ...func(*s3.Options)) (*s3.PutBucketEncryptionOutput, error)
	PutPublicAccessBlock(ctx context.Context, in *s3.PutPublicAccessBlockInput, optFns ...func(*s3.Options)) (*s3.PutPublicAccessBlockOutput, error)
	PutBucketPolicy(ctx context.Context, in *s3.PutBucketPolicyInput, optFns ...func(*s3.Options)) (*s3.PutBucketPolicyOutput, error)
	GetBucketPolicy(ctx context.Context, in *s3.GetBucketPolicyInput, optFns ...func(*s3.Options)) (*s3.GetBucketPolicyOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
}

// StateBucketName is the bucket holding the Terraform state of every
// deployment of one account in one region. The account ID makes the
// global name unique; the region keeps the state next to what it
// describes.
func StateBucketName(account, region string) string {
	return "flytrap-tfstate-" + account + "-" + region
}

// StateKey is the object key of a deployment's Terraform state.
func StateKey(name string) string { return name + "/terraform.tfstate" }

// InputsKey is the object key where deploy keeps the Terraform variables of
// the last apply, so a teammate's destroy or status sees the same inputs.
func InputsKey(name string) string { return name + "/terraform.tfvars.json" }

// ErrBucketNotOwned: a bucket of that name exists but belongs to another
// account (S3 bucket names are global, and this one is predictable).
var ErrBucketNotOwned = errors.New("the bucket exists but is not owned by this account")

// StateBucket is an S3 bucket of the account the credentials belong to.
// Every call passes ExpectedBucketOwner, so a bucket someone else created
// under the predictable name is refused rather than written to.
type StateBucket struct {
	Client  StateBucketAPI
	Name    string
	Region  string
	Account string
}

// Ensure creates the bucket when it does not exist (versioned, encrypted
// with SSE-S3, public access blocked, TLS-only policy) and reports whether
// it did. An existing bucket gets versioning, encryption and the public
// access block re-applied (idempotent, and it repairs a bucket someone
// changed by hand); its policy is left alone.
func (b StateBucket) Ensure(ctx context.Context) (created bool, err error) {
	exists, err := b.Exists(ctx)
	if err != nil {
		return false, err
	}
	if !exists {
		in := &s3.CreateBucketInput{Bucket: aws.String(b.Name), ObjectOwnership: types.ObjectOwnershipBucketOwnerEnforced}
		// us-east-1 is the default location and refuses being named.
		if b.Region != "us-east-1" {
			in.CreateBucketConfiguration = &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraint(b.Region)}
		}
		_, err := b.Client.CreateBucket(ctx, in)
		var owned *types.BucketAlreadyOwnedByYou
		var taken *types.BucketAlreadyExists
		switch {
		case errors.As(err, &owned):
			// A teammate created it a moment ago: reuse.
		case errors.As(err, &taken):
			return false, fmt.Errorf("create bucket %s: %w", b.Name, ErrBucketNotOwned)
		case err != nil:
			return false, fmt.Errorf("create bucket %s: %w", b.Name, ClassifyCredentialError(err))
		default:
			created = true
		}
	}
	owner := b.owner()
	if _, err := b.Client.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(b.Name),
		ExpectedBucketOwner:     owner,
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled},
	}); err != nil {
		return created, fmt.Errorf("enable versioning on %s: %w", b.Name, err)
	}
	if _, err := b.Client.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{
		Bucket:              aws.String(b.Name),
		ExpectedBucketOwner: owner,
		ServerSideEncryptionConfiguration: &types.ServerSideEncryptionConfiguration{Rules: []types.ServerSideEncryptionRule{{
			ApplyServerSideEncryptionByDefault: &types.ServerSideEncryptionByDefault{SSEAlgorithm: types.ServerSideEncryptionAes256},
			BucketKeyEnabled:                   aws.Bool(true),
		}}},
	}); err != nil {
		return created, fmt.Errorf("enable encryption on %s: %w", b.Name, err)
	}
	if _, err := b.Client.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{
		Bucket:              aws.String(b.Name),
		ExpectedBucketOwner: owner,
		PublicAccessBlockConfiguration: &types.PublicAccessBlockConfiguration{
			BlockPublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true),
			IgnorePublicAcls: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true),
		},
	}); err != nil {
		return created, fmt.Errorf("block public access on %s: %w", b.Name, err)
	}
	// The policy of an existing bucket is left alone, unless it has none
	// (a run that stopped between creating the bucket and this).
	needPolicy := created
	if !created {
		_, err := b.Client.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(b.Name), ExpectedBucketOwner: owner})
		var apiErr smithy.APIError
		switch {
		case errors.As(err, &apiErr) && apiErr.ErrorCode() == "NoSuchBucketPolicy":
			needPolicy = true
		case err != nil:
			return created, fmt.Errorf("read the policy of %s: %w", b.Name, ClassifyCredentialError(err))
		}
	}
	if needPolicy {
		if _, err := b.Client.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{
			Bucket:              aws.String(b.Name),
			ExpectedBucketOwner: owner,
			Policy:              aws.String(TLSOnlyPolicy(b.Name, b.Region)),
		}); err != nil {
			return created, fmt.Errorf("set the TLS-only policy on %s: %w", b.Name, err)
		}
	}
	return created, nil
}

// TLSOnlyPolicy is a bucket policy refusing every request not made over
// TLS, with ARNs in the partition of the bucket's region.
func TLSOnlyPolicy(bucket, region string) string {
	arn := "arn:" + Partition(region) + ":s3:::" + bucket
	return `{"Version":"2012-10-17","Statement":[{"Sid":"DenyInsecureTransport","Effect":"Deny","Principal":"*","Action":"s3:*",` +
		`"Resource":["` + arn + `","` + arn + `/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`
}

// Partition is the ARN partition of a region: aws-cn for China, aws-us-gov
// for GovCloud, aws-iso and aws-iso-b for the isolated regions, else aws.
// (A policy naming arn:aws: in another partition is MalformedPolicy.)
func Partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	case strings.HasPrefix(region, "us-isob-"):
		return "aws-iso-b"
	case strings.HasPrefix(region, "us-iso-"):
		return "aws-iso"
	case strings.HasPrefix(region, "eu-isoe-"):
		return "aws-iso-e"
	case strings.HasPrefix(region, "us-isof-"):
		return "aws-iso-f"
	}
	return "aws"
}

// Exists reports whether the bucket exists and belongs to the account.
func (b StateBucket) Exists(ctx context.Context) (bool, error) {
	_, err := b.Client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(b.Name), ExpectedBucketOwner: b.owner()})
	switch status := httpStatus(err); {
	case err == nil:
		return true, nil
	case status == http.StatusNotFound:
		return false, nil
	case status == http.StatusForbidden:
		// Either another account owns the name, or these credentials may
		// not read it; S3 does not say which.
		return false, fmt.Errorf("bucket %s: %w (or these credentials lack s3:ListBucket on it)", b.Name, ErrBucketNotOwned)
	default:
		return false, fmt.Errorf("check bucket %s: %w", b.Name, ClassifyCredentialError(err))
	}
}

// Get reads an object; a missing bucket or key wraps awsbase.ErrObjectNotFound.
func (b StateBucket) Get(ctx context.Context, key string) ([]byte, error) {
	out, err := b.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.Name), Key: aws.String(key), ExpectedBucketOwner: b.owner()})
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("s3://%s/%s: %w", b.Name, key, awsbase.ErrObjectNotFound)
		}
		return nil, fmt.Errorf("read s3://%s/%s: %w", b.Name, key, ClassifyCredentialError(err))
	}
	defer out.Body.Close()
	// The objects read here are small (state, tfvars, a password); the
	// limit guards against reading something unexpected into memory.
	const limit = 64 << 20
	body, err := io.ReadAll(io.LimitReader(out.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read s3://%s/%s: %w", b.Name, key, err)
	}
	if len(body) > limit {
		return nil, fmt.Errorf("s3://%s/%s is larger than %d MiB", b.Name, key, limit>>20)
	}
	return body, nil
}

// Put writes an object (server-side encrypted like the rest of the bucket).
func (b StateBucket) Put(ctx context.Context, key string, body []byte, contentType string) error {
	_, err := b.Client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:              aws.String(b.Name),
		Key:                 aws.String(key),
		Body:                strings.NewReader(string(body)),
		ContentLength:       aws.Int64(int64(len(body))),
		ContentType:         aws.String(contentType),
		ExpectedBucketOwner: b.owner(),
	})
	if err != nil {
		return fmt.Errorf("write s3://%s/%s: %w", b.Name, key, ClassifyCredentialError(err))
	}
	return nil
}

// Delete removes an object (a delete marker in a versioned bucket).
func (b StateBucket) Delete(ctx context.Context, key string) error {
	_, err := b.Client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b.Name), Key: aws.String(key), ExpectedBucketOwner: b.owner()})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("delete s3://%s/%s: %w", b.Name, key, ClassifyCredentialError(err))
	}
	return nil
}

func (b StateBucket) owner() *string {
	if b.Account == "" {
		return nil
	}
	return aws.String(b.Account)
}

func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func isNotFound(err error) bool {
	var nsk *types.NoSuchKey
	var nsb *types.NoSuchBucket
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nsb) || errors.As(err, &nf) {
		return true
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && (apiErr.ErrorCode() == "NoSuchKey" || apiErr.ErrorCode() == "NoSuchBucket" || apiErr.ErrorCode() == "NotFound") {
		return true
	}
	return httpStatus(err) == http.StatusNotFound
}
