package dashboard

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// csrfValueRE matches the per-database CSRF tokens, which differ per run.
var csrfValueRE = regexp.MustCompile(`(name="csrf-token" content="|name="csrf_token" value=")[A-Za-z0-9_-]+"`)

// TestGoldenIssuePage compares the rendered issue page with
// testdata/issue.golden.html, so markup changes show up in review as a
// diff. Run `go test ./internal/dashboard -run Golden -update` after an
// intended change.
func TestGoldenIssuePage(t *testing.T) {
	f := newFixture(t)
	r := f.get(roleMember, issuePath(f.issue))
	wantStatus(t, r, 200)
	got := csrfValueRE.ReplaceAllString(r.Body, `${1}CSRF"`)
	path := filepath.Join("testdata", "issue.golden.html")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("issue page differs from %s; rerun with -update if intended.\n%s", path, firstDiff(string(want), got))
	}
}

// firstDiff shows where two texts first differ.
func firstDiff(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	lo := max(0, i-200)
	return "want: ..." + a[lo:min(len(a), i+200)] + "\n got: ..." + b[lo:min(len(b), i+200)]
}
