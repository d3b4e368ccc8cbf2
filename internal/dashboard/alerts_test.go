package dashboard

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/store"
)

// alertMatrix are the alert rows of the authorization matrix for one
// project: its members see the alerts page, only the project's admins
// (admins, the project's admins) change anything.
func alertMatrix(scope, admins, project, issue string) []route {
	base := "/projects/" + project + "/alerts"
	ch, rule := "{webChannel}", "{webRule}"
	if scope == scopeBilling {
		ch, rule = "{billingChannel}", "{billingRule}"
	}
	// Another project's rule under this project's path is not found,
	// for admins too.
	other := "{billingRule}"
	if scope == scopeBilling {
		other = "{webRule}"
	}
	return []route{
		{"GET", base + "/rules/" + other, nil, scopeNobody, 404},
		{"POST", base + "/rules/" + other, url.Values{"type": {"regression"}, "channel_id": {ch}}, scopeNobody, 404},
		{"POST", base + "/rules/" + other + "/enabled", url.Values{"enabled": {"0"}}, scopeNobody, 404},
		{"GET", base, nil, scope, 200},
		{"POST", base + "/channels", url.Values{"kind": {"slack"}, "name": {"ops"}, "url": {"https://hooks.slack.com/services/T1/B2/x"}}, admins, 303},
		{"POST", base + "/channels/" + ch + "/test", nil, admins, 303},
		{"POST", base + "/channels/" + ch + "/delete", nil, admins, 303},
		{"POST", base + "/rules", url.Values{"type": {"frequency"}, "threshold": {"10"}, "window_minutes": {"5"}, "channel_id": {ch}}, admins, 303},
		{"GET", base + "/rules/" + rule, nil, scope, 200},
		{"POST", base + "/rules/" + rule, url.Values{"type": {"frequency"}, "threshold": {"3"}, "window_minutes": {"2"}, "min_level": {"error"}, "channel_id": {ch}}, admins, 303},
		{"POST", base + "/rules/" + rule + "/enabled", url.Values{"enabled": {"0"}}, admins, 303},
		{"POST", base + "/rules/" + rule + "/delete", nil, admins, 303},
		{"POST", base + "/settings", url.Values{"cooldown_minutes": {"15"}}, admins, 303},
		{"POST", "/issues/" + issue + "/mute", url.Values{"muted": {"1"}}, admins, 303},
	}
}

func (f *fixture) firstChannel(projectID int64) int64 {
	cs, err := f.db.ListAlertChannels(f.ctx, store.System, projectID)
	f.must(err)
	return cs[0].ID
}

func (f *fixture) firstRule(projectID int64) int64 {
	rs, err := f.db.ListAlertRules(f.ctx, store.System, projectID)
	f.must(err)
	return rs[0].ID
}

