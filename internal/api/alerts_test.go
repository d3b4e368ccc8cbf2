package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/notify"
	"github.com/getflytrap/flytrap/internal/store"
)

// defaultAlerts returns the ID of a project's default email channel and
// of its new-issue rule.
func defaultAlerts(t *testing.T, db *store.DB, projectID int64) (channel, rule int64) {
	t.Helper()
	ctx := context.Background()
	cs, err := db.ListAlertChannels(ctx, store.System, projectID)
	if err != nil || len(cs) != 1 {
		t.Fatalf("channels %v, %v", cs, err)
	}
	rs, err := db.ListAlertRules(ctx, store.System, projectID)
	if err != nil || len(rs) != 2 {
		t.Fatalf("rules %v, %v", rs, err)
	}
	return cs[0].ID, rs[0].ID
}

// alertRoutes are the alert routes of the authorization matrix: members
// read, admins change, outsiders see nothing; everyone sets their own
// email opt-out.
func alertRoutes(f *fixture) []route {
	p, o := fmt.Sprintf("/api/v1/projects/%d", f.project.ID), fmt.Sprintf("/api/v1/projects/%d", f.other.ID)
	ch, och := fmt.Sprintf("/api/v1/alert-channels/%d", f.channel), fmt.Sprintf("/api/v1/alert-channels/%d", f.otherChannel)
	ru, oru := fmt.Sprintf("/api/v1/alert-rules/%d", f.rule), fmt.Sprintf("/api/v1/alert-rules/%d", f.otherRule)
	i, oi := fmt.Sprintf("/api/v1/issues/%d", f.issueA), fmt.Sprintf("/api/v1/issues/%d", f.otherIssue)
	webhook := `{"kind":"webhook","name":"ops","url":"https://example.com/hook"}`
	rule := func(channel int64) string {
		return fmt.Sprintf(`{"channel_id":%d,"type":"frequency","threshold":100,"window_minutes":5,"min_level":"error"}`, channel)
	}
	return []route{
		{"GET", p + "/alert-channels", "", 200, 200, 404},
		{"GET", o + "/alert-channels", "", 200, 404, 404},
		{"POST", p + "/alert-channels", webhook, 201, 403, 404},
		{"POST", o + "/alert-channels", webhook, 201, 404, 404},
		{"DELETE", ch, "", 204, 403, 404},
		{"DELETE", och, "", 204, 404, 404},
		{"POST", ch + "/test", "", 202, 403, 404},
		{"POST", och + "/test", "", 202, 404, 404},
		{"GET", p + "/alert-rules", "", 200, 200, 404},
		{"GET", o + "/alert-rules", "", 200, 404, 404},
		{"POST", p + "/alert-rules", rule(f.channel), 201, 403, 404},
		{"POST", o + "/alert-rules", rule(f.otherChannel), 201, 404, 404},
		{"POST", p + "/alert-rules", rule(f.otherChannel), 400, 403, 404},
		{"PUT", ru, rule(f.channel), 200, 403, 404},
		{"PUT", oru, rule(f.otherChannel), 200, 404, 404},
		{"DELETE", ru, "", 204, 403, 404},
		{"DELETE", oru, "", 204, 404, 404},
		{"GET", p + "/alert-settings", "", 200, 200, 404},
		{"GET", o + "/alert-settings", "", 200, 404, 404},
		{"PUT", p + "/alert-settings", `{"cooldown_minutes":30}`, 200, 403, 404},
		{"PUT", o + "/alert-settings", `{"cooldown_minutes":30}`, 200, 404, 404},
		{"GET", p + "/notifications", "", 200, 200, 404},
		{"GET", o + "/notifications", "", 200, 404, 404},
		{"GET", p + "/alert-not-mailed", "", 200, 403, 404},
		{"GET", o + "/alert-not-mailed", "", 200, 404, 404},
		{"PUT", i + "/mute", `{"muted":true}`, 200, 403, 404},
		{"PUT", oi + "/mute", `{"muted":true}`, 200, 404, 404},
		{"GET", "/api/v1/me/alerts", "", 200, 200, 200},
		{"PUT", "/api/v1/me/alerts", `{"email_opt_out":true}`, 200, 200, 200},
	}
}

