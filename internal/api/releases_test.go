package api

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/store"
)

// saveSessions counts, as one queue message id, sessions of project pid
// started at started: n of release in env, users user-0 to user-(n-1),
// the first (user-0) crashed.
func saveSessions(t *testing.T, db *store.DB, pid int64, id, release, env string, started time.Time, n int) {
	t.Helper()
	var ups []event.SessionUpdate
	for i := range n {
		u := event.SessionUpdate{Release: release, Environment: env, Started: started, SID: fmt.Sprintf("%s-%d", id, i),
			DID: fmt.Sprintf("user-%d", i), Init: true, Status: event.SessionExited}
		if i == 0 {
			u.Status, u.Errored = event.SessionCrashed, true
		}
		ups = append(ups, u)
	}
	_, err := db.SaveSessions(context.Background(), []store.SessionsRequest{{Event: &event.Event{
		EventID: id, ProjectID: pid, Received: started, Level: "info", SessionsOnly: true,
		Sessions: &event.Sessions{Updates: ups}}}})
	if err != nil {
		t.Fatal(err)
	}
}

// TestReleaseEndpoints: the releases list and a release carry the crash-free
// figures of their sessions over the requested range, in an environment or
// in all, and a release by environment; a release known by its sessions
// alone is listed; bad parameters are a 400 and another project's releases
// a 404.
func TestReleaseEndpoints(t *testing.T) {
	f := newFixture(t)
	hourAgo := now.Add(-time.Hour)
	saveSessions(t, f.db, f.project.ID, "m1", "app@1", "production", hourAgo, 4)
	saveSessions(t, f.db, f.project.ID, "m2", "app@1", "staging", hourAgo, 2)
	saveSessions(t, f.db, f.project.ID, "m3", "app@2", "production", hourAgo, 10)
	saveSessions(t, f.db, f.project.ID, "m4", "app@2", "production", now.Add(-20*24*time.Hour), 5)

	base := fmt.Sprintf("/api/v1/projects/%d/releases", f.project.ID)
	health := func(r map[string]any) string {
		h, _ := r["health"].(map[string]any)
		if h == nil {
			return "null"
		}
		return fmt.Sprintf("%v/%v crashed, %v users, %.1f%% %.1f%%", h["sessions"], h["crashed"], h["users"], h["crash_free_sessions"], h["crash_free_users"])
	}
	list := func(query string) map[string]string {
		t.Helper()
		code, _, out := f.do(t, f.memberToken, "GET", base+query, "")
		data, _ := out["data"].([]any)
		if code != 200 {
			t.Fatalf("GET %s: HTTP %d %v", query, code, out)
		}
		got := map[string]string{}
		for _, d := range data {
			r := d.(map[string]any)
			got[r["version"].(string)] = health(r)
		}
		return got
	}
	// The default range is the last 14 days: m4 is older.
	got := list("")
	if got["app@1"] != "6/2 crashed, 4 users, 66.7% 75.0%" || got["app@2"] != "10/1 crashed, 10 users, 90.0% 90.0%" {
		t.Errorf("releases = %v", got)
	}
	if got := list("?environment=staging"); got["app@1"] != "2/1 crashed, 2 users, 50.0% 50.0%" || got["app@2"] != "null" {
		t.Errorf("staging = %v", got)
	}
	since := url.QueryEscape(now.Add(-30 * 24 * time.Hour).Format(time.RFC3339))
	until := url.QueryEscape(now.Add(-10 * 24 * time.Hour).Format(time.RFC3339))
	if got := list("?since=" + since + "&until=" + until); got["app@2"] != "5/1 crashed, 5 users, 80.0% 80.0%" || got["app@1"] != "null" {
		t.Errorf("30 to 10 days ago = %v", got)
	}
	// since and until take a look-back, as the issues API's since does.
	if got := list("?since=30d&until=10d"); got["app@2"] != "5/1 crashed, 5 users, 80.0% 80.0%" || got["app@1"] != "null" {
		t.Errorf("30d to 10d = %v", got)
	}
	if got := list("?since=2h"); got["app@1"] != "6/2 crashed, 4 users, 66.7% 75.0%" {
		t.Errorf("since 2h = %v", got)
	}
	// until alone: the 14 days before it (m4, 20 days ago, and not
	// the sessions of an hour ago).
	until = url.QueryEscape(now.Add(-19 * 24 * time.Hour).Format(time.RFC3339))
	if got := list("?until=" + until); got["app@2"] != "5/1 crashed, 5 users, 80.0% 80.0%" || got["app@1"] != "null" {
		t.Errorf("until 19 days ago = %v", got)
	}

	code, _, out := f.do(t, f.memberToken, "GET", base+"/app@1", "")
	if code != 200 || health(out) != "6/2 crashed, 4 users, 66.7% 75.0%" {
		t.Fatalf("release: HTTP %d %v", code, out)
	}
	envs, _ := out["environments"].([]any)
	if len(envs) != 2 || envs[0].(map[string]any)["environment"] != "production" || envs[0].(map[string]any)["sessions"] != float64(4) ||
		envs[1].(map[string]any)["environment"] != "staging" {
		t.Errorf("environments = %v", envs)
	}

	for _, bad := range []string{base + "?since=yesterday", base + "?until=2026-01-01", base + "?since=" + until + "&until=" + since,
		base + "?environment=a%2Fb", "/api/v1/projects/x/releases"} {
		if code, _, out := f.do(t, f.memberToken, "GET", bad, ""); code != 400 {
			t.Errorf("%s: HTTP %d %v, want 400", bad, code, out)
		}
	}
	// The issues API's messages, naming the parameter.
	for query, want := range map[string]string{
		"?since=yesterday":   `since must be a duration such as 24h or 14d, or an RFC 3339 time, not "yesterday"`,
		"/app@1?until=-1h":   `until must be a duration such as 24h or 14d, or an RFC 3339 time, not "-1h"`,
		"?since=1d&until=2d": "until must be after since",
	} {
		code, _, out := f.do(t, f.memberToken, "GET", base+query, "")
		e, _ := out["error"].(map[string]any)
		if code != 400 || e["message"] != want {
			t.Errorf("%s: HTTP %d %v, want 400 %q", query, code, out, want)
		}
	}
	for _, missing := range []string{base + "/app@9", fmt.Sprintf("/api/v1/projects/%d/releases", f.other.ID)} {
		if code, _, _ := f.do(t, f.memberToken, "GET", missing, ""); code != 404 {
			t.Errorf("%s: HTTP %d, want 404", missing, code)
		}
	}
}

