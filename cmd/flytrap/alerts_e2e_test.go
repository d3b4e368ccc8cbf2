package main

import (
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/notify/notifytest"
)

type notificationList struct {
	Data []struct {
		ID       int64  `json:"id"`
		Reason   string `json:"reason"`
		Status   string `json:"status"`
		Attempts int    `json:"attempts"`
	} `json:"data"`
}

// TestAlertSurvivesKill: `flytrap dev --smtp-url` writes the new issue's
// notification in the transaction that stores its event; SIGKILLed after
// that commit and before any delivery run, the server delivers it after
// the restart, once: the SMTP server (AUTH required) receives exactly one
// email.
func TestAlertSurvivesKill(t *testing.T) {
	sink := notifytest.StartSMTP(t, notifytest.SMTPOptions{User: "flytrap", Password: "sink-pass"})
	smtpFlags := []string{"--smtp-url", "smtp://flytrap:sink-pass@" + sink.Addr, "--smtp-from", "alerts@example.com"}
	dir := t.TempDir()
	// The delivery job runs at start, then not for an hour: the event's
	// notification stays in the outbox until the kill.
	p := startDev(t, dir, nil, append(smtpFlags, "--alerts-every", "1h")...)
	// That run at start must be over before the event is sent, or it may
	// deliver the event's notification: the jobs start one after another,
	// so how soon it runs depends on the jobs registered before it.
	for deadline := time.Now().Add(30 * time.Second); p.metric(t, `flytrap_job_runs_total{job="alerts"}`) < 1; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the alerts job had not run 30 s after the start")
		}
	}
	body := `{"event_id":"0123456789abcdef0123456789abcdef","exception":{"values":[{"type":"TypeError","value":"cart is undefined",` +
		`"stacktrace":{"frames":[{"filename":"app.js","function":"main","lineno":1},{"filename":"cart.js","function":"renderCart","lineno":42}]}}]},"level":"error","platform":"javascript"}`
	req, _ := http.NewRequest("POST", fmt.Sprintf("%s/api/%d/store/?sentry_key=%s", p.base, p.info.ProjectID, p.info.APIKey), strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("send event: %v %v", resp, err)
	}
	resp.Body.Close()
	is := p.waitIssue(t, "TypeError", 1)
	var ns notificationList
	if code := p.api(t, "GET", fmt.Sprintf("/api/v1/projects/%d/notifications", p.info.ProjectID), nil, &ns); code != 200 ||
		len(ns.Data) != 1 || ns.Data[0].Status != "pending" || ns.Data[0].Reason != "new_issue" {
		t.Fatalf("outbox before the kill: HTTP %d %+v", code, ns)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
	if n := len(sink.Messages()); n != 0 {
		t.Fatalf("%d emails before the restart", n)
	}

	p2 := startDev(t, dir, nil, append(smtpFlags, "--alerts-every", "200ms")...)
	sink.Wait(t, 1, 30*time.Second)
	// Several more delivery runs: nothing is sent again.
	time.Sleep(2 * time.Second)
	msgs := sink.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d emails after the restart, want exactly 1", len(msgs))
	}
	mail := string(msgs[0].Data)
	link := fmt.Sprintf("%s/issues/%d", p2.base, is.ID)
	t.Logf("after kill -9 and restart: %d email, to %v, as %q", len(msgs), msgs[0].To, msgs[0].User)
	if msgs[0].User != "flytrap" || !strings.Contains(mail, "renderCart") || !strings.Contains(mail, link) {
		t.Errorf("email (user %q) lacks the stack or the link %s:\n%s", msgs[0].User, link, mail)
	}
	// The link works for a signed-in user: the issue page answers.
	r, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 200 && r.StatusCode != 303 && r.StatusCode != 302 {
		t.Errorf("GET %s = %d", link, r.StatusCode)
	}
	if code := p2.api(t, "GET", fmt.Sprintf("/api/v1/projects/%d/notifications", p2.info.ProjectID), nil, &ns); code != 200 ||
		len(ns.Data) != 1 || ns.Data[0].Status != "sent" || ns.Data[0].Attempts != 1 {
		t.Errorf("outbox after the restart: HTTP %d %+v", code, ns)
	}
}
