package artifactapi_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/artifactapi"
	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/store"
)

// The bodies below are what sentry-cli 3.8 sends, captured from the
// binary against a server that logs requests (docs/sourcemaps.md#releases).
const (
	cliNew      = `{"version":"1.0","projects":["web-shop"],"dateStarted":"2026-12-06T13:53:26.706292689Z"}`
	cliNewFinal = `{"version":"1.1","projects":["web-shop"],"dateStarted":"2026-12-06T13:53:26.805641324Z","dateReleased":"2026-12-06T13:53:26.805642806Z"}`
	cliFinalize = `{"projects":["web-shop"],"dateReleased":"2026-12-06T13:53:26.885308634Z"}`
	cliRefs     = `{"refs":[{"repository":"owner/repo","commit":"def456","previousCommit":"abc123"}]}`
	cliCommits  = `{"commits":[{"patch_set":[{"path":"b","type":"A"}],"repository":"origin","author_name":"Bob","author_email":"bob@example.com","timestamp":"2026-12-06T13:53:33Z","message":"second\n","id":"001ee456a11a0900aeb48e0e0cfa0bc27549d3ed"},{"patch_set":[{"path":"a","type":"A"}],"repository":"origin","author_name":"Ann b","author_email":"ann@example.com","timestamp":"2026-12-06T13:53:33+02:00","message":"first <b>commit</b>\n","id":"4b08546bc7f08c7c554d239d6be8a92b76f5cc73"}]}`
	cliClear    = `{"refs":[]}`
	cliDeploy   = `{"environment":"production","name":null,"url":null,"dateStarted":null,"dateFinished":"2026-12-06T13:53:27.222215220Z"}`
	cliDeploy2  = `{"environment":"staging","name":"n1","url":"http://x","dateStarted":"2026-12-06T13:52:57.384528585Z","dateFinished":"2026-12-06T13:53:27.384528585Z"}`
)

func (e *env) json(method, path, body string, out any) int {
	e.t.Helper()
	return e.do(method, path, "application/json", strings.NewReader(body), out)
}

type releaseOut struct {
	Version      string     `json:"version"`
	DateReleased *time.Time `json:"dateReleased"`
	LastEvent    *time.Time `json:"lastEvent"`
	FirstEvent   *time.Time `json:"firstEvent"`
	NewGroups    int        `json:"newGroups"`
	CommitCount  int        `json:"commitCount"`
	DeployCount  int        `json:"deployCount"`
	LastDeploy   *deployOut `json:"lastDeploy"`
	Projects     []struct {
		Slug string `json:"slug"`
	} `json:"projects"`
}

type deployOut struct {
	ID           string     `json:"id"`
	Environment  string     `json:"environment"`
	Name         *string    `json:"name"`
	URL          *string    `json:"url"`
	DateStarted  *time.Time `json:"dateStarted"`
	DateFinished *time.Time `json:"dateFinished"`
}

func TestReleaseLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var rel releaseOut
	if code := e.json("POST", "/api/0/organizations/o/releases/", cliNew, &rel); code != 201 || rel.DateReleased != nil {
		t.Fatalf("releases new: %d %+v", code, rel)
	}
	// releases new --finalize
	if code := e.json("POST", "/api/0/organizations/o/releases/", cliNewFinal, &rel); code != 201 || rel.DateReleased == nil ||
		!rel.DateReleased.Equal(time.Date(2026, 12, 6, 13, 53, 26, 805000000, time.UTC)) {
		t.Errorf("releases new --finalize: %d %+v, want dateReleased", code, rel)
	}
	// releases finalize
	released := time.Date(2026, 12, 6, 13, 53, 26, 885000000, time.UTC)
	if code := e.json("PUT", "/api/0/organizations/o/releases/1.0/", cliFinalize, &rel); code != 200 || rel.DateReleased == nil || !rel.DateReleased.Equal(released) {
		t.Errorf("releases finalize: %d %+v, want dateReleased %v", code, rel, released)
	}

	// set-commits --commit: the repository list first, empty until one is
	// added; then the refs.
	var repos []map[string]any
	if code := e.json("GET", "/api/0/organizations/o/repos/?cursor=", "", &repos); code != 200 || len(repos) != 0 {
		t.Errorf("repos: %d %v, want an empty list", code, repos)
	}
	var detail map[string]string
	if code := e.json("PUT", "/api/0/organizations/o/releases/1.0/", cliRefs, &detail); code != 400 || !strings.Contains(detail["detail"], "owner/repo") {
		t.Errorf("refs to an unknown repository: %d %v, want 400 naming it", code, detail)
	}
	var repo map[string]any
	if code := e.json("POST", "/api/0/organizations/o/repos/", `{"name":"owner/repo","projects":["web-shop"]}`, &repo); code != 201 || repo["name"] != "owner/repo" {
		t.Errorf("add repository: %d %v", code, repo)
	}
	if code := e.json("GET", "/api/0/organizations/o/repos/?cursor=", "", &repos); code != 200 || len(repos) != 1 || repos[0]["name"] != "owner/repo" ||
		repos[0]["provider"].(map[string]any)["id"] == "" || repos[0]["status"] != "active" {
		t.Errorf("repos: %d %v", code, repos)
	}
	if code := e.json("PUT", "/api/0/organizations/o/releases/1.0/", cliRefs, &rel); code != 200 || rel.CommitCount != 1 {
		t.Errorf("set-commits --commit: %d %+v, want 1 commit", code, rel)
	}
	cs, err := e.db.ListReleaseCommits(ctx, store.System, e.proj.ID, "1.0")
	if err != nil || len(cs) != 1 || cs[0].ID != "def456" || cs[0].Repository != "owner/repo" {
		t.Errorf("commits after --commit = %+v, %v", cs, err)
	}
	// set-commits --local and --auto ask where the history starts: no
	// earlier release has commits.
	var prev map[string]any
	if code := e.json("GET", "/api/0/organizations/o/releases/1.0/previous-with-commits/", "", &prev); code != 200 || len(prev) != 0 {
		t.Errorf("previous-with-commits: %d %v, want {}", code, prev)
	}
	// Then they send the commits of the local tree.
	if code := e.json("PUT", "/api/0/organizations/o/releases/1.0/", cliCommits, &rel); code != 200 || rel.CommitCount != 2 {
		t.Errorf("set-commits --local: %d %+v, want 2 commits", code, rel)
	}
	cs, _ = e.db.ListReleaseCommits(ctx, store.System, e.proj.ID, "1.0")
	if len(cs) != 2 || cs[1].Message != "first <b>commit</b>\n" || cs[1].AuthorName != "Ann b" || cs[1].AuthorEmail != "ann@example.com" ||
		!cs[1].Timestamp.Equal(time.Date(2026, 12, 6, 11, 53, 33, 0, time.UTC)) || cs[0].Repository != "origin" {
		t.Errorf("commits after --local = %+v", cs)
	}
	var ids []map[string]any
	if code := e.json("GET", "/api/0/organizations/o/releases/1.0/commits/", "", &ids); code != 200 || len(ids) != 2 ||
		ids[0]["id"] != "001ee456a11a0900aeb48e0e0cfa0bc27549d3ed" || ids[1]["message"] != "first <b>commit</b>\n" {
		t.Errorf("releases info --show-commits: %d %v", code, ids)
	}

	// deploys new, twice, and deploys list.
	var dep deployOut
	if code := e.json("POST", "/api/0/organizations/o/releases/1.0/deploys/", cliDeploy, &dep); code != 201 || dep.Environment != "production" ||
		dep.Name != nil || dep.DateFinished == nil || dep.ID == "" {
		t.Errorf("deploys new: %d %+v", code, dep)
	}
	if code := e.json("POST", "/api/0/organizations/o/releases/1.0/deploys/", cliDeploy2, &dep); code != 201 || dep.Name == nil || *dep.Name != "n1" ||
		dep.URL == nil || *dep.URL != "http://x" || dep.DateStarted == nil {
		t.Errorf("deploys new -n -u -t: %d %+v", code, dep)
	}
	var deps []deployOut
	if code := e.json("GET", "/api/0/organizations/o/releases/1.0/deploys/", "", &deps); code != 200 || len(deps) != 2 ||
		deps[0].Environment != "staging" || deps[1].DateFinished == nil || deps[1].DateStarted != nil {
		t.Errorf("deploys list: %d %+v", code, deps)
	}

	// An issue first seen in 1.0 makes it a new group and its last event.
	at := time.Date(2026, 12, 6, 14, 0, 0, 0, time.UTC)
	if _, err := e.db.SaveEvent(ctx, store.SaveRequest{Fingerprint: "f", GroupingVersion: "test-1", Title: "boom",
		Event: &event.Event{EventID: strings.Repeat("a", 32), ProjectID: e.proj.ID, Source: event.SourceSentry, Level: "error",
			Release: "1.0", Timestamp: at, Received: at}}); err != nil {
		t.Fatal(err)
	}
	var list []releaseOut
	if code := e.json("GET", "/api/0/projects/o/web-shop/releases/", "", &list); code != 200 || len(list) != 2 {
		t.Fatalf("releases list: %d %+v", code, list)
	}
	for _, r := range list {
		if r.Version != "1.0" {
			continue
		}
		if r.DateReleased == nil || !r.DateReleased.Equal(released) || r.NewGroups != 1 || r.LastEvent == nil || !r.LastEvent.Equal(at) ||
			r.FirstEvent == nil || r.CommitCount != 2 || r.DeployCount != 2 || r.LastDeploy == nil || r.LastDeploy.Environment != "staging" {
			t.Errorf("releases list 1.0 = %+v", r)
		}
	}
	if code := e.json("GET", "/api/0/organizations/o/releases/1.0/", "", &rel); code != 200 || rel.NewGroups != 1 || rel.DeployCount != 2 {
		t.Errorf("releases info: %d %+v", code, rel)
	}

	// The next release's history starts at 1.0's newest commit.
	if _, err := e.db.CreateRelease(ctx, store.System, e.proj.ID, "2.0", time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if code := e.json("GET", "/api/0/organizations/o/releases/2.0/previous-with-commits/", "", &prev); code != 200 || prev["version"] != "1.0" ||
		prev["lastCommit"].(map[string]any)["id"] != "001ee456a11a0900aeb48e0e0cfa0bc27549d3ed" {
		t.Errorf("previous-with-commits of 2.0: %d %v, want 1.0's newest commit", code, prev)
	}

	// set-commits --clear
	if code := e.json("PUT", "/api/0/organizations/o/releases/1.0/", cliClear, &rel); code != 200 || rel.CommitCount != 0 {
		t.Errorf("set-commits --clear: %d %+v", code, rel)
	}
}