// TestAlertRulesCRUD creates, reads, changes and deletes channels and rules
// over REST, and checks what each answer shows.
func TestAlertRulesCRUD(t *testing.T) {
	f := newFixture(t)
	p := fmt.Sprintf("/api/v1/projects/%d", f.project.ID)

	code, _, out := f.do(t, f.adminToken, "POST", p+"/alert-channels", `{"kind":"webhook","name":"ops","url":"https://hooks.example.com/T123/secret-token"}`)
	if code != 201 || !strings.HasPrefix(fmt.Sprint(out["secret"]), "whsec_") {
		t.Fatalf("create webhook = %d %v", code, out)
	}
	hook := int64(out["id"].(float64))
	// A member sees the scheme and host only: a token may be the first
	// path segment (webhook.site/<uuid>). The project's admins, admin users
	// or not, see the first segment too, to tell receivers apart.
	for _, tc := range []struct{ who, token, want string }{
		{"member", f.memberToken, "https://hooks.example.com/…"},
		{"project admin", f.leadToken, "https://hooks.example.com/T123/…"},
		{"admin user", f.adminToken, "https://hooks.example.com/T123/…"},
	} {
		_, _, out = f.do(t, tc.token, "GET", p+"/alert-channels", "")
		data := out["data"].([]any)
		if len(data) != 2 {
			t.Fatalf("%s: channels = %v", tc.who, data)
		}
		listed := data[1].(map[string]any)
		if listed["secret"] != nil || listed["url"] != tc.want {
			t.Errorf("%s: a listed channel shows %v; want no secret and the URL as %s", tc.who, listed, tc.want)
		}
	}

	for _, bad := range []string{
		`{"kind":"pager"}`,
		`{"kind":"slack","url":"https://evil.example.com/services/x"}`,
		`{"kind":"webhook","url":"ftp://example.com"}`,
		`{"kind":"webhook","url":"https://user:pw@example.com/"}`,
		`{"kind":"email","name":"ops\u001b]0;pwned\u0007"}`,
		`{"kind":"email","name":"ops\u202eevil"}`,
	} {
		if code, _, out := f.do(t, f.adminToken, "POST", p+"/alert-channels", bad); code != 400 {
			t.Errorf("POST %s = %d %v, want 400", bad, code, out)
		}
	}

	code, _, out = f.do(t, f.adminToken, "POST", p+"/alert-rules",
		fmt.Sprintf(`{"channel_id":%d,"type":"frequency","threshold":50,"window_minutes":10,"min_level":"warning","environment":"production"}`, hook))
	if code != 201 || out["threshold"] != 50.0 || out["enabled"] != true || out["environment"] != "production" {
		t.Fatalf("create rule = %d %v", code, out)
	}
	rule := fmt.Sprintf("/api/v1/alert-rules/%v", out["id"])
	for _, bad := range []string{
		fmt.Sprintf(`{"channel_id":%d,"type":"frequency","threshold":0,"window_minutes":10}`, hook),
		fmt.Sprintf(`{"channel_id":%d,"type":"frequency","threshold":5,"window_minutes":100000}`, hook),
		fmt.Sprintf(`{"channel_id":%d,"type":"new_issue","min_level":"loud"}`, hook),
		fmt.Sprintf(`{"channel_id":%d,"type":"whenever"}`, hook),
		fmt.Sprintf(`{"channel_id":%d,"type":"new_issue"}`, f.otherChannel),
		fmt.Sprintf(`{"channel_id":%d,"type":"new_issue","environment":"bad/env"}`, hook),
	} {
		if code, _, out := f.do(t, f.adminToken, "POST", p+"/alert-rules", bad); code != 400 {
			t.Errorf("POST rule %s = %d %v, want 400", bad, code, out)
		}
	}
	// An environment ingest drops could never match: refused, saying why.
	code, _, out = f.do(t, f.adminToken, "POST", p+"/alert-rules", fmt.Sprintf(`{"channel_id":%d,"type":"new_issue","environment":"bad/env"}`, hook))
	if e, _ := out["error"].(map[string]any); code != 400 || !strings.Contains(fmt.Sprint(e["message"]), `The environment "bad/env" holds a line break or slash`) {
		t.Errorf("a rule on environment bad/env = %d %v, want 400 saying why", code, out)
	}
	code, _, out = f.do(t, f.adminToken, "PUT", rule, fmt.Sprintf(`{"channel_id":%d,"type":"regression","enabled":false}`, hook))
	if code != 200 || out["type"] != "regression" || out["enabled"] != false || out["threshold"] != 0.0 {
		t.Errorf("PUT rule = %d %v", code, out)
	}
	_, _, out = f.do(t, f.memberToken, "GET", p+"/alert-rules", "")
	if n := len(out["data"].([]any)); n != 3 {
		t.Errorf("%d rules, want 3", n)
	}
	// Deleting the channel deletes its rule.
	if code, _, _ := f.do(t, f.adminToken, "DELETE", fmt.Sprintf("/api/v1/alert-channels/%d", hook), ""); code != 204 {
		t.Fatalf("DELETE channel = %d", code)
	}
	if code, _, _ := f.do(t, f.adminToken, "PUT", rule, `{"channel_id":1,"type":"new_issue"}`); code != 404 {
		t.Errorf("rule of a deleted channel: %d, want 404", code)
	}

	// Test send, history, settings, mute, opt-out.
	code, _, out = f.do(t, f.adminToken, "POST", fmt.Sprintf("/api/v1/alert-channels/%d/test", f.channel), "")
	if code != 202 || out["reason"] != "test" || out["status"] != "pending" {
		t.Errorf("test send = %d %v", code, out)
	}
	_, _, out = f.do(t, f.memberToken, "GET", p+"/notifications?limit=10", "")
	if data := out["data"].([]any); len(data) != 1 || data[0].(map[string]any)["channel_name"] != "Members by email" {
		t.Errorf("history = %v", out)
	}
	if code, _, out := f.do(t, f.adminToken, "PUT", p+"/alert-settings", `{"cooldown_minutes":0}`); code != 400 {
		t.Errorf("cooldown 0 = %d %v", code, out)
	}
	if code, _, out := f.do(t, f.adminToken, "PUT", p+"/alert-settings", `{"cooldown_minutes":15}`); code != 200 || out["cooldown_minutes"] != 15.0 {
		t.Errorf("cooldown 15 = %d %v", code, out)
	}
	if code, _, _ := f.do(t, f.adminToken, "PUT", fmt.Sprintf("/api/v1/issues/%d/mute", f.issueA), `{"muted":true}`); code != 200 {
		t.Errorf("mute = %d", code)
	}
	if m, _ := f.db.IssueMuted(context.Background(), store.System, f.issueA); !m {
		t.Error("issue not muted")
	}
	if code, _, _ := f.do(t, f.memberToken, "PUT", "/api/v1/me/alerts", `{"email_opt_out":true}`); code != 200 {
		t.Errorf("opt out = %d", code)
	}
	if _, _, out := f.do(t, f.memberToken, "GET", "/api/v1/me/alerts", ""); out["email_opt_out"] != true {
		t.Errorf("me/alerts = %v", out)
	}
	if code, _, _ := f.send(t, "PUT", "/api/v1/me/alerts", `{"email_opt_out":"yes"}`, bearer(f.memberToken)); code != http.StatusBadRequest {
		t.Errorf("bad body = %d", code)
	}
}

