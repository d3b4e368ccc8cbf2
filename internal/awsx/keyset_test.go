package awsx_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/getflytrap/flytrap/internal/awsbase"
	"github.com/getflytrap/flytrap/internal/awsx"
	"github.com/getflytrap/flytrap/internal/awsx/awsxtest"
)

// newBucket starts a fake S3 with one bucket and returns a client for it.
func newBucket(t *testing.T, bucket string) *s3.Client {
	t.Helper()
	c := awsxtest.S3Client(awsxtest.NewS3(t))
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	return c
}

// countingGetter records whether each GetObject downloaded a body.
type countingGetter struct {
	awsbase.S3Getter
	mu                  sync.Mutex
	downloads, requests int
}

func (c *countingGetter) GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	out, err := c.S3Getter.GetObject(ctx, in, opts...)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests++
	if err == nil {
		c.downloads++
	}
	return out, err
}

func TestKeySetPublishLoad(t *testing.T) {
	ctx := context.Background()
	const bucket, key = "flytrap-test", "keyset/ingest-keys.json"
	client := newBucket(t, bucket)
	getter := &countingGetter{S3Getter: client}
	loader := awsx.NewKeySetLoader(getter, bucket, key)

	// Before the dashboard published anything.
	_, err := loader.Load(ctx)
	if !errors.Is(err, awsbase.ErrObjectNotFound) {
		t.Fatalf("Load of a missing object: %v, want ErrObjectNotFound", err)
	}
	if _, ok := loader.Current(); ok {
		t.Fatal("Current reports a set before any was loaded")
	}

	at := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	v1 := awsx.KeySet{Keys: map[string]int64{"pk-one": 1, "pk-two": 2}, IPSalt: "salt-1", UpdatedAt: at}
	if err := awsx.PublishKeySet(ctx, client, bucket, key, v1); err != nil {
		t.Fatalf("PublishKeySet: %v", err)
	}

	steps := []struct {
		name          string
		publish       *awsx.KeySet // published before loading, if set
		wantKeys      map[string]int64
		wantDownloads int // cumulative
	}{
		{"first load downloads", nil, v1.Keys, 1},
		{"unchanged set is not downloaded again", nil, v1.Keys, 1},
		{"still unchanged", nil, v1.Keys, 1},
		{"a new set is downloaded", &awsx.KeySet{Keys: map[string]int64{"pk-one": 1, "pk-three": 3}, IPSalt: "salt-1"}, map[string]int64{"pk-one": 1, "pk-three": 3}, 2},
		{"and then cached", nil, map[string]int64{"pk-one": 1, "pk-three": 3}, 2},
	}
	for _, st := range steps {
		if st.publish != nil {
			if err := awsx.PublishKeySet(ctx, client, bucket, key, *st.publish); err != nil {
				t.Fatalf("%s: PublishKeySet: %v", st.name, err)
			}
		}
		ks, err := loader.Load(ctx)
		if err != nil {
			t.Fatalf("%s: Load: %v", st.name, err)
		}
		if !maps.Equal(ks.Keys, st.wantKeys) {
			t.Errorf("%s: keys = %v, want %v", st.name, ks.Keys, st.wantKeys)
		}
		if getter.downloads != st.wantDownloads {
			t.Errorf("%s: %d downloads, want %d", st.name, getter.downloads, st.wantDownloads)
		}
	}
	if getter.requests != 1+len(steps) {
		t.Errorf("%d GetObject requests, want one per load (%d)", getter.requests, 1+len(steps))
	}
	ks, ok := loader.Current()
	if !ok || ks.IPSalt != "salt-1" || ks.Version != awsx.KeySetVersion || ks.UpdatedAt.IsZero() {
		t.Errorf("Current = %+v, %v", ks, ok)
	}

	// The object disappears: the error says so, and the last good set
	// stays available.
	if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
		t.Fatal(err)
	}
	if _, err := loader.Load(ctx); !errors.Is(err, awsbase.ErrObjectNotFound) {
		t.Errorf("Load after delete: %v, want ErrObjectNotFound", err)
	}
	if ks, ok := loader.Current(); !ok || len(ks.Keys) != 2 {
		t.Errorf("Current after a failed load = %+v, %v; want the last good set", ks, ok)
	}
}

