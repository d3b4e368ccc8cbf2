package service_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/notify"
	"github.com/getflytrap/flytrap/internal/service"
	"github.com/getflytrap/flytrap/internal/store"
)

// resolver answers names from a map; a missing name does not resolve.
type resolver map[string]string

func (r resolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	ip, ok := r[host]
	if !ok {
		return nil, &net.DNSError{Err: "server misbehaving", Name: host, IsTemporary: true}
	}
	return []netip.Addr{netip.MustParseAddr(ip)}, nil
}

var names = resolver{"hooks.example.com": "93.184.215.14", "intranet.corp": "10.1.2.3"}

// TestWebhookDestinationCheckedWhenAdded is QA's loopback webhook: a
// webhook whose host is, or resolves to, an address delivery refuses is
// refused when added, with delivery's reason and how to allow it, and
// added when private addresses are allowed; a host that does not resolve
// now is added with a warning. Slack and email are not resolved.
func TestWebhookDestinationCheckedWhenAdded(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		f.svc.WithAlertDestinations(false, names)
		for _, tc := range []struct{ url, msg string }{
			{"http://127.0.0.1:19104/hook", "127.0.0.1 is not a public address: alerts are not posted to private networks (set " + notify.EnvAllowPrivate + "=1 on the server to allow it)."},
			{"http://[::1]/hook", "::1 is not a public address"},
			{"http://169.254.169.254/latest", "169.254.169.254 is not a public address"},
			{"https://intranet.corp/hook", "The address intranet.corp resolves to is not a public address"},
			// IPv4 addresses in the forms resolvers and browsers take
			// are those addresses, not names that do not resolve.
			{"http://127.1/hook", "127.1 (127.0.0.1) is not a public address: alerts are not posted to private networks (set " + notify.EnvAllowPrivate + "=1 on the server to allow it)."},
			{"http://2130706433:19104/hook", "2130706433 (127.0.0.1) is not a public address"},
			{"http://0x7f000001/hook", "0x7f000001 (127.0.0.1) is not a public address"},
			{"http://0177.0.0.1/hook", "0177.0.0.1 (127.0.0.1) is not a public address"},
			{"http://0251.0376.0251.0376/latest", "0251.0376.0251.0376 (169.254.169.254) is not a public address"},
		} {
			_, _, err := f.svc.Alerts.CreateChannel(f.ctx, f.admin, f.web.ID, store.ChannelWebhook, "local hook", tc.url)
			wantRefusal(t, tc.url, err, service.ErrInvalid, tc.msg)
		}
		chans, err := f.db.ListAlertChannels(f.ctx, store.System, f.web.ID)
		if err != nil || len(chans) != 1 {
			t.Fatalf("channels after the refusals: %+v, %v; want the default one only", chans, err)
		}

		c, warning, err := f.svc.Alerts.CreateChannel(f.ctx, f.admin, f.web.ID, store.ChannelWebhook, "public", "https://hooks.example.com/x")
		if err != nil || warning != "" || c.ID == 0 {
			t.Errorf("a public webhook: %+v, %q, %v", c, warning, err)
		}
		// A public one is saved as its dotted quad, which delivery
		// connects to.
		for in, want := range map[string]string{
			"http://134744072:8080/hook?a=1": "http://8.8.8.8:8080/hook?a=1",
			"https://0x08080808/hook":        "https://8.8.8.8/hook",
			"https://8.8.8.8/hook":           "https://8.8.8.8/hook",
		} {
			c, warning, err := f.svc.Alerts.CreateChannel(f.ctx, f.admin, f.web.ID, store.ChannelWebhook, "public "+in, in)
			if err != nil || warning != "" || c.URL != want {
				t.Errorf("%s: %+v, %q, %v; want it saved as %s without a warning", in, c, warning, err, want)
			}
		}
		c, warning, err = f.svc.Alerts.CreateChannel(f.ctx, f.admin, f.web.ID, store.ChannelWebhook, "dns down", "https://hooks.unresolved.example/x")
		if err != nil || c.ID == 0 || !strings.Contains(warning, "Could not resolve hooks.unresolved.example just now") {
			t.Errorf("a webhook whose host does not resolve: %+v, %q, %v; want it added with a warning", c, warning, err)
		}
		if _, warning, err := f.svc.Alerts.CreateChannel(f.ctx, f.admin, f.web.ID, store.ChannelSlack, "slack", "https://hooks.slack.com/services/T/B/x"); err != nil || warning != "" {
			t.Errorf("a Slack channel: %q, %v", warning, err)
		}

		f.svc.WithAlertDestinations(true, names)
		if _, warning, err := f.svc.Alerts.CreateChannel(f.ctx, f.admin, f.web.ID, store.ChannelWebhook, "local hook", "http://127.0.0.1:19104/hook"); err != nil || warning != "" {
			t.Errorf("a loopback webhook with private addresses allowed: %q, %v", warning, err)
		}
	})
}

