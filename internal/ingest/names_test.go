package ingest

import (
	"encoding/json"
	"testing"
)

// A release or environment name Sentry would refuse is dropped with a
// note, and the event kept: a security tester's release, which sentry-cli
// printed to a terminal as it came (a clipboard write, a screen clear, a
// hyperlink, a carriage return), must not be stored.
func TestReleaseAndEnvironmentNamesRefused(t *testing.T) {
	hostile := "r\u001b]52;c;cHduZWQ=\u0007\u001b[2J\u001b]8;;http://evil/\u001b\\CLICK\u001b]8;;\u001b\\\u009b31m\r\b"
	for _, c := range []struct {
		name, release, environment string
		wantRelease, wantEnv       string
		notes                      []string
	}{
		{name: "valid names kept", release: "shop@4.0.1", environment: "production", wantRelease: "shop@4.0.1", wantEnv: "production"},
		{name: "escape sequences", release: hostile, environment: "prod\u001b[2J",
			notes: []string{"dropped release: the name holds a line break, tab or slash", "dropped environment: the name holds control characters"}},
		{name: "a slash, as Sentry refuses", release: "web/1.0", environment: "staging/eu", wantRelease: "", wantEnv: "",
			notes: []string{"dropped release: the name holds a line break, tab or slash", "dropped environment: the name holds a line break or slash"}},
		{name: "reserved", release: "latest", environment: "production", wantEnv: "production",
			notes: []string{"dropped release: the name is reserved"}},
		{name: "direction controls", release: "1.0\u202e", environment: "production", wantEnv: "production",
			notes: []string{"dropped release: the name holds control characters"}},
		{name: "a zero-width space", release: "r1\u200b", environment: "production", wantEnv: "production",
			notes: []string{"dropped release: the name holds invisible formatting characters"}},
		{name: "a word joiner", release: "r1\u2060", environment: "production", wantEnv: "production",
			notes: []string{"dropped release: the name holds invisible formatting characters"}},
		{name: "a byte order mark", release: "r1\ufeff", environment: "production", wantEnv: "production",
			notes: []string{"dropped release: the name holds invisible formatting characters"}},
		{name: "a soft hyphen", release: "r1\u00ad", environment: "production", wantEnv: "production",
			notes: []string{"dropped release: the name holds invisible formatting characters"}},
		{name: "spaces around", release: " shop@4.0.1 ", environment: " production ", wantRelease: "shop@4.0.1", wantEnv: "production"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, q := newTestHandler(t, defaultKeys, nil)
			body, err := json.Marshal(map[string]string{"message": "x", "release": c.release, "environment": c.environment})
			if err != nil {
				t.Fatal(err)
			}
			if rec := (req{path: "/api/42/store/", header: sentryAuth(testKey), body: body}).do(h); rec.Code != 200 {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			ev := q.only(t)
			if ev.Release != c.wantRelease || ev.Environment != c.wantEnv {
				t.Errorf("release %q, environment %q; want %q, %q", ev.Release, ev.Environment, c.wantRelease, c.wantEnv)
			}
			for _, n := range c.notes {
				if !hasNote(&ev, n) {
					t.Errorf("no note %q in %q", n, ev.Notes)
				}
			}
			if len(c.notes) == 0 && len(ev.Notes) != 0 {
				t.Errorf("notes %q, want none", ev.Notes)
			}
		})
	}
}

// An environment tag becomes the event's environment only when the name
// would be accepted as the environment itself.
func TestEnvironmentTagRefused(t *testing.T) {
	for tag, want := range map[string]string{"production": "production", "prod/eu": "", "prod\u001b[2J": ""} {
		h, q := newTestHandler(t, defaultKeys, nil)
		body, err := json.Marshal(map[string]any{"message": "x", "tags": map[string]string{"environment": tag}})
		if err != nil {
			t.Fatal(err)
		}
		if rec := (req{path: "/api/42/store/", header: sentryAuth(testKey), body: body}).do(h); rec.Code != 200 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if ev := q.only(t); ev.Environment != want {
			t.Errorf("environment tag %q: event environment %q, want %q", tag, ev.Environment, want)
		}
	}
}
