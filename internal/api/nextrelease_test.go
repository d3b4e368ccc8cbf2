package api

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/store"
)

// TestResolveInNextRelease: PATCH takes Sentry's statusDetails, inRelease
// "latest" resolving in the project's latest release and inNextRelease
// (or the status resolvedInNextRelease) in the one after it; without a
// release both are a 400 saying so, and mixed or misplaced ones a 400.
func TestResolveInNextRelease(t *testing.T) {
	f := newFixture(t)
	// A project whose one event has no release.
	bare, err := f.db.CreateProject(t.Context(), "bare")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.db.AddMember(t.Context(), bare.ID, f.member.ID, store.RoleMember); err != nil {
		t.Fatal(err)
	}
	ev := &event.Event{EventID: "dddddddddddddddddddddddddddddd01", ProjectID: bare.ID, Source: event.SourceSentry,
		Timestamp: now, Received: now, Level: "error", Message: "no release"}
	res, err := f.db.SaveEvent(t.Context(), store.SaveRequest{Event: ev, Fingerprint: "m", GroupingVersion: "test", Title: "no release"})
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{
		`{"status":"resolved","statusDetails":{"inNextRelease":true}}`,
		`{"status":"resolved","statusDetails":{"inRelease":"latest"}}`,
		`{"status":"resolved","resolved_in_release":"latest"}`,
	} {
		code, _, out := f.do(t, f.memberToken, "PATCH", fmt.Sprintf("/api/v1/issues/%d", res.IssueID), body)
		e, _ := out["error"].(map[string]any)
		if code != 400 || !strings.Contains(fmt.Sprint(e["message"]), "the project has no release yet") {
			t.Errorf("PATCH %s without releases: HTTP %d %v, want 400 saying there is no release", body, code, out)
		}
	}
	path := fmt.Sprintf("/api/v1/issues/%d", f.issueA)
	if _, err := f.db.CreateRelease(t.Context(), store.System, f.project.ID, "web@1.0.0", time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.CreateRelease(t.Context(), store.System, f.project.ID, "web@1.1.0", time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		body        string
		code        int
		in, after   string
		wantMessage string
	}{
		{`{"status":"resolved","statusDetails":{"inNextRelease":true}}`, 200, "", "web@1.1.0", ""},
		{`{"status":"resolved","statusDetails":{"inRelease":"latest"}}`, 200, "web@1.1.0", "", ""},
		{`{"status":"resolvedInNextRelease"}`, 200, "", "web@1.1.0", ""},
		{`{"status":"resolved","resolved_in_release":"latest"}`, 200, "web@1.1.0", "", ""},
		{`{"status":"resolved","statusDetails":{"inRelease":"web@1.0.0"}}`, 200, "web@1.0.0", "", ""},
		{`{"status":"resolved","statusDetails":{"inRelease":"web@1.0.0","inNextRelease":true}}`, 400, "", "", "not both"},
		{`{"status":"resolved","resolved_in_release":"web@1.0.0","statusDetails":{"inRelease":"latest"}}`, 400, "", "", "different releases"},
		{`{"status":"ignored","statusDetails":{"inNextRelease":true}}`, 400, "", "", `only valid with status "resolved"`},
		{`{"statusDetails":{"inNextRelease":true}}`, 400, "", "", "send a status"},
		{`{"status":"resolved","statusDetails":{"ignoreDuration":30}}`, 400, "", "", ""},
	} {
		code, _, out := f.do(t, f.memberToken, "PATCH", path, c.body)
		e, _ := out["error"].(map[string]any)
		switch {
		case code != c.code:
			t.Errorf("PATCH %s: HTTP %d %v, want %d", c.body, code, out, c.code)
		case code == 200 && (out["status"] != "resolved" || fmt.Sprint(out["resolved_in_release"]) != fmt.Sprint(orNil(c.in)) ||
			fmt.Sprint(out["resolved_after_release"]) != fmt.Sprint(orNil(c.after))):
			t.Errorf("PATCH %s: %v, want resolved in %q after %q", c.body, out, c.in, c.after)
		case code != 200 && !strings.Contains(fmt.Sprint(e["message"]), c.wantMessage):
			t.Errorf("PATCH %s: %v, want a message saying %q", c.body, out, c.wantMessage)
		}
	}
}

// orNil is s as a decoded JSON field that omitempty leaves out when empty.
func orNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}