// Only members of the project read or write its releases, deploys,
// commits and repositories, and bad bodies are 400s with the reason.
func TestReleaseRefusals(t *testing.T) {
	e := newEnv(t)
	if code := e.json("POST", "/api/0/organizations/o/releases/", cliNew, nil); code != 201 {
		t.Fatal(code)
	}
	tooMany := `{"commits":[` + strings.Repeat(`{"id":"a","repository":"r","timestamp":"2026-01-01T00:00:00Z"},`, store.MaxReleaseCommits) +
		`{"id":"a","repository":"r","timestamp":"2026-01-01T00:00:00Z"}]}`
	tests := []struct {
		name, token, method, path, body string
		want                            int
		detail                          string
	}{
		{"outsider finalizes", e.outsider, "PUT", "/api/0/organizations/o/releases/1.0/", cliFinalize, 404, "not found"},
		{"outsider reads", e.outsider, "GET", "/api/0/organizations/o/releases/1.0/", "", 404, "not found"},
		{"outsider deploys", e.outsider, "POST", "/api/0/organizations/o/releases/1.0/deploys/", cliDeploy, 404, "not found"},
		{"outsider lists deploys", e.outsider, "GET", "/api/0/organizations/o/releases/1.0/deploys/", "", 404, "not found"},
		{"outsider lists commits", e.outsider, "GET", "/api/0/organizations/o/releases/1.0/commits/", "", 404, "not found"},
		{"outsider asks for the previous commit", e.outsider, "GET", "/api/0/organizations/o/releases/1.0/previous-with-commits/", "", 404, "not found"},
		{"outsider adds a repository", e.outsider, "POST", "/api/0/organizations/o/repos/", `{"name":"a/b","projects":["web-shop"]}`, 404, "not found"},
		{"read-only token deploys", e.readOnly, "POST", "/api/0/organizations/o/releases/1.0/deploys/", cliDeploy, 403, "read-only"},
		{"read-only token finalizes", e.readOnly, "PUT", "/api/0/organizations/o/releases/1.0/", cliFinalize, 403, "read-only"},
		{"deploy of no release", e.token, "POST", "/api/0/organizations/o/releases/9.9/deploys/", cliDeploy, 404, "9.9"},
		{"deploys of no release", e.token, "GET", "/api/0/organizations/o/releases/9.9/deploys/", "", 404, "9.9"},
		{"finalize no release", e.token, "PUT", "/api/0/organizations/o/releases/9.9/", cliFinalize, 404, "9.9"},
		{"deploy without environment", e.token, "POST", "/api/0/organizations/o/releases/1.0/deploys/", `{"name":"x"}`, 400, "environment"},
		{"deploy with a number for environment", e.token, "POST", "/api/0/organizations/o/releases/1.0/deploys/", `{"environment":1}`, 400, "environment"},
		{"deploy with a bad date", e.token, "POST", "/api/0/organizations/o/releases/1.0/deploys/", `{"environment":"p","dateFinished":"yesterday"}`, 400, "dateFinished"},
		{"deploy not JSON", e.token, "POST", "/api/0/organizations/o/releases/1.0/deploys/", `{`, 400, "request body"},
		{"deploy with data after its JSON", e.token, "POST", "/api/0/organizations/o/releases/1.0/deploys/", `{"environment":"p"} garbage`, 400, "after the JSON value"},
		{"finalize with a bad date", e.token, "PUT", "/api/0/organizations/o/releases/1.0/", `{"dateReleased":"soon"}`, 400, "dateReleased"},
		{"commits without an ID", e.token, "PUT", "/api/0/organizations/o/releases/1.0/", `{"commits":[{"repository":"r","timestamp":"2026-01-01T00:00:00Z"}]}`, 400, "commit ID"},
		{"too many commits", e.token, "PUT", "/api/0/organizations/o/releases/1.0/", tooMany, 400, "limit"},
		{"refs without a commit", e.token, "PUT", "/api/0/organizations/o/releases/1.0/", `{"refs":[{"repository":"owner/repo"}]}`, 400, "commit"},
		{"repository without a name", e.token, "POST", "/api/0/organizations/o/repos/", `{"projects":["web-shop"]}`, 400, "name"},
		{"repository without a project", e.token, "POST", "/api/0/organizations/o/repos/", `{"name":"a/b"}`, 400, "project"},
		// The detail sentry-cli prints is the reason alone, not the
		// store's chain of calls.
		{"a reserved version", e.token, "POST", "/api/0/organizations/o/releases/", `{"version":"latest","projects":["web-shop"]}`, 400, `="latest" is a reserved word in searches (the newest release), not a release name: give the release's version, e.g. shop@1.2.3`},
		{"an escape sequence in a deploy's name", e.token, "POST", "/api/0/organizations/o/releases/1.0/deploys/", `{"environment":"p","name":"x\u001b[2J"}`, 400, "=a deploy's name holds control characters"},
	}
	for _, tt := range tests {
		var out map[string]any
		code := e.doAs(tt.token, tt.method, tt.path, "application/json", strings.NewReader(tt.body), &out)
		d, _ := out["detail"].(string)
		if exact, ok := strings.CutPrefix(tt.detail, "="); ok && d != exact {
			t.Errorf("%s: detail %q, want %q", tt.name, d, exact)
		}
		if code != tt.want || !strings.Contains(d, strings.TrimPrefix(tt.detail, "=")) {
			t.Errorf("%s: %d %v, want %d with a detail containing %q", tt.name, code, out, tt.want, tt.detail)
		}
	}
}

