package artifactapi_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/testutil/pgtest"
)

// TestReleaseVersionInvalidText: a release version with a NUL byte or
// invalid UTF-8 in the path is a release that does not exist, a 404 as on
// SQLite, on every release endpoint, where PostgreSQL's refusal of the
// text was a 500. An upload, which creates the release, refuses such a
// version with a 400.
func TestReleaseVersionInvalidText(t *testing.T) {
	for _, tt := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "a.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.URL(t) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnvOn(t, tt.dsn(t), nil)
			if code := e.do("POST", "/api/0/organizations/x/releases/", "application/json", strings.NewReader(`{"version":"1.0","projects":["web-shop"]}`), nil); code != 201 {
				t.Fatalf("releases new: %d", code)
			}
			for _, v := range []string{"a%00b", "a%FFb", "1.0%00"} {
				for _, r := range []struct {
					method, path, ct, body string
					want                   int
				}{
					{"GET", "/api/0/organizations/x/releases/" + v + "/", "", "", 404},
					{"PUT", "/api/0/organizations/x/releases/" + v + "/", "application/json", `{"dateReleased":"2026-12-06T00:00:00Z"}`, 404},
					{"DELETE", "/api/0/organizations/x/releases/" + v + "/", "", "", 404},
					{"GET", "/api/0/organizations/x/releases/" + v + "/deploys/", "", "", 404},
					{"POST", "/api/0/organizations/x/releases/" + v + "/deploys/", "application/json", `{"environment":"prod"}`, 404},
					{"GET", "/api/0/organizations/x/releases/" + v + "/commits/", "", "", 404},
					{"GET", "/api/0/organizations/x/releases/" + v + "/previous-with-commits/", "", "", 404},
					{"POST", "/api/0/organizations/x/releases/" + v + "/assemble/", "application/json", `{"checksum":"` + strings.Repeat("a", 40) + `","chunks":[]}`, 404},
					{"DELETE", "/api/0/projects/x/web-shop/releases/" + v + "/", "", "", 404},
					{"POST", "/api/0/projects/x/web-shop/releases/" + v + "/files/", "multipart/form-data; boundary=x", "--x--\r\n", 400},
				} {
					var out struct{ Detail string }
					if code := e.do(r.method, r.path, r.ct, strings.NewReader(r.body), &out); code != r.want {
						t.Errorf("%s %s: %d %q, want %d", r.method, r.path, code, out.Detail, r.want)
					}
				}
			}
		})
	}
}