// hostileAlertPages fills web's alerts with hostile text (channel names
// and URLs, a rule's environment, notifications of a hostile issue, SNS
// subscriptions) and returns the pages that show it, for TestStoredXSS.
func hostileAlertPages(f *fixture, hostileIssue int64) []struct{ role, path string } {
	ctx := f.ctx
	var hostileChannel int64
	for _, c := range []store.AlertChannel{
		{ProjectID: f.web.ID, Kind: store.ChannelWebhook, Name: hostile[0], URL: "https://example.com/" + url.PathEscape(hostile[1])},
		{ProjectID: f.web.ID, Kind: store.ChannelSlack, Name: hostile[5], URL: "https://hooks.slack.com/services/" + hostile[1]},
	} {
		c, err := f.db.CreateAlertChannel(ctx, store.System, c)
		f.must(err)
		hostileChannel = c.ID
	}
	rule, err := f.db.PutAlertRule(ctx, store.System, store.AlertRule{ProjectID: f.web.ID, ChannelID: hostileChannel,
		Type: store.RuleFrequency, Threshold: 1, WindowMinutes: 5, Environment: hostile[1], Enabled: true})
	f.must(err)
	f.must(f.db.SetIssueMuted(ctx, store.System, hostileIssue, false))
	_, err = f.db.UpdateIssueStatus(ctx, store.System, hostileIssue, store.StatusResolved, "")
	f.must(err)
	ev := hostileEvent(f.web.ID, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa9", now)
	_, err = f.db.SaveBatch(ctx, []store.SaveRequest{{Event: ev, Fingerprint: "hostile", GroupingVersion: "test", Title: ev.Title(), Culprit: ev.Culprit()}},
		f.db.AlertHook(func() time.Time { return now }))
	f.must(err)
	f.must(f.db.ReplaceSNSSubscriptions(ctx, f.web.ID, []store.SNSSubscription{{Email: hostile[1] + "@example.com", Status: "pending"}}, now))
	ns, err := f.db.ListNotifications(ctx, store.System, f.web.ID, 10)
	f.must(err)
	if len(ns) == 0 {
		f.t.Fatal("the hostile regression wrote no notification")
	}
	id := fmt.Sprint(f.web.ID)
	return []struct{ role, path string }{
		{roleMember, "/projects/" + id + "/alerts"},
		{roleAdmin, "/projects/" + id + "/alerts"},
		{roleMember, "/projects/" + id + "/alerts/rules/" + fmt.Sprint(rule.ID)},
		{roleAdmin, "/projects/" + id + "/alerts/rules/" + fmt.Sprint(rule.ID)},
		{roleMember, "/account"},
	}
}

// TestAlertsPages: an admin manages channels and rules on the alerts page
// (a webhook's secret shown once, a refused rule explained), members see
// it without forms, and the test button queues a message.
func TestAlertsPages(t *testing.T) {
	f := newFixture(t)
	base := fmt.Sprintf("/projects/%d/alerts", f.web.ID)
	r := f.do(request{method: http.MethodPost, role: roleAdmin, path: base + "/channels",
		form: url.Values{"kind": {"webhook"}, "name": {"ops hook"}, "url": {"https://example.com/flytrap"}}})
	wantRedirect(t, r, base)
	if strings.Contains(r.Header.Get("Location"), "whsec_") || strings.Contains(r.Body, "whsec_") {
		t.Errorf("the redirect carries the secret in the clear: %q", r.Header.Get("Location"))
	}
	r = f.follow(roleAdmin, r)
	if r.StatusCode != 200 || !strings.Contains(r.Body, "whsec_") || !strings.Contains(r.Body, "not shown again") || !strings.Contains(r.Body, "Channel ops hook added.") {
		t.Fatalf("the page a webhook's creation redirects to: HTTP %d\n%s", r.StatusCode, excerpt(r.Body))
	}
	if c := cookieNamed(r, revealCookie); c == nil || c.MaxAge >= 0 {
		t.Errorf("the page that showed the secret did not delete its cookie: %+v", c)
	}
	if r := f.get(roleAdmin, base); strings.Contains(r.Body, "whsec_") || !strings.Contains(r.Body, "ops hook") {
		t.Errorf("the alerts page shows the secret again, or not the channel")
	}
	r = f.do(request{method: http.MethodPost, role: roleAdmin, path: base + "/rules",
		form: url.Values{"type": {"frequency"}, "threshold": {"0"}, "window_minutes": {"5"}, "channel_id": {fmt.Sprint(f.firstChannel(f.web.ID))}}})
	if r.StatusCode != 400 || !strings.Contains(r.Body, "more than N events") {
		t.Errorf("a bad rule: HTTP %d\n%s", r.StatusCode, excerpt(r.Body))
	}
	r = f.do(request{method: http.MethodPost, role: roleAdmin, path: base + "/rules",
		form: url.Values{"type": {"frequency"}, "threshold": {"25"}, "window_minutes": {"10"}, "min_level": {"error"}, "environment": {"production"},
			"channel_id": {fmt.Sprint(f.firstChannel(f.web.ID))}}})
	if r.StatusCode != 303 {
		t.Fatalf("adding a rule: HTTP %d\n%s", r.StatusCode, excerpt(r.Body))
	}
	r = f.get(roleMember, base)
	wantBody(t, r, "More than 25 events in 10 min", "error or worse", "<code>production</code>", "New issue", "Regression")
	if strings.Contains(r.Body, `id="new-rule"`) || strings.Contains(r.Body, "Send test") {
		t.Error("a member sees the admin forms")
	}
	r = f.do(request{method: http.MethodPost, role: roleAdmin, path: fmt.Sprintf("%s/channels/%d/test", base, f.firstChannel(f.web.ID))})
	if r.StatusCode != 303 {
		t.Fatalf("test send: HTTP %d", r.StatusCode)
	}
	wantBody(t, f.get(roleMember, base), "Test alert from Flytrap", "pending")
}

// TestAlertRuleEdit: an admin edits a rule on its page (a refused value
// explained next to what was sent, the rule unchanged) and turns it off
// and on from the alerts page; a member sees the rule read-only.
func TestAlertRuleEdit(t *testing.T) {
	f := newFixture(t)
	base := fmt.Sprintf("/projects/%d/alerts", f.web.ID)
	stored := func() store.AlertRule {
		t.Helper()
		rule, err := f.db.GetAlertRule(f.ctx, store.System, f.firstRule(f.web.ID))
		f.must(err)
		return rule
	}
	before := stored()
	page := fmt.Sprintf("%s/rules/%d", base, before.ID)
	ch := fmt.Sprint(before.ChannelID)
	r := f.get(roleAdmin, page)
	wantBody(t, r, `id="edit-rule"`, `<option value="`+before.Type+`" selected>`, `<option value="`+ch+`" selected>`, "Turn off")

	r = f.do(request{method: http.MethodPost, role: roleAdmin, path: page,
		form: url.Values{"type": {"frequency"}, "threshold": {"0"}, "window_minutes": {"10"}, "environment": {"staging"}, "channel_id": {ch}}})
	if r.StatusCode != 400 {
		t.Fatalf("a refused edit: HTTP %d\n%s", r.StatusCode, excerpt(r.Body))
	}
	wantBody(t, r, "A frequency rule alerts on more than N events: N is 1 to", `value="staging"`, `<option value="frequency" selected>`)
	if got := stored(); got != before {
		t.Errorf("a refused edit changed the rule: %+v, was %+v", got, before)
	}

	for _, tc := range []struct {
		name string
		form url.Values
		want func(store.AlertRule) store.AlertRule
	}{
		{"edit", url.Values{"type": {"frequency"}, "threshold": {"30"}, "window_minutes": {"15"}, "min_level": {"warning"}, "environment": {" staging "}, "channel_id": {ch}},
			func(r store.AlertRule) store.AlertRule {
				r.Type, r.Threshold, r.WindowMinutes, r.MinLevel, r.Environment = store.RuleFrequency, 30, 15, "warning", "staging"
				return r
			}},
		{"off", url.Values{"enabled": {"0"}}, func(r store.AlertRule) store.AlertRule { r.Enabled = false; return r }},
		{"off again", url.Values{"enabled": {"0"}}, func(r store.AlertRule) store.AlertRule { return r }},
		{"on", url.Values{"enabled": {"1"}}, func(r store.AlertRule) store.AlertRule { r.Enabled = true; return r }},
	} {
		path := page
		if tc.form.Has("enabled") {
			path += "/enabled"
		}
		want := tc.want(stored())
		r := f.do(request{method: http.MethodPost, role: roleAdmin, path: path, form: tc.form})
		if r.StatusCode != 303 || r.Header.Get("Location") != base {
			t.Fatalf("%s: HTTP %d to %q\n%s", tc.name, r.StatusCode, r.Header.Get("Location"), excerpt(r.Body))
		}
		if got := stored(); got != want {
			t.Errorf("%s: rule %+v, want %+v", tc.name, got, want)
		}
	}

	f.do(request{method: http.MethodPost, role: roleAdmin, path: page + "/enabled", form: url.Values{"enabled": {"0"}}})
	r = f.get(roleAdmin, base)
	wantBody(t, r, "More than 30 events in 15 min", `<td class="rule-state">off</td>`, "Turn on")
	r = f.get(roleMember, page)
	wantBody(t, r, `id="rule-facts"`, "More than 30 events in 15 min", "warning or worse", "<code>staging</code>", "<dd>off</dd>")
	noBody(t, r, `id="edit-rule"`, "Turn on", "Turn off")
	noBody(t, f.get(roleMember, base), "Turn on", ">Edit<")
}

// TestAlertHistoryDeletedIssue: the delivery history keeps a deleted
// issue's notification, with its title but without a link to the issue's
// page, which is a 404 now; an issue that exists keeps its link.
func TestAlertHistoryDeletedIssue(t *testing.T) {
	f := newFixture(t)
	base := fmt.Sprintf("/projects/%d/alerts", f.web.ID)
	hook := f.db.AlertHook(func() time.Time { return now })
	var issues []int64
	for i, title := range []string{"GoneError", "KeptError"} {
		ev := sampleEvent(f.web.ID, fmt.Sprintf("%032x", 0xdead0+i), now)
		ev.Exceptions[0].Type = title
		res, err := f.db.SaveBatch(f.ctx, []store.SaveRequest{{Event: ev, Fingerprint: title, GroupingVersion: "test",
			Title: ev.Title(), Culprit: ev.Culprit()}}, hook)
		f.must(err)
		issues = append(issues, res[0].IssueID)
	}
	gone, kept := issues[0], issues[1]
	r := f.get(roleAdmin, base)
	for _, id := range issues {
		if !strings.Contains(r.Body, fmt.Sprintf(`href="/issues/%d"`, id)) {
			t.Fatalf("the history does not link issue %d before any deletion\n%s", id, excerpt(r.Body))
		}
	}
	f.must(f.db.DeleteIssue(f.ctx, store.System, gone))
	r = f.get(roleAdmin, base)
	if strings.Contains(r.Body, fmt.Sprintf(`href="/issues/%d"`, gone)) {
		t.Errorf("the history links the deleted issue %d", gone)
	}
	if !strings.Contains(r.Body, fmt.Sprintf(`href="/issues/%d"`, kept)) {
		t.Errorf("the history no longer links issue %d, which exists", kept)
	}
	wantBody(t, r, "GoneError", "(deleted)", "<td>new issue</td>")
	noBody(t, r, "<td>new_issue</td>")
}

// TestReasonWords: every reason the store records reads as words in the
// delivery history, not as its code.
func TestReasonWords(t *testing.T) {
	for _, tc := range []struct{ reason, want string }{
		{store.RuleNewIssue, "new issue"},
		{store.RuleRegression, "regression"},
		{store.RuleFrequency, "more events than the rule allows"},
		{store.ReasonDigest, "digest of further events"},
		{store.ReasonTest, "test"},
		{store.ReasonNewIssuesHeld, "new issues held back during a burst"},
		{store.ReasonMonitorFailing, "cron monitor failing"},
		{store.ReasonMonitorRecovered, "cron monitor recovered"},
		{"from_the_future", "from_the_future"},
	} {
		if got := reasonWords(tc.reason); got != tc.want {
			t.Errorf("reasonWords(%q) = %q, want %q", tc.reason, got, tc.want)
		}
	}
}

// TestAlertsPageHidesWebhookTokens: a webhook's URL may carry its token in
// the first path segment (webhook.site/<uuid>), so members who are not the
// project's admins see its scheme and host only; the project's admins see
// the segment's first characters too, to tell receivers on one host
// apart, and nobody sees the token.
func TestAlertsPageHidesWebhookTokens(t *testing.T) {
	f := newFixture(t)
	const token = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
	_, err := f.db.CreateAlertChannel(f.ctx, store.System, store.AlertChannel{ProjectID: f.web.ID, Kind: store.ChannelWebhook,
		Name: "receiver", URL: "https://webhook.site/" + token})
	f.must(err)
	base := fmt.Sprintf("/projects/%d/alerts", f.web.ID)
	for _, tc := range []struct{ role, want string }{
		{roleMember, "https://webhook.site/…"},
		{roleLead, "https://webhook.site/0f1e…"},
		{roleAdmin, "https://webhook.site/0f1e…"},
	} {
		r := f.get(tc.role, base)
		if r.StatusCode != 200 || !strings.Contains(r.Body, tc.want+"<") {
			t.Errorf("%s: HTTP %d, want the channel shown as %s\n%s", tc.role, r.StatusCode, tc.want, excerpt(r.Body))
		}
		if strings.Contains(r.Body, token[:8]) {
			t.Errorf("%s sees the webhook's token", tc.role)
		}
	}
}

// TestAlertsPageNotMailed: the project's admins see, under each email
// channel, the members it does not mail and why; members see nobody's
// address.
func TestAlertsPageNotMailed(t *testing.T) {
	f := newFixture(t)
	mail, err := f.db.CreateAlertChannel(f.ctx, store.System, store.AlertChannel{ProjectID: f.web.ID, Kind: store.ChannelEmail, Name: "oncall"})
	f.must(err)
	other, err := f.db.CreateAlertChannel(f.ctx, store.System, store.AlertChannel{ProjectID: f.web.ID, Kind: store.ChannelEmail, Name: "everyone"})
	f.must(err)
	_, err = f.db.UnsubscribeChannel(f.ctx, mail.ID, f.member.ID)
	f.must(err)
	f.must(f.db.SetEmailOptOut(f.ctx, f.lead.ID, true))
	invited, err := f.db.CreateUser(f.ctx, "invited@example.com", "", store.RoleMember)
	f.must(err)
	f.must(f.db.AddMember(f.ctx, f.web.ID, invited.ID, store.RoleMember))
	base := fmt.Sprintf("/projects/%d/alerts", f.web.ID)
	row := func(r response, id int64) string {
		t.Helper()
		_, rest, ok := strings.Cut(r.Body, fmt.Sprintf(`<tr data-channel-id="%d">`, id))
		if !ok {
			t.Fatalf("no row of channel %d:\n%s", id, excerpt(r.Body))
		}
		tr, _, _ := strings.Cut(rest, "</tr>")
		return tr
	}
	for _, role := range []string{roleAdmin, roleLead} {
		r := f.get(role, base)
		wantStatus(t, r, http.StatusOK)
		if got := row(r, mail.ID); !strings.Contains(got, "lead@example.com (alert email off") ||
			!strings.Contains(got, "member@example.com (unsubscribed by an alert email's link") {
			t.Errorf("%s: the unsubscribed channel's row:\n%s", role, got)
		}
		if got := row(r, other.ID); !strings.Contains(got, "Not mailed: invited@example.com (no password set yet, added") ||
			!strings.Contains(got, "lead@example.com (alert email off") || strings.Contains(got, "member@example.com") {
			t.Errorf("%s: the other channel's row:\n%s", role, got)
		}
	}
	r := f.get(roleMember, base)
	wantStatus(t, r, http.StatusOK)
	if strings.Contains(r.Body, "Not mailed") || strings.Contains(r.Body, "lead@example.com") {
		t.Errorf("a member sees who is not mailed:\n%s", row(r, mail.ID))
	}
}

// TestAlertChannelNameTaken: the add-channel form refuses a name another
// channel of the project has, on the alerts page with the reason, and
// adds nothing.
func TestAlertChannelNameTaken(t *testing.T) {
	f := newFixture(t)
	base := fmt.Sprintf("/projects/%d/alerts", f.web.ID)
	form := url.Values{"kind": {"webhook"}, "name": {"local hook"}, "url": {"https://example.com/hook"}}
	wantRedirect(t, f.post(roleAdmin, base+"/channels", form), base)
	before, err := f.db.ListAlertChannels(f.ctx, store.System, f.web.ID)
	f.must(err)
	form.Set("name", "Local hook")
	r := f.post(roleAdmin, base+"/channels", form)
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, "This project already has a channel named &#34;Local hook&#34;; choose another name.")
	noBody(t, r, "whsec_")
	after, err := f.db.ListAlertChannels(f.ctx, store.System, f.web.ID)
	f.must(err)
	if len(after) != len(before) {
		t.Errorf("%d channels after the refused form, %d before", len(after), len(before))
	}
}

