package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type feedbackItem struct {
	EventID           string `json:"event_id"`
	AssociatedEventID string `json:"associated_event_id"`
	IssueID           int64  `json:"issue_id"`
	Name              string `json:"name"`
	Email             string `json:"email"`
	Message           string `json:"message"`
	URL               string `json:"url"`
}

// feedback polls path, a feedback list of the REST API, until it holds n
// items, and returns them.
func (p *devProc) feedback(t *testing.T, path string, n int) []feedbackItem {
	t.Helper()
	var l struct {
		Data []feedbackItem `json:"data"`
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		if code := p.api(t, "GET", path, nil, &l); code != 200 {
			t.Fatalf("GET %s: HTTP %d", path, code)
		}
		if len(l.Data) == n {
			return l.Data
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s holds %d feedback, want %d\nstderr:\n%s", path, len(l.Data), n, p.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestNodeSDKFeedback sends user feedback with the official @sentry/node
// SDK's captureFeedback, one about an error and one about nothing, and
// reads it back over the REST API and on the issue page. The SDK sends the
// feedback about the error before the error itself, so the link to the
// issue is made when it is read.
func TestNodeSDKFeedback(t *testing.T) {
	dir := requireJSSDK(t)
	p := startDev(t, t.TempDir(), []string{"FLYTRAP_ADMIN_EMAIL=ops@example.com", "FLYTRAP_ADMIN_PASSWORD=s3cret-passw0rd"})
	out, err := exec.Command("node", filepath.Join(dir, "feedback.js"), p.info.DSN).Output()
	if err != nil {
		t.Fatalf("node feedback.js: %v\n%s", err, out)
	}
	var ids struct{ Error, AboutError, Standalone string }
	if err := json.Unmarshal(out, &struct {
		Error      *string `json:"error"`
		AboutError *string `json:"about_error"`
		Standalone *string `json:"standalone"`
	}{&ids.Error, &ids.AboutError, &ids.Standalone}); err != nil {
		t.Fatalf("feedback.js printed %q: %v", out, err)
	}

	is := p.waitIssue(t, "Error: node feedback compat error", 1)
	got := p.feedback(t, fmt.Sprintf("/api/v1/issues/%d/feedback", is.ID), 1)[0]
	want := feedbackItem{EventID: ids.AboutError, AssociatedEventID: ids.Error, IssueID: is.ID, Name: "Ada Lovelace", Email: "ada@example.com",
		Message: "The checkout <b>broke</b> when I clicked pay", URL: "https://shop.example/checkout"}
	if got != want {
		t.Errorf("the issue's feedback\n%+v\nwant\n%+v", got, want)
	}
	all := p.feedback(t, fmt.Sprintf("/api/v1/projects/%d/feedback", p.info.ProjectID), 2)
	var standalone *feedbackItem
	for i := range all {
		if all[i].EventID == ids.Standalone {
			standalone = &all[i]
		}
	}
	if standalone == nil || standalone.Message != "Love the new design" || standalone.IssueID != 0 || standalone.AssociatedEventID != "" {
		t.Errorf("the project's feedback %+v, want the standalone feedback %s without an issue", all, ids.Standalone)
	}

	dashboard := p.login(t, "ops@example.com", "s3cret-passw0rd")
	resp, err := dashboard.Get(fmt.Sprintf("%s/issues/%d", p.base, is.ID))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, s := range []string{"User feedback", "The checkout &lt;b&gt;broke&lt;/b&gt; when I clicked pay", "ada@example.com"} {
		if !strings.Contains(string(page), s) {
			t.Errorf("the issue page lacks %q", s)
		}
	}
}

// TestFeedbackSurvivesCrash sends feedback while the server is SIGKILLed,
// restarts it, and checks every acknowledged feedback is stored exactly
// once: feedback travels through the same durable queue as events.
func TestFeedbackSurvivesCrash(t *testing.T) {
	dir := t.TempDir()
	p := startDev(t, dir, nil)
	send := func(base, key, id string) bool {
		envelope := fmt.Sprintf("{\"event_id\":%q}\n{\"type\":\"feedback\"}\n{\"event_id\":%[1]q,\"type\":\"feedback\",\"contexts\":{\"feedback\":{\"message\":\"crash test feedback\"}}}\n", id)
		return post(fmt.Sprintf("%s/api/%d/envelope/?sentry_key=%s", base, p.info.ProjectID, key), envelope)
	}
	acked := sendThroughCrash(t, p, 200, send)

	p2 := startDev(t, dir, nil)
	// The SDK's retries of what it sent before the crash.
	for _, id := range acked[:10] {
		if !send(p2.base, p2.info.APIKey, id) {
			t.Fatalf("resend of %s failed", id)
		}
	}
	p2.waitDrained(t)
	stored := p2.storedIDs(t, fmt.Sprintf("/api/v1/projects/%d/feedback?limit=100", p2.info.ProjectID))
	wantStored(t, "feedback", acked, stored)
	t.Logf("acknowledged %d feedback before the kill, stored %d", len(acked), len(stored))
}