func TestPublishKeySetNeedsSalt(t *testing.T) {
	client := newBucket(t, "salted")
	if err := awsx.PublishKeySet(context.Background(), client, "salted", "k", awsx.KeySet{Keys: map[string]int64{"a": 1}}); err == nil {
		t.Fatal("a key set without IP salt was published")
	}
}

func TestKeySetMissingBucket(t *testing.T) {
	client := newBucket(t, "exists")
	_, err := awsx.NewKeySetLoader(client, "does-not-exist", "k").Load(context.Background())
	if !errors.Is(err, awsbase.ErrObjectNotFound) {
		t.Fatalf("err = %v, want ErrObjectNotFound", err)
	}
}

func TestParseKeySet(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
		wantKeys          int
	}{
		{"current", `{"version":1,"keys":{"a":1},"ip_salt":"s","updated_at":"2026-01-01T00:00:00Z"}`, "", 1},
		{"no keys yet", `{"version":1,"keys":null,"ip_salt":"s"}`, "", 0},
		{"unknown fields ignored", `{"version":1,"keys":{},"future":true}`, "", 0},
		{"newer format", `{"version":2,"keys":{}}`, "newer than this binary", 0},
		{"no version", `{"keys":{"a":1}}`, "no version", 0},
		{"not JSON", `<Error/>`, "not valid JSON", 0},
		{"wrong type", `{"version":1,"keys":{"a":"1"}}`, "not valid JSON", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ks, err := awsx.ParseKeySet([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ks.Keys == nil || len(ks.Keys) != tt.wantKeys {
				t.Errorf("keys = %v, want %d (non-nil)", ks.Keys, tt.wantKeys)
			}
		})
	}
}

// TestKeySetRateLimits checks that projects' rate limits make the round
// trip through S3, that an ingest function as old as the format's version
// 1 still reads the keys of a set that has them, and that a set without
// them, from an older dashboard, loads with every project at the default.
func TestKeySetRateLimits(t *testing.T) {
	ctx := context.Background()
	const bucket = "limits"
	client := newBucket(t, bucket)
	keys := map[string]int64{"pk-one": 1, "pk-two": 2, "pk-three": 3}
	for _, tt := range []struct {
		name   string
		limits map[int64]int
	}{
		{"with limits", map[int64]int{1: 120, 3: -1}},
		{"without", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := awsx.PublishKeySet(ctx, client, bucket, tt.name, awsx.KeySet{Keys: keys, RateLimits: tt.limits, IPSalt: "s"}); err != nil {
				t.Fatalf("PublishKeySet: %v", err)
			}
			ks, err := awsx.NewKeySetLoader(client, bucket, tt.name).Load(ctx)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !maps.Equal(ks.Keys, keys) || !maps.Equal(ks.RateLimits, tt.limits) {
				t.Errorf("loaded keys %v, rate limits %v; want %v, %v", ks.Keys, ks.RateLimits, keys, tt.limits)
			}

			out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(tt.name)})
			if err != nil {
				t.Fatal(err)
			}
			defer out.Body.Close()
			// The reader of version 1 before rate limits: it refuses a
			// newer version and ignores fields it does not know.
			var old struct {
				Version int              `json:"version"`
				Keys    map[string]int64 `json:"keys"`
				IPSalt  string           `json:"ip_salt"`
			}
			if err := json.NewDecoder(out.Body).Decode(&old); err != nil {
				t.Fatal(err)
			}
			if old.Version != 1 || !maps.Equal(old.Keys, keys) || old.IPSalt != "s" {
				t.Errorf("an older ingest function reads %+v; want version 1 with the keys", old)
			}
		})
	}

	old, err := awsx.ParseKeySet([]byte(`{"version":1,"keys":{"pk-one":1},"ip_salt":"s","updated_at":"2026-01-01T00:00:00Z"}`))
	if err != nil || old.Keys["pk-one"] != 1 || old.RateLimits != nil {
		t.Errorf("ParseKeySet of a set from an older dashboard = %+v, %v; want its key and no rate limits", old, err)
	}
}

func TestKeySetLoaderRejectsForeignObject(t *testing.T) {
	ctx := context.Background()
	client := newBucket(t, "bkt")
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Body: strings.NewReader(`{"keys":{}}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := awsx.NewKeySetLoader(client, "bkt", "k").Load(ctx); err == nil || !strings.Contains(err.Error(), "s3://bkt/k") {
		t.Fatalf("err = %v, want one naming the object", err)
	}
}
