package dashboard

import (
	"flag"
	"fmt"
	"html"
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
	golden(t, f, issuePath(f.issue), "issue.golden.html")
}

// TestGoldenIssueListPage is the issue list's second page of one issue
// each, with its pager: the first and previous pages, and no next one.
func TestGoldenIssueListPage(t *testing.T) {
	f := newFixture(t)
	list := fmt.Sprintf("/projects/%d/issues?limit=1", f.web.ID)
	next := nextRE.FindStringSubmatch(f.get(roleMember, list).Body)
	if next == nil {
		t.Fatal("the first page has no next page link")
	}
	golden(t, f, html.UnescapeString(next[1]), "issues.golden.html")
}

// golden compares the page at path with testdata/name.
func golden(t *testing.T, f *fixture, path, name string) {
	t.Helper()
	r := f.get(roleMember, path)
	wantStatus(t, r, 200)
	got := csrfValueRE.ReplaceAllString(r.Body, `${1}CSRF"`)
	file := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from %s; rerun with -update if intended.\n%s", path, file, firstDiff(string(want), got))
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
