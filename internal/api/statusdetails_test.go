package api

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/store"
)

// TestStatusDetails: an issue's JSON, in the list, the detail and a
// PATCH's answer, has Sentry's statusDetails: {} unless it is resolved in
// a release, {"inRelease": R} or {"inNextRelease": true}; and the bulk
// change takes statusDetails (and resolvedInNextRelease and
// resolved_in_release) as PATCH does, refusing the same requests with the
// same message and recording the same activity.
func TestStatusDetails(t *testing.T) {
	f := newFixture(t)
	for _, r := range []struct {
		version string
		at      time.Time
	}{{"web@1.2.0", time.Now().Add(-2 * time.Hour)}, {"web@1.0.0", time.Now().Add(-time.Hour)}, {"web@1.1.0", time.Now()}} {
		if _, err := f.db.CreateRelease(t.Context(), store.System, f.project.ID, r.version, r.at); err != nil {
			t.Fatal(err)
		}
	}
	issue := fmt.Sprintf("/api/v1/issues/%d", f.issueA)
	bulk := fmt.Sprintf("/api/v1/projects/%d/issues/bulk", f.project.ID)
	details := func(v any) string {
		t.Helper()
		d, ok := v.(map[string]any)["statusDetails"]
		if !ok {
			t.Fatalf("no statusDetails in %v", v)
		}
		b, _ := json.Marshal(d)
		return string(b)
	}
	// seen checks the issue's statusDetails in the detail and the list.
	seen := func(what, want string) {
		t.Helper()
		if _, _, out := f.do(t, f.memberToken, "GET", issue, ""); details(out) != want {
			t.Errorf("%s: GET issue statusDetails %s, want %s", what, details(out), want)
		}
		_, _, out := f.do(t, f.memberToken, "GET", fmt.Sprintf("/api/v1/projects/%d/issues", f.project.ID), "")
		for _, is := range out["data"].([]any) {
			if is.(map[string]any)["id"] == float64(f.issueA) && details(is) != want {
				t.Errorf("%s: issue list statusDetails %s, want %s", what, details(is), want)
			}
		}
	}
	// lastActivity is the issue's newest activity entry, as JSON.
	lastActivity := func() map[string]any {
		t.Helper()
		_, _, out := f.do(t, f.memberToken, "GET", issue+"/activity?limit=1", "")
		return out["data"].([]any)[0].(map[string]any)
	}
	seen("unresolved", `{}`)
	for _, c := range []struct {
		change      string // the body, without ids
		code        int
		details     string
		in, after   string
		wantMessage string
	}{
		{`"status":"resolved","statusDetails":{"inNextRelease":true}`, 200, `{"inNextRelease":true}`, "", "web@1.1.0", ""},
		{`"status":"resolvedInNextRelease"`, 200, `{"inNextRelease":true}`, "", "web@1.1.0", ""},
		{`"status":"resolved","statusDetails":{"inRelease":"latest"}`, 200, `{"inRelease":"web@1.1.0"}`, "web@1.1.0", "", ""},
		{`"status":"resolved","statusDetails":{"inRelease":"web@1.0.0"}`, 200, `{"inRelease":"web@1.0.0"}`, "web@1.0.0", "", ""},
		{`"status":"resolved","resolved_in_release":"web@1.2.0"`, 200, `{"inRelease":"web@1.2.0"}`, "web@1.2.0", "", ""},
		{`"status":"resolved"`, 200, `{}`, "", "", ""},
		{`"status":"ignored"`, 200, `{}`, "", "", ""},
		{`"status":"resolved","statusDetails":{"inRelease":"web@1.0.0","inNextRelease":true}`, 400, "", "", "", "not both"},
		{`"status":"resolved","resolved_in_release":"web@1.0.0","statusDetails":{"inRelease":"latest"}`, 400, "", "", "", "different releases"},
		{`"status":"ignored","statusDetails":{"inNextRelease":true}`, 400, "", "", "", `only valid with status "resolved"`},
		{`"statusDetails":{"inNextRelease":true}`, 400, "", "", "", "send a status"},
		{`"status":"resolved","statusDetails":{"inRelease":"Latest"}`, 400, "", "", "", "reserved word"},
		{`"status":"resolved","statusDetails":{"ignoreDuration":30}`, 400, "", "", "", "ignoreDuration"},
	} {
		for _, via := range []struct{ method, path, body string }{
			{"PATCH", issue, "{" + c.change + "}"},
			{"POST", bulk, fmt.Sprintf(`{"ids":[%d],%s}`, f.issueA, c.change)},
		} {
			// From unresolved, so that each change is one the activity
			// records.
			if code, _, out := f.do(t, f.memberToken, "PATCH", issue, `{"status":"unresolved"}`); code != 200 {
				t.Fatalf("reopen: HTTP %d %v", code, out)
			}
			code, _, out := f.do(t, f.memberToken, via.method, via.path, via.body)
			what := via.method + " " + via.body
			if code != c.code {
				t.Errorf("%s: HTTP %d %v, want %d", what, code, out, c.code)
				continue
			}
			if code != 200 {
				if e, _ := out["error"].(map[string]any); !strings.Contains(fmt.Sprint(e["message"]), c.wantMessage) {
					t.Errorf("%s: %v, want a message saying %q", what, out, c.wantMessage)
				}
				if a := lastActivity(); a["kind"] != store.ActivityUnresolved {
					t.Errorf("%s refused, yet its activity reads %v", what, a)
				}
				continue
			}
			if via.method == "PATCH" && details(out) != c.details {
				t.Errorf("%s: statusDetails %s, want %s", what, details(out), c.details)
			}
			if via.method == "POST" && out["updated"] != float64(1) {
				t.Errorf("%s: %v, want 1 updated", what, out)
			}
			seen(what, c.details)
			if a := lastActivity(); a["release"] != orNil(c.in) || a["after_release"] != orNil(c.after) {
				t.Errorf("%s: activity %v, want release %q, after %q", what, a, c.in, c.after)
			}
		}
	}
}

