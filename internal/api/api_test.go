package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/store"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

type fixture struct {
	srv         *httptest.Server
	adminToken  string
	memberToken string
	outsider    string // member of no project
	project     store.Project
	other       store.Project
	issueA      int64 // in project, environment production
	issueB      int64 // in project, environment staging
	otherIssue  int64 // in other project
	eventA      string
	otherEvent  string
}

func saveEvent(t *testing.T, db *store.DB, projectID int64, id, typ, msg, env string, tags ...event.Tag) store.SaveResult {
	t.Helper()
	ev := &event.Event{
		EventID: id, ProjectID: projectID, Source: event.SourceSentry, Timestamp: now.Add(-time.Hour), Received: now.Add(-time.Hour),
		Level: "error", Environment: env, Release: "app@1", Tags: tags,
		Exceptions: []event.Exception{{Type: typ, Value: msg, Frames: []event.Frame{{Filename: "app.js", Function: "run", Lineno: 3}}}},
	}
	res, err := db.SaveEvent(context.Background(), store.SaveRequest{
		Event: ev, Fingerprint: typ, GroupingVersion: "test", Title: ev.Title(), Culprit: ev.Culprit(), UserKey: "id:" + id[:4],
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "api.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{}
	admin, _ := db.CreateUser(ctx, "admin@example.com", "x", store.RoleAdmin)
	member, _ := db.CreateUser(ctx, "member@example.com", "x", store.RoleMember)
	outsider, _ := db.CreateUser(ctx, "outsider@example.com", "x", store.RoleMember)
	f.adminToken, _, _ = db.CreateAPIToken(ctx, admin.ID, "t")
	f.memberToken, _, _ = db.CreateAPIToken(ctx, member.ID, "t")
	f.outsider, _, _ = db.CreateAPIToken(ctx, outsider.ID, "t")
	if f.project, err = db.CreateProject(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	f.other, _ = db.CreateProject(ctx, "billing")
	if err := db.AddMember(ctx, f.project.ID, member.ID, store.RoleMember); err != nil {
		t.Fatal(err)
	}
	f.eventA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1"
	f.issueA = saveEvent(t, db, f.project.ID, f.eventA, "TypeError", "x is undefined", "production", event.Tag{Key: "browser", Value: "Firefox 120"}).IssueID
	saveEvent(t, db, f.project.ID, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2", "TypeError", "x is undefined", "production", event.Tag{Key: "browser", Value: "Chrome 130"})
	f.issueB = saveEvent(t, db, f.project.ID, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb1", "RangeError", "bad length", "staging").IssueID
	f.otherEvent = "ccccccccccccccccccccccccccccccc1"
	f.otherIssue = saveEvent(t, db, f.other.ID, f.otherEvent, "KeyError", "secret", "production").IssueID
	f.srv = httptest.NewServer(New(db, nil, func() time.Time { return now }))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) do(t *testing.T, token, method, path, body string) (int, http.Header, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, f.srv.URL+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 {
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("%s %s: Content-Type %q, body %s", method, path, ct, raw)
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
	return resp.StatusCode, resp.Header, out
}

func TestAuthorization(t *testing.T) {
	f := newFixture(t)
	issueA := fmt.Sprintf("/api/v1/issues/%d", f.issueA)
	other := fmt.Sprintf("/api/v1/issues/%d", f.otherIssue)
	tests := []struct {
		name, token, method, path string
		want                      int
	}{
		{"no token", "", "GET", "/api/v1/projects", 401},
		{"bad token", "flyt_nope", "GET", "/api/v1/projects", 401},
		{"admin lists", f.adminToken, "GET", "/api/v1/projects", 200},
		{"member reads own issue", f.memberToken, "GET", issueA, 200},
		{"member reads other project's issue", f.memberToken, "GET", other, 404},
		{"member lists other project's issues", f.memberToken, "GET", fmt.Sprintf("/api/v1/projects/%d/issues", f.other.ID), 404},
		{"member lists other issue's events", f.memberToken, "GET", other + "/events", 404},
		{"member reads other project's event", f.memberToken, "GET", "/api/v1/events/" + f.otherEvent, 404},
		{"member patches other project's issue", f.memberToken, "PATCH", other, 404},
		{"member deletes other project's issue", f.memberToken, "DELETE", other, 404},
		{"outsider reads issue", f.outsider, "GET", issueA, 404},
		{"admin reads other project", f.adminToken, "GET", other, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := ""
			if tt.method == "PATCH" {
				body = `{"status":"ignored"}`
			}
			code, hdr, out := f.do(t, tt.token, tt.method, tt.path, body)
			if code != tt.want {
				t.Fatalf("HTTP %d, want %d (%v)", code, tt.want, out)
			}
			if code >= 400 {
				e, _ := out["error"].(map[string]any)
				if e["code"] == nil || e["message"] == nil {
					t.Errorf("error body %v lacks code and message", out)
				}
			}
			if code == 401 && !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without WWW-Authenticate: Bearer")
			}
		})
	}
	// The outsider sees no projects at all; the member sees only theirs.
	_, _, out := f.do(t, f.outsider, "GET", "/api/v1/projects", "")
	if data := out["data"].([]any); len(data) != 0 {
		t.Errorf("outsider sees %d projects", len(data))
	}
	_, _, out = f.do(t, f.memberToken, "GET", "/api/v1/projects", "")
	if data := out["data"].([]any); len(data) != 1 || data[0].(map[string]any)["name"] != "web" {
		t.Errorf("member sees %v", data)
	}
}

func TestListIssuesFilters(t *testing.T) {
	f := newFixture(t)
	base := fmt.Sprintf("/api/v1/projects/%d/issues", f.project.ID)
	tests := []struct {
		query string
		want  []int64
	}{
		{"", []int64{f.issueA, f.issueB}},
		{"?environment=staging", []int64{f.issueB}},
		{"?query=environment:production", []int64{f.issueA}},
		{"?query=typeerror", []int64{f.issueA}},
		{"?query=browser:%22Firefox+120%22", []int64{f.issueA}},
		{"?query=browser:Safari", nil},
		{"?level=error&status=unresolved", []int64{f.issueA, f.issueB}},
		{"?status=resolved", nil},
		{"?sort=count&limit=1", []int64{f.issueA}},
		{"?since=30m", nil},
		{"?since=2h", []int64{f.issueA, f.issueB}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			code, _, out := f.do(t, f.memberToken, "GET", base+tt.query, "")
			if code != 200 {
				t.Fatalf("HTTP %d: %v", code, out)
			}
			var got []int64
			for _, it := range out["data"].([]any) {
				got = append(got, int64(it.(map[string]any)["id"].(float64)))
			}
			if fmt.Sprint(sorted(got)) != fmt.Sprint(sorted(tt.want)) {
				t.Errorf("ids = %v, want %v", got, tt.want)
			}
		})
	}
	for _, bad := range []string{"?status=open", "?level=loud", "?sort=title", "?limit=0", "?limit=101", "?since=yesterday", "?cursor=not-a-cursor"} {
		if code, _, out := f.do(t, f.memberToken, "GET", base+bad, ""); code != 400 {
			t.Errorf("%s: HTTP %d, want 400 (%v)", bad, code, out)
		}
	}
}

func sorted(s []int64) []int64 {
	out := append([]int64(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestPagination(t *testing.T) {
	f := newFixture(t)
	base := fmt.Sprintf("/api/v1/projects/%d/issues?limit=1", f.project.ID)
	seen := map[float64]bool{}
	cursor := ""
	for range 5 {
		_, _, out := f.do(t, f.memberToken, "GET", base+"&cursor="+cursor, "")
		for _, it := range out["data"].([]any) {
			seen[it.(map[string]any)["id"].(float64)] = true
		}
		cursor, _ = out["next_cursor"].(string)
		if cursor == "" {
			break
		}
	}
	if len(seen) != 2 || cursor != "" {
		t.Errorf("paged through %d issues, final cursor %q", len(seen), cursor)
	}
}

func TestIssueDetailAndEvents(t *testing.T) {
	f := newFixture(t)
	code, _, out := f.do(t, f.memberToken, "GET", fmt.Sprintf("/api/v1/issues/%d", f.issueA), "")
	if code != 200 {
		t.Fatalf("HTTP %d", code)
	}
	for _, k := range []string{"id", "project_id", "title", "culprit", "level", "status", "count", "user_count", "first_seen", "last_seen"} {
		if _, ok := out[k]; !ok {
			t.Errorf("issue lacks %q", k)
		}
	}
	if out["count"].(float64) != 2 || out["title"] != "TypeError: x is undefined" {
		t.Errorf("issue = %v", out)
	}
	latest := out["latest_event"].(map[string]any)
	frames := latest["event"].(map[string]any)["exceptions"].([]any)[0].(map[string]any)["frames"].([]any)
	if len(frames) != 1 {
		t.Errorf("latest event frames = %v", frames)
	}
	if len(out["hourly_counts"].([]any)) == 0 || len(out["tags"].([]any)) == 0 {
		t.Errorf("detail lacks hourly counts or tags: %v", out)
	}

	code, _, out = f.do(t, f.memberToken, "GET", fmt.Sprintf("/api/v1/issues/%d/events?limit=1", f.issueA), "")
	if code != 200 || len(out["data"].([]any)) != 1 || out["next_cursor"] == "" {
		t.Fatalf("events page: HTTP %d %v", code, out)
	}
	code, _, out = f.do(t, f.memberToken, "GET", "/api/v1/events/"+f.eventA, "")
	if code != 200 || out["issue_id"].(float64) != float64(f.issueA) || out["event"] == nil {
		t.Fatalf("event: HTTP %d %v", code, out)
	}
	// Dashed UUID form is accepted.
	if code, _, _ := f.do(t, f.memberToken, "GET", "/api/v1/events/aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaa1", ""); code != 200 {
		t.Errorf("dashed event id: HTTP %d", code)
	}
	for _, bad := range []string{"/api/v1/events/xyz", "/api/v1/issues/abc", "/api/v1/issues/-1/events"} {
		if code, _, _ := f.do(t, f.memberToken, "GET", bad, ""); code != 400 {
			t.Errorf("%s: HTTP %d, want 400", bad, code)
		}
	}
}

func TestUpdateAndDelete(t *testing.T) {
	f := newFixture(t)
	path := fmt.Sprintf("/api/v1/issues/%d", f.issueA)
	tests := []struct {
		body       string
		wantCode   int
		wantStatus string
	}{
		{`{"status":"resolved","resolved_in_release":"app@2"}`, 200, "resolved"},
		{`{"status":"ignored"}`, 200, "ignored"},
		{`{"status":"unresolved"}`, 200, "unresolved"},
		{`{"status":"closed"}`, 400, ""},
		{`{"status":"ignored","resolved_in_release":"x"}`, 400, ""},
		{`{"status":"resolved","extra":1}`, 400, ""},
		{`not json`, 400, ""},
		{`{"status":"resolved","resolved_in_release":"` + strings.Repeat("x", 70<<10) + `"}`, 413, ""},
	}
	for _, tt := range tests {
		code, _, out := f.do(t, f.memberToken, "PATCH", path, tt.body)
		if code != tt.wantCode {
			t.Errorf("PATCH %.60s: HTTP %d, want %d (%v)", tt.body, code, tt.wantCode, out)
			continue
		}
		if tt.wantStatus != "" && out["status"] != tt.wantStatus {
			t.Errorf("PATCH %.60s: status %v", tt.body, out["status"])
		}
	}
	if code, _, _ := f.do(t, f.memberToken, "DELETE", path, ""); code != 204 {
		t.Fatalf("DELETE: HTTP %d", code)
	}
	if code, _, _ := f.do(t, f.memberToken, "GET", path, ""); code != 404 {
		t.Errorf("GET deleted: HTTP %d", code)
	}
	if code, _, _ := f.do(t, f.memberToken, "GET", "/api/v1/events/"+f.eventA, ""); code != 404 {
		t.Errorf("event of deleted issue: HTTP %d", code)
	}
}

func TestRoutingErrorsAreJSON(t *testing.T) {
	f := newFixture(t)
	code, _, out := f.do(t, f.adminToken, "GET", "/api/v1/nope", "")
	if code != 404 || out["error"].(map[string]any)["code"] != "not_found" {
		t.Errorf("unknown route: HTTP %d %v", code, out)
	}
	code, hdr, out := f.do(t, f.adminToken, "POST", "/api/v1/projects", "{}")
	if code != 405 || out["error"].(map[string]any)["code"] != "method_not_allowed" || !strings.Contains(hdr.Get("Allow"), "GET") {
		t.Errorf("wrong method: HTTP %d %v Allow=%q", code, out, hdr.Get("Allow"))
	}
}

func TestSplitQuery(t *testing.T) {
	tests := map[string][]string{
		``:                                nil,
		`timeout`:                         {"timeout"},
		`a  b`:                            {"a", "b"},
		`browser:"Mobile Safari" timeout`: {"browser:Mobile Safari", "timeout"},
		`"quoted words" is:resolved`:      {"quoted words", "is:resolved"},
		"tab\tseparated":                  {"tab", "separated"},
	}
	for in, want := range tests {
		if got := splitQuery(in); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("splitQuery(%q) = %q, want %q", in, got, want)
		}
	}
}
