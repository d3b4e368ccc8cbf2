package awsx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/getflytrap/flytrap/internal/awsbase"
)

// KeySetVersion is the format version PublishKeySet writes. A loader
// refuses a newer one instead of misreading it: the dashboard and the
// ingest Lambda are upgraded by the same deploy, but not atomically.
const KeySetVersion = 1

// maxKeySetBytes bounds a key set download. A key takes about 50 bytes, so
// this leaves room for hundreds of thousands of keys while keeping a
// corrupt or foreign object from exhausting a 256 MB Lambda.
const maxKeySetBytes = 32 << 20

// KeySet is what the dashboard publishes for the ingest Lambda, which has no
// database connection: every active public key with its project, and the
// salt for hashing client IPs (a per-installation secret kept in the
// database's settings).
type KeySet struct {
	// Version is the format version; PublishKeySet sets it.
	Version int `json:"version"`
	// Keys maps each active public key to its project ID.
	Keys map[string]int64 `json:"keys"`
	// RateLimits maps each project with an ingest rate limit of its own
	// to it, in events per minute, or -1 for none; projects at the
	// ingest function's default are left out. It came after version 1
	// without changing the version: an older function ignores it and
	// applies its default to every project, and a set without it, from
	// an older dashboard, means every project is at the default.
	RateLimits map[int64]int `json:"rate_limits,omitempty"`
	// IPSalt is ingest.Config.IPSalt.
	IPSalt string `json:"ip_salt"`
	// UpdatedAt is when the dashboard built this set.
	UpdatedAt time.Time `json:"updated_at"`
}

// PublishKeySet writes ks as JSON to s3://bucket/key. The object is
// private like the whole bucket; it is encrypted with SSE-S3 explicitly so
// the salt is protected even where a bucket's default encryption was
// changed.
//
// The salt is required: the ingest function accepts no event until it has
// one, so that no event is stored with an unhashed or dropped IP by
// accident.
func PublishKeySet(ctx context.Context, c awsbase.S3Putter, bucket, key string, ks KeySet) error {
	if ks.IPSalt == "" {
		return errors.New("publish key set: the IP salt is empty")
	}
	ks.Version = KeySetVersion
	if ks.Keys == nil {
		ks.Keys = map[string]int64{}
	}
	if ks.UpdatedAt.IsZero() {
		ks.UpdatedAt = time.Now().UTC()
	}
	if err := putPrivateJSON(ctx, c, bucket, key, ks); err != nil {
		return fmt.Errorf("publish key set to s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}

// ParseKeySet decodes a published key set and checks its version.
func ParseKeySet(b []byte) (KeySet, error) {
	var ks KeySet
	if err := json.Unmarshal(b, &ks); err != nil {
		return KeySet{}, fmt.Errorf("key set is not valid JSON: %w", err)
	}
	switch {
	case ks.Version == 0:
		return KeySet{}, errors.New("key set has no version; it was not written by PublishKeySet")
	case ks.Version > KeySetVersion:
		return KeySet{}, fmt.Errorf("key set format %d is newer than this binary's %d; deploy the new ingest function", ks.Version, KeySetVersion)
	}
	if ks.Keys == nil {
		ks.Keys = map[string]int64{}
	}
	return ks, nil
}

// KeySetLoader reads the key set that PublishKeySet wrote. It remembers the
// object's ETag and asks S3 for it conditionally, so a reload of an
// unchanged set (the common case, every TTL in every warm Lambda) costs a
// 304 with no body. It is safe for concurrent use.
type KeySetLoader struct {
	client      awsbase.S3Getter
	bucket, key string

	mu   sync.Mutex
	etag string
	cur  *KeySet // the last set loaded, nil before the first
}

// NewKeySetLoader returns a loader for s3://bucket/key.
func NewKeySetLoader(c awsbase.S3Getter, bucket, key string) *KeySetLoader {
	return &KeySetLoader{client: c, bucket: bucket, key: key}
}

// Load returns the current key set, downloading it only when it changed
// since the last Load. A missing object is an error wrapping
// awsbase.ErrObjectNotFound; after any error the previous set stays available
// through Current.
func (l *KeySetLoader) Load(ctx context.Context) (KeySet, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	etag := ""
	if l.cur != nil {
		etag = l.etag
	}
	body, newETag, err := awsbase.GetObjectIfChanged(ctx, l.client, l.bucket, l.key, etag, maxKeySetBytes)
	if errors.Is(err, awsbase.ErrNotModified) {
		return *l.cur, nil
	}
	if errors.Is(err, awsbase.ErrObjectNotFound) {
		return KeySet{}, fmt.Errorf("key set %w (the dashboard publishes it when it starts)", err)
	}
	if err != nil {
		return KeySet{}, err
	}
	ks, err := ParseKeySet(body)
	if err != nil {
		return KeySet{}, fmt.Errorf("s3://%s/%s: %w", l.bucket, l.key, err)
	}
	l.cur, l.etag = &ks, newETag
	return ks, nil
}

// Current returns the last key set loaded without a request; ok is false
// before the first successful Load.
func (l *KeySetLoader) Current() (ks KeySet, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cur == nil {
		return KeySet{}, false
	}
	return *l.cur, true
}