// TestAlertChannelNameTaken: a second channel of one name in a project,
// in any case, is a 409 that says what to do; another project may use it.
func TestAlertChannelNameTaken(t *testing.T) {
	f := newFixture(t)
	p := fmt.Sprintf("/api/v1/projects/%d/alert-channels", f.project.ID)
	if code, _, out := f.do(t, f.adminToken, "POST", p, `{"kind":"webhook","name":"local hook","url":"https://example.com/hook"}`); code != 201 {
		t.Fatalf("first channel = %d %v", code, out)
	}
	for _, name := range []string{"local hook", " Local Hook "} {
		code, _, out := f.do(t, f.adminToken, "POST", p, `{"kind":"webhook","name":"`+name+`","url":"https://example.com/other"}`)
		e, _ := out["error"].(map[string]any)
		if code != 409 || e["code"] != "conflict" || !strings.Contains(fmt.Sprint(e["message"]), `already has a channel named "`+strings.TrimSpace(name)+`"`) {
			t.Errorf("a second channel named %q = %d %v, want 409 saying the name is taken", name, code, out)
		}
	}
	if code, _, out := f.do(t, f.adminToken, "POST", fmt.Sprintf("/api/v1/projects/%d/alert-channels", f.other.ID), `{"kind":"email","name":"local hook"}`); code != 201 {
		t.Errorf("the name in another project = %d %v", code, out)
	}
}

