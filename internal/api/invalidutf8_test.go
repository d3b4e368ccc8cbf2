package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/internal/testutil/pgtest"
)

// TestListIssuesInvalidUTF8: invalid UTF-8 or a NUL in any parameter of
// the issue list, or in any part of its search, or in the event feed's
// filters, is never a 500 (PostgreSQL
// refuses such text: invalid byte sequence for encoding "UTF8"). Invalid
// UTF-8 is read as U+FFFD, as the store saved the SDK's own bad bytes, so
// it finds what they were saved as, on both databases alike. A NUL, which
// no stored text has, is a 400 naming the parameter: dropped, it left
// query=%00 no search at all, and every issue listed.
func TestListIssuesInvalidUTF8(t *testing.T) {
	onBothDatabases(t, testListIssuesInvalidUTF8)
}

func testListIssuesInvalidUTF8(t *testing.T, dsn string) {
	ctx := context.Background()
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	admin, err := db.CreateUser(ctx, "admin@example.com", "x", store.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := db.CreateAPIToken(ctx, admin.ID, "t")
	if err != nil {
		t.Fatal(err)
	}
	p, err := db.CreateProject(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	// An SDK's own invalid bytes, saved as U+FFFD.
	ev := &event.Event{
		EventID: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1", ProjectID: p.ID, Source: event.SourceSentry,
		Timestamp: now.Add(-time.Hour), Received: now.Add(-time.Hour), Level: "error",
		Environment: "prod\xff", Release: "app\xff@1", Tags: []event.Tag{{Key: "k", Value: "v\xff"}},
		Exceptions: []event.Exception{{Type: "TypeError", Value: "bad \xff byte", Frames: []event.Frame{{Filename: "app.js", Function: "run", Lineno: 3}}}},
	}
	saved, err := db.SaveEvent(ctx, store.SaveRequest{Event: ev, Fingerprint: "x", GroupingVersion: "test", Title: ev.Title(), Culprit: ev.Culprit(), UserKey: "id:1"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(db, nil, func() time.Time { return now }))
	defer srv.Close()
	get := func(path string) (int, int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			Data  []map[string]any `json:"data"`
			Error map[string]any   `json:"error"`
		}
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, len(out.Data), out.Error
	}
	for _, tt := range []struct {
		params string
		code   int
		issues int
	}{
		// QA's request.
		{"query=%ff%fe", 200, 1},
		{"query=bad+%ff+byte", 200, 1},
		{"query=%22bad+%ff%22", 200, 1},
		{"query=k:v%ff", 200, 1},
		{"query=k:v%ff*", 200, 1},
		{"query=!k:v%ff", 200, 0},
		{"query=k:[v%ff,w%fe]", 200, 1},
		{"query=%ff:v", 200, 0},
		{"query=tags[%ff]:v", 200, 0},
		{"query=has:%ff", 200, 0},
		{"query=!has:%ff", 200, 1},
		{"query=title:*%ff*", 200, 1},
		{"query=title:%ff", 200, 1},
		{"query=message:%ff", 200, 1},
		{"query=env:prod%ff", 200, 1},
		{"query=release:app%ff@1", 200, 1},
		{"query=release:app%ff*", 200, 1},
		{"query=firstRelease:app%ff@1", 200, 1},
		{"query=firstRelease:[app%ff@1,b%fe]", 200, 1},
		{"query=firstRelease:app%ff*", 200, 1},
		{"query=user.email:%ff", 200, 0},
		{"query=a%00b", 400, 0},
		{"query=%00", 400, 0},
		{"query=k:%00", 400, 0},
		{"environment=%00", 400, 0},
		{"release=%00", 400, 0},
		{"level=%00", 400, 0},
		{"status=all%00", 400, 0},
		{"environment=prod%ff", 200, 1},
		{"environment=prod%ff%00", 400, 0},
		{"release=app%ff@1", 200, 1},
		{"release=app%ff%00@1", 400, 0},
		{"environment=prod%ff&release=app%fe@1&query=bad+%ff", 200, 1},
		{"level=%ff", 400, 0},
		{"status=%ff", 400, 0},
		{"sort=%ff", 400, 0},
		{"since=%ff", 400, 0},
		{"limit=%ff", 400, 0},
		{"cursor=%ff", 400, 0},
	} {
		code, n, apiErr := get("/api/v1/projects/" + strconv.FormatInt(p.ID, 10) + "/issues?" + tt.params)
		if code != tt.code || n != tt.issues {
			t.Errorf("%s: %d with %d issues (error %v), want %d with %d", tt.params, code, n, apiErr, tt.code, tt.issues)
		}
		wantNUL(t, tt.params, code, apiErr)
	}
	// The event feed (flytrap tail) filters by the same kind of text, and
	// an issue's figures and events by environment.
	issue := "/api/v1/issues/" + strconv.FormatInt(saved.IssueID, 10)
	for _, tt := range []struct {
		path   string
		code   int
		events int
	}{
		{"/api/v1/events?environment=prod%ff", 200, 1},
		{"/api/v1/events?environment=prod%ff%00", 400, 0},
		{"/api/v1/events?environment=%00", 400, 0},
		{"/api/v1/events?environment=%ff", 200, 0},
		{"/api/v1/events?level=%ff", 200, 0},
		{"/api/v1/events?level=error%00", 400, 0},
		{"/api/v1/events?level=%00", 400, 0},
		{issue + "/events?environment=prod%ff", 200, 1},
		{issue + "/events?environment=%00", 400, 0},
		{issue + "?environment=prod%ff", 200, 0},
		{issue + "?environment=%00", 400, 0},
	} {
		code, n, apiErr := get(tt.path)
		if code != tt.code || n != tt.events {
			t.Errorf("%s: %d with %d events (error %v), want %d with %d", tt.path, code, n, apiErr, tt.code, tt.events)
		}
		wantNUL(t, tt.path, code, apiErr)
	}
}

// wantNUL fails a 400 for a request with a NUL whose error does not name
// the NUL and the parameter it is in.
func wantNUL(t *testing.T, request string, code int, apiErr map[string]any) {
	t.Helper()
	if code != http.StatusBadRequest || !strings.Contains(request, "%00") {
		return
	}
	msg, _ := apiErr["message"].(string)
	param := request[strings.LastIndexAny(request, "?&")+1 : strings.Index(request, "=")]
	if apiErr["code"] != "bad_request" || !strings.Contains(msg, "the "+param+" parameter has a NUL byte") {
		t.Errorf("%s: error %v, want one that names the NUL in %s", request, apiErr, param)
	}
}

// TestLookupsInvalidText: an email or release version with a NUL byte or
// invalid UTF-8 is one nobody has, as on SQLite: signing in is a 401 and
// adding such a member a 404, where PostgreSQL's refusal of the text was a
// 500, the sign-in's without signing in.
func TestLookupsInvalidText(t *testing.T) {
	onBothDatabases(t, testLookupsInvalidText)
}

func testLookupsInvalidText(t *testing.T, dsn string) {
	ctx := context.Background()
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	admin, err := db.CreateUser(ctx, "admin@example.com", "x", store.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := db.CreateAPIToken(ctx, admin.ID, "t")
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := db.CreateProjectWithKey(ctx, "web", admin.ID)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(db, nil, func() time.Time { return now }))
	defer srv.Close()
	do := func(method, path, body, token string) (int, any) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			Error any `json:"error"`
		}
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out.Error
	}
	members := "/api/v1/projects/" + strconv.FormatInt(p.ID, 10) + "/members"
	for _, email := range []string{`a\u0000@b.c`, "a\xff@b.c"} {
		if code, apiErr := do("POST", "/api/v1/auth/token", `{"email":"`+email+`","password":"xxxxxxxxxx","name":"x"}`, ""); code != 401 {
			t.Errorf("sign in as %q: %d %v, want 401", email, code, apiErr)
		}
		if code, apiErr := do("POST", members, `{"email":"`+email+`"}`, token); code != 404 {
			t.Errorf("add member %q: %d %v, want 404", email, code, apiErr)
		}
	}
}

// onBothDatabases runs test on a new SQLite file and a new PostgreSQL
// database, each named by its DSN.
func onBothDatabases(t *testing.T, test func(t *testing.T, dsn string)) {
	for _, tt := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "api.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.URL(t) }},
	} {
		t.Run(tt.name, func(t *testing.T) { test(t, tt.dsn(t)) })
	}
}