// TestRuleEnvironmentEventsCannotCarry is QA's --environment "bad/env":
// ingest drops an environment Sentry would refuse (a slash, a line
// break, a control or direction character), so a rule filtering on one
// could never fire and is refused, saying why; one events can carry is
// kept, as is none (any environment).
func TestRuleEnvironmentEventsCannotCarry(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		chans, err := f.db.ListAlertChannels(f.ctx, store.System, f.web.ID)
		if err != nil || len(chans) == 0 {
			t.Fatalf("channels: %+v, %v", chans, err)
		}
		rule := func(env string) store.AlertRule {
			return store.AlertRule{ProjectID: f.web.ID, ChannelID: chans[0].ID, Type: store.RuleNewIssue, Environment: env, Enabled: true}
		}
		before, err := f.db.ListAlertRules(f.ctx, store.System, f.web.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, env := range []string{"bad/env", "prod\nstaging", "prod\x1b[31m", "prod\u202e"} {
			_, err := f.svc.Alerts.PutRule(f.ctx, f.admin, rule(env))
			wantRefusal(t, env, err, service.ErrInvalid, fmt.Sprintf("The environment %q holds", env))
			wantRefusal(t, env, err, service.ErrInvalid, "so the rule could never fire")
		}
		rules, err := f.db.ListAlertRules(f.ctx, store.System, f.web.ID)
		if err != nil || len(rules) != len(before) {
			t.Fatalf("rules after the refusals: %+v, %v; want the default ones only", rules, err)
		}
		for _, env := range []string{"", "production", "staging-eu.1", "Prüfung"} {
			if r, err := f.svc.Alerts.PutRule(f.ctx, f.admin, rule(env)); err != nil || r.Environment != env {
				t.Errorf("environment %q: %+v, %v; want it kept", env, r, err)
			}
		}
		// Replacing a rule is checked alike (the dashboard's edit form).
		r, err := f.svc.Alerts.PutRule(f.ctx, f.admin, rule("production"))
		if err != nil {
			t.Fatal(err)
		}
		r.Environment = "a/b"
		_, err = f.svc.Alerts.PutRule(f.ctx, f.admin, r)
		wantRefusal(t, "replacing with a/b", err, service.ErrInvalid, `The environment "a/b" holds a line break or slash`)
	})
}

