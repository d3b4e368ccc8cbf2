package awsxtest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// NewS3 starts an in-memory S3 server (gofakes3) that stops when the test
// ends and returns its endpoint. Clients must use path-style addressing
// (S3Client does). Buckets are created through the API, as on AWS.
//
// gofakes3 ignores If-None-Match on GET and HEAD; this server answers it
// like S3 does (304 Not Modified when an ETag matches), so conditional
// downloads can be tested.
func NewS3(t testing.TB) (endpoint string) {
	t.Helper()
	fake := gofakes3.New(s3mem.New(), gofakes3.WithLogger(gofakes3.DiscardLog()))
	srv := httptest.NewServer(conditionalGet(fake.Server()))
	t.Cleanup(srv.Close)
	return srv.URL
}

// conditionalGet implements If-None-Match for object reads in front of
// next: it asks next for the object's ETag with a HEAD first.
func conditionalGet(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inm := r.Header.Get("If-None-Match")
		if inm == "" || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
			next.ServeHTTP(w, r)
			return
		}
		head := r.Clone(r.Context())
		head.Method = http.MethodHead
		head.Header.Del("If-None-Match")
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, head)
		etag := rec.Header().Get("ETag")
		if rec.Code == http.StatusOK && etag != "" && etagMatches(inm, etag) {
			w.Header().Set("ETag", etag)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		r.Header.Del("If-None-Match")
		next.ServeHTTP(w, r)
	})
}

// etagMatches applies If-None-Match's weak comparison to a list of ETags.
func etagMatches(header, etag string) bool {
	norm := func(s string) string { return strings.Trim(strings.TrimPrefix(strings.TrimSpace(s), "W/"), `"`) }
	for _, c := range strings.Split(header, ",") {
		if strings.TrimSpace(c) == "*" || norm(c) == norm(etag) {
			return true
		}
	}
	return false
}