// noDNS is a resolver whose name server is down.
type noDNS struct{}

func (noDNS) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	return nil, &net.DNSError{Err: "server misbehaving", Name: host, IsTemporary: true}
}

// TestWebhookPrivateAddressRefused is QA's loopback webhook over REST: it
// is refused when added (400, delivery's reason and how to allow it)
// unless private addresses are allowed, as delivery does; a host that
// does not resolve now is added with a warning.
func TestWebhookPrivateAddressRefused(t *testing.T) {
	f := newFixture(t)
	p := fmt.Sprintf("/api/v1/projects/%d/alert-channels", f.project.ID)
	loopback := `{"kind":"webhook","name":"local hook","url":"http://127.0.0.1:19104/hook"}`
	code, _, out := f.do(t, f.adminToken, "POST", p, loopback)
	e, _ := out["error"].(map[string]any)
	if code != 400 || !strings.Contains(fmt.Sprint(e["message"]), "127.0.0.1 is not a public address") ||
		!strings.Contains(fmt.Sprint(e["message"]), "set FLYTRAP_ALERTS_ALLOW_PRIVATE=1") {
		t.Errorf("a loopback webhook = %d %v, want 400 saying why and how to allow it", code, out)
	}

	// The server's setting, and a name server that is down.
	allowed := New(f.db, nil, nil).WithAlertDestinations(true)
	g := *f
	g.srv = httptest.NewServer(allowed)
	t.Cleanup(g.srv.Close)
	if code, _, out := g.do(t, f.adminToken, "POST", p, loopback); code != 201 || out["warning"] != nil {
		t.Errorf("a loopback webhook with private addresses allowed = %d %v", code, out)
	}
	down := New(f.db, nil, nil)
	down.svc.WithAlertDestinations(false, noDNS{})
	g.srv = httptest.NewServer(down)
	t.Cleanup(g.srv.Close)
	code, _, out = g.do(t, f.adminToken, "POST", p, `{"kind":"webhook","name":"later","url":"https://hooks.example.com/x"}`)
	if code != 201 || !strings.Contains(fmt.Sprint(out["warning"]), "Could not resolve hooks.example.com just now") {
		t.Errorf("a webhook whose host does not resolve = %d %v, want 201 with a warning", code, out)
	}
}