// TestResolveInUnknownRelease: resolving in a release the project does
// not have, by PATCH or the bulk change, as resolved_in_release or
// Sentry's statusDetails.inRelease, is a 400 unknown_release naming the
// field, the release and the project, with what to do, and changes
// nothing: the release is not created, so a typo does not become the
// project's latest release.
func TestResolveInUnknownRelease(t *testing.T) {
	f := newFixture(t)
	if _, err := f.db.CreateRelease(t.Context(), store.System, f.project.ID, "web@1.2.3", time.Now()); err != nil {
		t.Fatal(err)
	}
	issue := fmt.Sprintf("/api/v1/issues/%d", f.issueA)
	bulk := fmt.Sprintf("/api/v1/projects/%d/issues/bulk", f.project.ID)
	releases := fmt.Sprintf("/api/v1/projects/%d/releases", f.project.ID)
	for _, tt := range []struct {
		method, path, body, field string
	}{
		{"PATCH", issue, `{"status":"resolved","resolved_in_release":"web@1.3.0"}`, "resolved_in_release"},
		{"PATCH", issue, `{"status":"resolved","statusDetails":{"inRelease":"web@1.3.0"}}`, "statusDetails.inRelease"},
		{"PATCH", issue, `{"status":"resolved","statusDetails":{"inRelease":"web@1.3.0"},"assignedTo":"me"}`, "statusDetails.inRelease"},
		{"POST", bulk, fmt.Sprintf(`{"ids":[%d],"status":"resolved","resolved_in_release":"web@1.3.0"}`, f.issueA), "resolved_in_release"},
		{"POST", bulk, fmt.Sprintf(`{"ids":[%d],"status":"resolved","statusDetails":{"inRelease":"web@1.3.0"}}`, f.issueA), "statusDetails.inRelease"},
	} {
		what := tt.method + " " + tt.body
		code, _, out := f.do(t, f.memberToken, tt.method, tt.path, tt.body)
		e, _ := out["error"].(map[string]any)
		want := tt.field + `: no release "web@1.3.0" in project ` + f.project.Name + ": check the name (GET " + releases +
			" lists the project's releases), or create the release first (POST " + releases + ")"
		if code != 400 || e["code"] != "unknown_release" || e["field"] != tt.field || e["project"] != f.project.Name || e["message"] != want {
			t.Errorf("%s: HTTP %d %v, want 400 unknown_release, field %s, project %s, message %q", what, code, out, tt.field, f.project.Name, want)
		}
		if _, _, out := f.do(t, f.memberToken, "GET", issue, ""); out["status"] != "unresolved" || out["assignedTo"] != nil {
			t.Errorf("%s changed the issue: %v", what, out)
		}
		if code, _, _ := f.do(t, f.memberToken, "GET", releases+"/web@1.3.0", ""); code != 404 {
			t.Errorf("%s: GET the release: HTTP %d, want 404: it was created", what, code)
		}
	}
	// The project's release still resolves.
	if code, _, out := f.do(t, f.memberToken, "PATCH", issue, `{"status":"resolved","resolved_in_release":"web@1.2.3"}`); code != 200 || out["resolved_in_release"] != "web@1.2.3" {
		t.Errorf("resolve in web@1.2.3: HTTP %d %v", code, out)
	}
}