// noDNS is a resolver whose name server is down.
type noDNS struct{}

func (noDNS) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	return nil, &net.DNSError{Err: "server misbehaving", Name: host, IsTemporary: true}
}

// TestAddWebhookPrivateAddress is QA's loopback webhook: the form refuses
// it on the alerts page with delivery's reason and how to allow it, and
// adds nothing, unless the server allows private addresses; a host that
// does not resolve now is added, the message warning about it.
func TestAddWebhookPrivateAddress(t *testing.T) {
	f := newFixture(t)
	base := fmt.Sprintf("/projects/%d/alerts", f.web.ID)
	form := url.Values{"kind": {"webhook"}, "name": {"local hook"}, "url": {"http://127.0.0.1:19104/hook"}}
	r := f.post(roleAdmin, base+"/channels", form)
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, "127.0.0.1 is not a public address: alerts are not posted to private networks (set FLYTRAP_ALERTS_ALLOW_PRIVATE=1 on the server to allow it).")
	if chans, err := f.db.ListAlertChannels(f.ctx, store.System, f.web.ID); err != nil || len(chans) != 1 {
		t.Errorf("channels after the refusal: %+v, %v; want the default one only", chans, err)
	}

	f.d.svc.WithAlertDestinations(false, noDNS{})
	form.Set("url", "https://hooks.example.com/x")
	r = f.post(roleAdmin, base+"/channels", form)
	wantRedirect(t, r, base)
	if got := flashOf(t, r); !strings.Contains(got, "Channel local hook added. Could not resolve hooks.example.com just now") {
		t.Errorf("flash %q, want the channel added with a warning", got)
	}

	allowed := newFixture(t, func(c *Config) { c.AlertsAllowPrivate = true })
	form.Set("url", "http://127.0.0.1:19104/hook")
	wantRedirect(t, allowed.post(roleAdmin, base+"/channels", form), base)
}