// TestPrivateAddressRefusalKeepsAddressCase is QA's
// http://[fe80::1%25eth0]/: the refusal began "Fe80::1 is not a public
// address", the sentence's capital applied to the address. A message
// that starts with an address keeps it as it is; one that starts with a
// word (a name's "the address ... resolves to") still gets its capital.
func TestPrivateAddressRefusalKeepsAddressCase(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		f.svc.WithAlertDestinations(false, resolver{"hooks.internal": "fd00::7", "db.internal": "10.0.0.5"})
		for _, tc := range []struct{ url, start string }{
			{"http://[fe80::1%25eth0]/hook", "fe80::1 is not a public address"},
			{"http://[fe80::1]/hook", "fe80::1 is not a public address"},
			{"http://[fd00::1]:8080/hook", "fd00::1 is not a public address"},
			{"http://[::ffff:10.0.0.1]/hook", "::ffff:10.0.0.1 is not a public address"},
			{"http://10.0.0.1/hook", "10.0.0.1 is not a public address"},
			{"http://127.0.0.1:19104/hook", "127.0.0.1 is not a public address"},
			{"https://hooks.internal/x", "The address hooks.internal resolves to is not a public address"},
			{"https://db.internal/x", "The address db.internal resolves to is not a public address"},
		} {
			_, _, err := f.svc.Alerts.CreateChannel(f.ctx, f.admin, f.web.ID, store.ChannelWebhook, "hook", tc.url)
			msg, ok := service.Message(err)
			if !ok || !strings.HasPrefix(msg, tc.start) || !strings.HasSuffix(msg, "to allow it).") {
				t.Errorf("%s: %q (%v), want a message starting %q", tc.url, msg, err, tc.start)
			}
		}
	})
}

// TestChannelNameInvalidUTF8: a channel name with bytes that are not UTF-8
// is refused with a message saying so, on both stores alike, where
// PostgreSQL refused the insert (a 400 at best) and SQLite stored the bytes.
func TestChannelNameInvalidUTF8(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		_, _, err := f.svc.Alerts.CreateChannel(f.ctx, f.admin, f.web.ID, store.ChannelEmail, "team\xffmail", "")
		wantRefusal(t, "channel name team\\xffmail", err, service.ErrInvalid, "valid UTF-8")
	})
}

// countingStore counts the checks that an actor manages a project.
type countingStore struct {
	*store.DB
	manages int
}

func (c *countingStore) ManagesProject(ctx context.Context, v store.Viewer, id int64) error {
	c.manages++
	return c.DB.ManagesProject(ctx, v, id)
}

// TestNotMailedAdminsOnly: the list of members alert email skips is the
// project's admins' to read. NotMailed refuses a member (403) and hides
// the project from an outsider (404); NotMailedIfAdmin, which the alerts
// page uses for its forms too, answers a member "not an admin" and no
// list, an outsider 404, and an admin the list, each with one check of
// the actor's role.
func TestNotMailedAdminsOnly(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		if err := f.db.SetEmailOptOut(f.ctx, f.member.UserID, true); err != nil {
			t.Fatal(err)
		}
		c := &countingStore{DB: f.db}
		alerts := service.New(c, nil).Alerts
		for _, tc := range []struct {
			who     string
			a       service.Actor
			err     error
			manages bool
		}{
			{"admin", f.admin, nil, true},
			{"member", f.member, service.ErrForbidden, false},
			{"outsider", f.outsider, service.ErrNotFound, false},
		} {
			outs, err := alerts.NotMailed(f.ctx, tc.a, f.web.ID)
			wantRefusal(t, "NotMailed by "+tc.who, err, tc.err, "")
			if tc.manages != (len(outs) == 1 && outs[0].Email == "member@example.com") {
				t.Errorf("NotMailed by %s = %+v", tc.who, outs)
			}

			c.manages = 0
			outs, manages, err := alerts.NotMailedIfAdmin(f.ctx, tc.a, f.web.ID)
			if tc.err == service.ErrForbidden {
				tc.err = nil // a member is told no, without an error
			}
			wantRefusal(t, "NotMailedIfAdmin by "+tc.who, err, tc.err, "")
			if manages != tc.manages || manages != (len(outs) == 1) || c.manages != 1 {
				t.Errorf("NotMailedIfAdmin by %s = %+v, %v, with %d checks; want manages %v, one check", tc.who, outs, manages, c.manages, tc.manages)
			}
		}
	})
}
