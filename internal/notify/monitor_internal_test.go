package notify

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/store"
)

// monitorMessage is a failing monitor's alert whose slug and check-in
// text try to break out of every channel's markup.
func monitorMessage() Message {
	return Message{Key: "monitor_failing:4:ab:2", Reason: store.ReasonMonitorFailing, Project: "shop",
		Payload: store.AlertPayload{ProjectID: 7, Title: "Monitor night<b>&ly is failing", Level: "error", Status: store.MonitorFailing,
			Culprit: "an error check-in of the run of 2026-12-03 02:00 UTC", At: time.Date(2026, 12, 3, 2, 0, 5, 312000000, time.UTC),
			Monitor: &store.AlertMonitor{Slug: "night<b>&ly", Environment: "prod\n<script>x</script> <!channel>", Status: store.MonitorFailing, Schedule: "0 2 * * * (Europe/Vienna)",
				CheckIn: store.AlertCheckIn{Status: "error", Time: time.Date(2026, 12, 3, 2, 0, 5, 0, time.UTC),
					Environment: "prod\n<script>x</script> <!channel>", Release: "1.0 & <@U1>\u202e"}}},
		MonitorURL: "https://flytrap.example.com/projects/7/monitors/night%3Cb%3E&ly",
		AccountURL: "https://flytrap.example.com/account"}
}

// TestMonitorEmailText: a monitor's alert email says the monitor's slug,
// status, schedule and failing check-in and links its page; no issue
// fields, and SDK text stays on its line.
func TestMonitorEmailText(t *testing.T) {
	e, err := renderEmail(monitorMessage())
	if err != nil {
		t.Fatal(err)
	}
	want := `Cron monitor failing

Monitor night<b>&ly is failing

Project:      shop
Monitor:      night<b>&ly
Status:       failing
Schedule:     0 2 * * * (Europe/Vienna)
Check-in:     error, 2026-12-03 02:00 UTC
Environment:  prod <script>x</script> <!channel>
Release:      1.0 & <@U1><U+202E>

Open the monitor: https://flytrap.example.com/projects/7/monitors/night%3Cb%3E&ly

--
You get this because you are a member of shop on Flytrap.
Turn alert email off on your account page: https://flytrap.example.com/account
`
	if e.Text != want {
		t.Errorf("text email:\n%s\nwant:\n%s", e.Text, want)
	}
	if e.Subject != "[Flytrap] shop: Cron monitor failing: Monitor night<b>&ly is failing" {
		t.Errorf("subject %q", e.Subject)
	}
}

// TestMonitorEmailRecovered: the recovery says the ok streak.
func TestMonitorEmailRecovered(t *testing.T) {
	m := monitorMessage()
	m.Reason = store.ReasonMonitorRecovered
	mon := *m.Payload.Monitor
	mon.Status, mon.CheckIn.Status, mon.OKStreak = store.MonitorOK, "ok", 3
	m.Payload.Monitor = &mon
	e, err := renderEmail(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"Cron monitor recovered", "Status:       ok\n", "Check-in:     ok, 2026-12-03 02:00 UTC\nOK streak:    3 in a row\n"} {
		if !strings.Contains(e.Text, w) {
			t.Errorf("text email lacks %q:\n%s", w, e.Text)
		}
	}
	if !strings.Contains(e.HTML, "<td>3 in a row</td>") {
		t.Errorf("HTML email lacks the ok streak:\n%s", e.HTML)
	}
}

// TestMonitorEmailHTML: the HTML part escapes the slug and the check-in's
// environment and release, links the monitor's page and has no issue
// fields.
func TestMonitorEmailHTML(t *testing.T) {
	e, err := renderEmail(monitorMessage())
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{
		"<td>night&lt;b&gt;&amp;ly</td>",
		"<td>failing</td>",
		"0 2 * * * (Europe/Vienna)</td>",
		"<td>error, 2026-12-03 02:00 UTC</td>",
		"<td>prod &lt;script&gt;x&lt;/script&gt; &lt;!channel&gt;</td>",
		"<td>1.0 &amp; &lt;@U1&gt;&lt;U&#43;202E&gt;</td>",
		`<a href="https://flytrap.example.com/projects/7/monitors/night%3Cb%3E&amp;ly"`,
		">Open the monitor</a>",
	} {
		if !strings.Contains(e.HTML, w) {
			t.Errorf("HTML email lacks %q:\n%s", w, e.HTML)
		}
	}
	for _, bad := range []string{"<script>", "<b>", "Events", "Users", "issue"} {
		if strings.Contains(e.HTML, bad) {
			t.Errorf("HTML email holds %q:\n%s", bad, e.HTML)
		}
	}
}

