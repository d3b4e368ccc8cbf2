package artifact

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/getflytrap/flytrap/internal/awsbase"
)

// Blobs keeps the bytes of uploaded chunks and artifact files under keys
// made of lower-case hex digits and slashes ("files/<sha256>"): files in
// the data directory locally (Dir), the private bucket on AWS (S3).
type Blobs interface {
	// Put stores body under key, replacing what was there.
	Put(ctx context.Context, key string, body []byte) error
	// Get returns the blob under key; one larger than limit is an error,
	// a missing one wraps ErrBlobNotFound.
	Get(ctx context.Context, key string, limit int64) ([]byte, error)
	// Exists reports whether a blob is stored under key.
	Exists(ctx context.Context, key string) (bool, error)
	// Delete removes the blob under key; a missing one is no error.
	Delete(ctx context.Context, key string) error
	// List calls fn with each key under prefix and when it was stored.
	List(ctx context.Context, prefix string, fn func(key string, stored time.Time) error) error
}

// ErrBlobNotFound is wrapped by Blobs.Get for a key nothing is stored under.
var ErrBlobNotFound = errors.New("blob not found")

// validKey keeps keys to what Store creates, so a key can never name a
// file outside a Dir or an unexpected S3 object.
func validKey(key string) error {
	if key == "" || strings.HasPrefix(key, "/") || strings.HasSuffix(key, "/") || strings.Contains(key, "//") ||
		strings.Trim(key, "abcdefghijklmnopqrstuvwxyz0123456789/") != "" {
		return fmt.Errorf("artifact: invalid blob key %q", key)
	}
	return nil
}

// Dir keeps blobs as files under a directory, readable by their owner
// only (they hold the team's source code).
type Dir struct{ Root string }

func (d Dir) path(key string) (string, error) {
	if err := validKey(key); err != nil {
		return "", err
	}
	return filepath.Join(d.Root, filepath.FromSlash(key)), nil
}

// Put writes body to a temporary file and renames it into place, so a
// reader never sees half a blob.
func (d Dir) Put(_ context.Context, key string, body []byte) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("artifact: store blob: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return fmt.Errorf("artifact: store blob: %w", err)
	}
	_, err = f.Write(body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), p)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("artifact: store blob: %w", err)
	}
	return nil
}

// Get reads the blob under key.
func (d Dir) Get(_ context.Context, key string, limit int64) ([]byte, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("artifact: blob %s: %w", key, ErrBlobNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("artifact: read blob: %w", err)
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(limitReader(f, limit)); err != nil {
		return nil, fmt.Errorf("artifact: read blob %s: %w", key, err)
	}
	return buf.Bytes(), nil
}

// Exists stats the blob's file.
func (d Dir) Exists(_ context.Context, key string) (bool, error) {
	p, err := d.path(key)
	if err != nil {
		return false, err
	}
	_, err = os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// Delete removes the blob's file.
func (d Dir) Delete(_ context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("artifact: delete blob: %w", err)
	}
	return nil
}

// List walks the files under prefix, skipping temporary ones.
func (d Dir) List(_ context.Context, prefix string, fn func(string, time.Time) error) error {
	root := filepath.Join(d.Root, filepath.FromSlash(prefix))
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil || e.IsDir() || strings.HasPrefix(e.Name(), ".tmp-") {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(d.Root, p)
		if err != nil {
			return err
		}
		return fn(filepath.ToSlash(rel), info.ModTime())
	})
	if err != nil {
		return fmt.Errorf("artifact: list blobs: %w", err)
	}
	return nil
}

// S3API is the part of S3 that S3 blobs use; *s3.Client implements it.
type S3API interface {
	awsbase.S3Getter
	awsbase.S3Putter
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
	s3.ListObjectsV2APIClient
}

// S3 keeps blobs as objects under Prefix in the private source-map bucket
// Terraform creates (SOURCEMAPS_BUCKET, SOURCEMAPS_PREFIX), encrypted at
// rest.
type S3 struct {
	Client S3API
	Bucket string
	// Prefix ends in "/" ("sourcemaps/").
	Prefix string
}

func (b S3) key(key string) (string, error) {
	if err := validKey(key); err != nil {
		return "", err
	}
	return b.Prefix + key, nil
}

// Put uploads body, encrypted at rest.
func (b S3) Put(ctx context.Context, key string, body []byte) error {
	k, err := b.key(key)
	if err != nil {
		return err
	}
	_, err = b.Client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:               aws.String(b.Bucket),
		Key:                  aws.String(k),
		Body:                 bytes.NewReader(body),
		ContentLength:        aws.Int64(int64(len(body))),
		ServerSideEncryption: types.ServerSideEncryptionAes256,
	})
	if err != nil {
		return fmt.Errorf("artifact: put s3://%s/%s: %w", b.Bucket, k, err)
	}
	return nil
}

// Get downloads the object.
func (b S3) Get(ctx context.Context, key string, limit int64) ([]byte, error) {
	k, err := b.key(key)
	if err != nil {
		return nil, err
	}
	body, err := awsbase.GetObject(ctx, b.Client, b.Bucket, k, limit)
	if errors.Is(err, awsbase.ErrObjectNotFound) {
		return nil, fmt.Errorf("artifact: blob %s: %w", key, ErrBlobNotFound)
	}
	return body, err
}

// Exists asks for the object's metadata.
func (b S3) Exists(ctx context.Context, key string) (bool, error) {
	k, err := b.key(key)
	if err != nil {
		return false, err
	}
	_, err = b.Client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b.Bucket), Key: aws.String(k)})
	var nf *types.NotFound
	var nk *types.NoSuchKey
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &nf), errors.As(err, &nk):
		return false, nil
	}
	return false, fmt.Errorf("artifact: head s3://%s/%s: %w", b.Bucket, k, err)
}

// Delete deletes the object.
func (b S3) Delete(ctx context.Context, key string) error {
	k, err := b.key(key)
	if err != nil {
		return err
	}
	if _, err := b.Client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b.Bucket), Key: aws.String(k)}); err != nil {
		return fmt.Errorf("artifact: delete s3://%s/%s: %w", b.Bucket, k, err)
	}
	return nil
}

// List pages through the objects under Prefix+prefix.
func (b S3) List(ctx context.Context, prefix string, fn func(string, time.Time) error) error {
	p := s3.NewListObjectsV2Paginator(b.Client, &s3.ListObjectsV2Input{Bucket: aws.String(b.Bucket), Prefix: aws.String(b.Prefix + prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("artifact: list s3://%s/%s: %w", b.Bucket, b.Prefix+prefix, err)
		}
		for _, o := range page.Contents {
			if err := fn(strings.TrimPrefix(aws.ToString(o.Key), b.Prefix), aws.ToTime(o.LastModified)); err != nil {
				return err
			}
		}
	}
	return nil
}