// TestCreateReleaseAndDeploy: a CI job records a release (201), records it
// again without an error (200, unchanged), finalizes it and records a
// deploy; what the store refuses is a 400 with its reason.
func TestCreateReleaseAndDeploy(t *testing.T) {
	f := newFixture(t)
	base := fmt.Sprintf("/api/v1/projects/%d/releases", f.project.ID)
	code, _, out := f.do(t, f.memberToken, "POST", base, `{"version":"shop@2.0.0"}`)
	if code != 201 || out["version"] != "shop@2.0.0" || out["date_released"] != nil {
		t.Fatalf("create: HTTP %d %v", code, out)
	}
	if code, _, out = f.do(t, f.memberToken, "POST", base, `{"version":"shop@2.0.0"}`); code != 200 || out["version"] != "shop@2.0.0" {
		t.Fatalf("create again: HTTP %d %v, want 200", code, out)
	}
	if code, _, out = f.do(t, f.memberToken, "POST", base, `{"version":"shop@2.0.1","date_released":"2026-11-22T11:00:00Z"}`); code != 201 || out["date_released"] != "2026-11-22T11:00:00Z" {
		t.Errorf("create finalized: HTTP %d %v", code, out)
	}
	for _, body := range []string{`{"version":""}`, `{"version":"latest"}`, `{"version":"a\u001b[31m"}`, `{"version":"a/b\nc"}`} {
		if code, _, out = f.do(t, f.memberToken, "POST", base, body); code != 400 {
			t.Errorf("create %s: HTTP %d %v, want 400", body, code, out)
		}
	}
	rel := base + "/" + url.PathEscape("shop@2.0.0")
	if code, _, out = f.do(t, f.memberToken, "PATCH", rel, `{}`); code != 400 || !strings.Contains(fmt.Sprint(out), "date_released is required") {
		t.Errorf("PATCH without date_released: HTTP %d %v", code, out)
	}
	if code, _, out = f.do(t, f.memberToken, "PATCH", rel, `{"date_released":"2026-11-22T11:30:00Z"}`); code != 200 || out["date_released"] != "2026-11-22T11:30:00Z" {
		t.Errorf("finalize: HTTP %d %v", code, out)
	}
	if code, _, out = f.do(t, f.memberToken, "POST", rel+"/deploys", `{"environment":"production","name":"deploy 7"}`); code != 201 ||
		out["environment"] != "production" || out["name"] != "deploy 7" || out["date_finished"] != now.Format(time.RFC3339) {
		t.Errorf("deploy: HTTP %d %v", code, out)
	}
	if code, _, out = f.do(t, f.memberToken, "POST", rel+"/deploys", `{"environment":"prod/eu"}`); code != 400 {
		t.Errorf("deploy to prod/eu: HTTP %d %v, want 400", code, out)
	}
	code, _, out = f.do(t, f.memberToken, "GET", rel+"/deploys", "")
	if data, _ := out["data"].([]any); code != 200 || len(data) != 1 {
		t.Errorf("deploys: HTTP %d %v", code, out)
	}
	if code, _, out = f.do(t, f.memberToken, "GET", rel, ""); code != 200 || out["deploy_count"] != 1.0 {
		t.Errorf("release: HTTP %d %v, want deploy_count 1", code, out)
	}
}