// TestMonitorSlack: the Slack message has the monitor's fields, SDK text
// escaped for mrkdwn, and a link to the monitor's page, not an issue's.
func TestMonitorSlack(t *testing.T) {
	body, err := slackBody(monitorMessage())
	if err != nil {
		t.Fatal(err)
	}
	var msg struct {
		Text   string
		Blocks []slackBlock
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		t.Fatal(err)
	}
	var fields, links []string
	for _, b := range msg.Blocks {
		for _, f := range b.Fields {
			fields = append(fields, f.Text)
		}
		for _, e := range b.Elements {
			links = append(links, e.Text)
		}
	}
	wantFields := []string{
		"*Project*\nshop",
		"*Monitor*\nnight&lt;b&gt;&amp;ly",
		"*Status*\nfailing",
		"*Schedule*\n0 2 * * * (Europe/Vienna)",
		"*Check-in*\nerror, 2026-12-03 02:00 UTC",
		"*Environment*\nprod &lt;script&gt;x&lt;/script&gt; &lt;!channel&gt;",
		"*Release*\n1.0 &amp; &lt;@U1&gt;&lt;U+202E&gt;",
	}
	if strings.Join(fields, "|") != strings.Join(wantFields, "|") {
		t.Errorf("fields %q\nwant %q", fields, wantFields)
	}
	wantLink := "<https://flytrap.example.com/projects/7/monitors/night%3Cb%3E&amp;ly|Open the monitor in Flytrap>"
	if len(links) != 1 || links[0] != wantLink {
		t.Errorf("links %q, want %q", links, wantLink)
	}
	if msg.Blocks[0].Text == nil || msg.Blocks[0].Text.Text != "Cron monitor failing: Monitor night<b>&ly is failing" {
		t.Errorf("header %+v", msg.Blocks[0])
	}
	if msg.Text != "Cron monitor failing: Monitor night&lt;b&gt;&amp;ly is failing" {
		t.Errorf("fallback text %q", msg.Text)
	}
}

// TestMonitorWebhook: the webhook JSON has a monitor object and the
// monitor's page as url, and no issue; SDK text is as sent.
func TestMonitorWebhook(t *testing.T) {
	body, err := webhookBody(monitorMessage())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"monitor_failing:4:ab:2","reason":"monitor_failing","project":"shop",` +
		`"monitor":{"slug":"night\u003cb\u003e\u0026ly","environment":"prod\n\u003cscript\u003ex\u003c/script\u003e \u003c!channel\u003e","status":"failing","schedule":"0 2 * * * (Europe/Vienna)",` +
		`"check_in":{"status":"error","time":"2026-12-03T02:00:05Z","environment":"prod\n\u003cscript\u003ex\u003c/script\u003e \u003c!channel\u003e","release":"1.0 \u0026 \u003c@U1\u003e` + "\u202e" + `"}},` +
		`"url":"https://flytrap.example.com/projects/7/monitors/night%3Cb%3E\u0026ly","at":"2026-12-03T02:00:05.312Z"}`
	if string(body) != want {
		t.Errorf("webhook body\n%s\nwant\n%s", body, want)
	}
}

// TestMonitorLinks: a monitor's alert links its dashboard page, built on
// the public URL, with the slug escaped; it links no issue.
func TestMonitorLinks(t *testing.T) {
	c := store.ClaimedNotification{Notification: store.Notification{ProjectID: 7, Reason: store.ReasonMonitorFailing,
		Payload: store.AlertPayload{ProjectID: 7, Monitor: &store.AlertMonitor{Slug: "a b/c"}}}}
	for _, tt := range []struct{ public, want string }{
		{"https://flytrap.example.com", "https://flytrap.example.com/projects/7/monitors/a%20b%2Fc"},
		{"", ""},
	} {
		w := &Worker{cfg: Config{PublicURL: tt.public}}
		m := w.message(context.Background(), c)
		if m.MonitorURL != tt.want || m.IssueURL != "" {
			t.Errorf("public URL %q: monitor URL %q, issue URL %q; want %q and none", tt.public, m.MonitorURL, m.IssueURL, tt.want)
		}
	}
}

// TestMonitorEnvironmentOfOldAlerts: an alert written before monitors
// kept a status per environment names the check-in's environment in
// every channel.
func TestMonitorEnvironmentOfOldAlerts(t *testing.T) {
	m := monitorMessage()
	mon := *m.Payload.Monitor
	mon.Environment, mon.CheckIn.Environment = "", "staging"
	m.Payload.Monitor = &mon
	e, err := renderEmail(m)
	if err != nil {
		t.Fatal(err)
	}
	body, err := slackBody(m)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.Text, "Environment:  staging\n") || !strings.Contains(e.HTML, "<td>staging</td>") || !strings.Contains(string(body), `*Environment*\nstaging`) {
		t.Errorf("old alert's environment missing:\n%s\n%s\n%s", e.Text, e.HTML, body)
	}
}