// TestAlertEmailNotSent: a server without SMTP says on the alerts page,
// when an email channel or a rule of one is added, and in the delivery
// history that alert email is logged, not sent; one that sends says none
// of it.
func TestAlertEmailNotSent(t *testing.T) {
	logged := newFixture(t, func(c *Config) { c.AlertEmailLogged = true })
	base := fmt.Sprintf("/projects/%d/alerts", logged.web.ID)
	notice := "Alert email is not sent: this server has no SMTP server configured"

	// An email notification the worker only logged.
	ctx := logged.ctx
	n, err := logged.db.QueueTestNotification(ctx, store.System, logged.firstChannel(logged.web.ID), now)
	logged.must(err)
	cs, err := logged.db.ClaimNotifications(ctx, now, time.Minute, 10)
	logged.must(err)
	for _, c := range cs {
		if c.ID != n.ID {
			continue
		}
		c.AttemptID, err = logged.db.StartNotification(ctx, c, now, time.Minute)
		logged.must(err)
		logged.must(logged.db.FinishNotification(ctx, c, now, fmt.Errorf("%w: no SMTP server is configured", store.ErrNotSent), time.Time{}))
	}
	r := logged.get(roleMember, base)
	// The row says it briefly, the banner once at length.
	wantBody(t, r, `id="email-not-sent"`, notice, "--smtp-url",
		`<td><span title="not sent: no SMTP server is configured">not sent: no SMTP</span></td>`)
	noBody(t, r, `<td>not sent: no SMTP server is configured</td>`)

	r = logged.post(roleAdmin, base+"/channels", url.Values{"kind": {"email"}, "name": {"team mail"}})
	wantRedirect(t, r, base)
	if got := flashOf(t, r); !strings.Contains(got, "Channel team mail added. "+notice) {
		t.Errorf("flash %q, want the email channel added with the notice", got)
	}
	rule := url.Values{"type": {"regression"}, "channel_id": {fmt.Sprint(logged.firstChannel(logged.web.ID))}}
	r = logged.post(roleAdmin, base+"/rules", rule)
	if got := flashOf(t, r); !strings.Contains(got, "Rule added. "+notice) {
		t.Errorf("flash %q, want the rule added with the notice", got)
	}

	sends := newFixture(t)
	noBody(t, sends.get(roleMember, base), `id="email-not-sent"`, notice)
	r = sends.post(roleAdmin, base+"/rules", rule)
	if got := flashOf(t, r); got != "ok: Rule added." {
		t.Errorf("flash %q on a server that sends email", got)
	}
}