// A release an older Flytrap stored with escape sequences in its name is
// left out of sentry-cli's lists, which print names to a terminal as
// they come.
func TestReleaseListsLeaveOutControlCharacters(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i, version := range []string{"r\x1b]52;c;cHduZWQ=\x07\x1b[2J", "shop@1.0.0"} {
		ev := &event.Event{EventID: fmt.Sprintf("%032x", i+1), ProjectID: e.proj.ID, Level: "error", Release: version,
			Message: "m", Timestamp: at, Received: at}
		if _, err := e.db.SaveEvent(ctx, store.SaveRequest{Event: ev, Fingerprint: "f", GroupingVersion: "test", Title: "m"}); err != nil {
			t.Fatal(err)
		}
	}
	var list []map[string]any
	if code := e.do("GET", "/api/0/organizations/any/releases/", "", nil, &list); code != 200 || len(list) != 1 || list[0]["version"] != "shop@1.0.0" {
		t.Errorf("releases list: %d %v, want shop@1.0.0 alone", code, list)
	}
}

// QA: a release of two projects, with a deploy in each, read
// deployCount 1 beside a deploys list of two.
func TestReleaseCountsMatchLists(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	other, err := e.db.CreateProject(ctx, "Other")
	if err != nil {
		t.Fatal(err)
	}
	if code := e.json("POST", "/api/0/organizations/o/releases/", `{"version":"cnt@1.0.0","projects":["web-shop","other"]}`, nil); code != 201 {
		t.Fatalf("releases new: %d", code)
	}
	for _, p := range []store.Project{e.proj, other} {
		d := store.Deploy{ProjectID: p.ID, Version: "cnt@1.0.0", Environment: p.Name}
		if _, err := e.db.CreateDeploy(ctx, store.System, d, time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
	}
	var deps []map[string]any
	if code := e.json("GET", "/api/0/organizations/o/releases/cnt@1.0.0/deploys/", "", &deps); code != 200 || len(deps) != 2 {
		t.Fatalf("deploys list: %d %v", code, deps)
	}
	var rel releaseOut
	if code := e.json("GET", "/api/0/organizations/o/releases/cnt@1.0.0/", "", &rel); code != 200 || rel.DeployCount != 2 {
		t.Errorf("releases info: %d deployCount %d, want 2 as listed", code, rel.DeployCount)
	}
}

// QA: sentry-cli deploys new for a release of two projects read
// deployCount 2 and listed the deploy twice when the clock moved on
// between the copies recorded in each project: without a dateFinished,
// each copy finished when it was written.
func TestDeployOfTwoProjectsCountedOnce(t *testing.T) {
	var mu sync.Mutex
	clock := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	e := newEnvWith(t, func(h *artifactapi.Handler) {
		h.SetClock(func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			clock = clock.Add(time.Second)
			return clock
		})
	})
	if _, err := e.db.CreateProject(context.Background(), "Other"); err != nil {
		t.Fatal(err)
	}
	if code := e.json("POST", "/api/0/organizations/o/releases/", `{"version":"two@1.0.0","projects":["web-shop","other"]}`, nil); code != 201 {
		t.Fatalf("releases new: %d", code)
	}
	for _, body := range []string{`{"environment":"production"}`, `{"environment":"staging","dateStarted":"2026-12-06T13:52:57Z"}`} {
		if code := e.json("POST", "/api/0/organizations/o/releases/two@1.0.0/deploys/", body, nil); code != 201 {
			t.Fatalf("deploys new %s: %d", body, code)
		}
	}
	var rel releaseOut
	if code := e.json("GET", "/api/0/organizations/o/releases/two@1.0.0/", "", &rel); code != 200 || rel.DeployCount != 2 {
		t.Errorf("releases info: %d deployCount %d, want 2", code, rel.DeployCount)
	}
	var deps []deployOut
	if code := e.json("GET", "/api/0/organizations/o/releases/two@1.0.0/deploys/", "", &deps); code != 200 || len(deps) != 2 {
		t.Errorf("deploys list: %d %d deploys, want 2", code, len(deps))
	}
}
