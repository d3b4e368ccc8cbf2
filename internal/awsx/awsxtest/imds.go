package awsxtest

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// IMDSFake is an EC2 instance metadata service that, like an instance
// launched with http_tokens = "required", answers metadata only with an
// IMDSv2 session token obtained by PUT /latest/api/token.
type IMDSFake struct {
	srv *httptest.Server

	mu       sync.Mutex
	metadata map[string]string // path below /latest/meta-data/ → value
	tokens   map[string]bool
}

// NewIMDS starts the fake with the given metadata, keyed by path below
// /latest/meta-data/ (e.g. "placement/region",
// "tags/instance/FlytrapBucket"). It stops when the test ends. Point the
// SDK at it with imds.Options.Endpoint or AWS_EC2_METADATA_SERVICE_ENDPOINT.
func NewIMDS(t testing.TB, metadata map[string]string) *IMDSFake {
	t.Helper()
	f := &IMDSFake{metadata: map[string]string{}, tokens: map[string]bool{}}
	for k, v := range metadata {
		f.metadata[k] = v
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// URL is the endpoint.
func (f *IMDSFake) URL() string { return f.srv.URL }

func (f *IMDSFake) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/latest/api/token" {
		ttl := r.Header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds")
		if r.Method != http.MethodPut || ttl == "" {
			http.Error(w, "token requests are PUT with a TTL header", http.StatusBadRequest)
			return
		}
		b := make([]byte, 16)
		rand.Read(b)
		tok := hex.EncodeToString(b)
		f.mu.Lock()
		f.tokens[tok] = true
		f.mu.Unlock()
		w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", ttl)
		w.Write([]byte(tok))
		return
	}
	f.mu.Lock()
	ok := f.tokens[r.Header.Get("X-Aws-Ec2-Metadata-Token")]
	path, isMD := strings.CutPrefix(r.URL.Path, "/latest/meta-data/")
	v, found := f.metadata[path]
	f.mu.Unlock()
	switch {
	case !ok:
		// IMDSv1 is disabled on Flytrap instances.
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
	case r.Method != http.MethodGet || !isMD || !found:
		http.NotFound(w, r)
	default:
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte(v))
	}
}