// TestNotificationNextAttempt: the history gives next_attempt_at only to
// notifications that will be tried (again); a sent, dead or logged one
// has none, rather than 1970-01-01.
func TestNotificationNextAttempt(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	at := time.Now().UTC().Truncate(time.Millisecond)
	retryAt := at.Add(time.Hour)
	// Five notifications: four sent, retried, dead and logged, the newest
	// left pending.
	for range 5 {
		if _, err := f.db.QueueTestNotification(ctx, store.System, f.channel, at); err != nil {
			t.Fatal(err)
		}
	}
	claims, err := f.db.ClaimNotifications(ctx, at, time.Minute, 4)
	if err != nil || len(claims) != 4 {
		t.Fatalf("claimed %d, %v", len(claims), err)
	}
	outcomes := []struct {
		err   error
		retry time.Time
	}{{nil, time.Time{}}, {errors.New("smtp: 451 try later"), retryAt}, {errors.New("smtp: 550 no"), time.Time{}}, {notify.ErrNoMailer, time.Time{}}}
	for i, c := range claims {
		if c.AttemptID, err = f.db.StartNotification(ctx, c, at, time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := f.db.FinishNotification(ctx, c, at, outcomes[i].err, outcomes[i].retry); err != nil {
			t.Fatal(err)
		}
	}
	_, _, out := f.do(t, f.memberToken, "GET", fmt.Sprintf("/api/v1/projects/%d/notifications", f.project.ID), "")
	got := map[string][]any{}
	for _, d := range out["data"].([]any) {
		n := d.(map[string]any)
		next, ok := n["next_attempt_at"]
		if !ok {
			next = "absent"
		}
		got[n["status"].(string)] = append(got[n["status"].(string)], next)
	}
	tests := []struct {
		status string
		want   []any
	}{
		{"sent", []any{"absent"}},
		{"dead", []any{"absent"}},
		{"logged", []any{"absent"}},
		// Newest first: the one never tried, then the one to retry.
		{"pending", []any{at.Format(time.RFC3339Nano), retryAt.Format(time.RFC3339Nano)}},
	}
	for _, tt := range tests {
		if fmt.Sprint(got[tt.status]) != fmt.Sprint(tt.want) {
			t.Errorf("next_attempt_at of the %s notifications = %v, want %v", tt.status, got[tt.status], tt.want)
		}
	}
}

// TestAlertEmailLoggedWarns: on a server that only logs alert email (no
// SMTP), adding an email channel or a rule of one answers with a warning
// naming --smtp-url; a Slack channel's rule, or a server that sends, has
// none.
func TestAlertEmailLoggedWarns(t *testing.T) {
	f := newFixture(t)
	g := *f
	g.srv = httptest.NewServer(New(f.db, nil, nil).WithAlertEmailLogged(true))
	t.Cleanup(g.srv.Close)
	channels := fmt.Sprintf("/api/v1/projects/%d/alert-channels", f.project.ID)
	rules := fmt.Sprintf("/api/v1/projects/%d/alert-rules", f.project.ID)

	code, _, out := g.do(t, f.adminToken, "POST", channels, `{"kind":"email","name":"team mail"}`)
	if code != 201 || !strings.Contains(fmt.Sprint(out["warning"]), "--smtp-url (or FLYTRAP_SMTP_URL)") {
		t.Fatalf("email channel on a server without SMTP = %d %v, want 201 with a warning", code, out)
	}
	email := int64(out["id"].(float64))
	code, _, out = g.do(t, f.adminToken, "POST", rules, fmt.Sprintf(`{"channel_id":%d,"type":"regression"}`, email))
	if code != 201 || !strings.Contains(fmt.Sprint(out["warning"]), "Alert email is not sent") {
		t.Errorf("rule of an email channel = %d %v, want 201 with a warning", code, out)
	}
	code, _, out = g.do(t, f.adminToken, "POST", channels, `{"kind":"slack","name":"ops","url":"https://hooks.slack.com/services/T1/B2/x"}`)
	if code != 201 {
		t.Fatalf("slack channel = %d %v", code, out)
	}
	code, _, out = g.do(t, f.adminToken, "POST", rules, fmt.Sprintf(`{"channel_id":%d,"type":"regression"}`, int64(out["id"].(float64))))
	if code != 201 || out["warning"] != nil {
		t.Errorf("rule of a Slack channel = %d %v, want no warning", code, out)
	}
	code, _, out = f.do(t, f.adminToken, "POST", rules, fmt.Sprintf(`{"channel_id":%d,"type":"new_issue"}`, email))
	if code != 201 || out["warning"] != nil {
		t.Errorf("rule of an email channel on a server that sends = %d %v, want no warning", code, out)
	}
}

// TestNotMailed: the project's admins, admin users or not, read who its
// email alerts skip and why; a member of the project is refused (403)
// and learns no address.
func TestNotMailed(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.db.UnsubscribeChannel(ctx, f.channel, f.member.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.db.SetEmailOptOut(ctx, f.lead.ID, true); err != nil {
		t.Fatal(err)
	}
	invited, err := f.db.CreateUser(ctx, "invited@example.com", "", store.RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.db.AddMember(ctx, f.project.ID, invited.ID, store.RoleMember); err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/api/v1/projects/%d/alert-not-mailed", f.project.ID)
	want := fmt.Sprintf(`invited@example.com no_password 0,lead@example.com alert_email_off 0,member@example.com unsubscribed %d`, f.channel)
	for _, token := range []string{f.leadToken, f.adminToken} {
		code, _, out := f.do(t, token, "GET", path, "")
		data, _ := out["data"].([]any)
		var got []string
		for _, d := range data {
			m := d.(map[string]any)
			ch, _ := m["channel_id"].(float64)
			if _, err := time.Parse(time.RFC3339, fmt.Sprint(m["since"])); err != nil {
				t.Errorf("since %v: %v", m["since"], err)
			}
			got = append(got, fmt.Sprintf("%v %v %d", m["email"], m["reason"], int64(ch)))
		}
		if code != 200 || strings.Join(got, ",") != want {
			t.Errorf("GET %s = %d %v\ngot  %s\nwant %s", path, code, out, strings.Join(got, ","), want)
		}
	}
	code, _, out := f.do(t, f.memberToken, "GET", path, "")
	if code != 403 || strings.Contains(fmt.Sprint(out), "@example.com") {
		t.Errorf("a member: %d %v, want 403 and no address", code, out)
	}
}
