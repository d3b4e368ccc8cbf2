package ingest

import (
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"

	"github.com/getflytrap/flytrap/internal/event"
)

// Check-ins as the SDKs send them: @sentry/node's captureCheckIn with a
// monitor config (@sentry/core's serialized check-in, with the trace
// context), then its end.
const (
	nodeCheckIn = `{"check_in_id":"2c3a8a5cb4a64b3a9b4a3f0b6a0e1d2c","monitor_slug":"nightly-backup","status":"in_progress",` +
		`"release":"api@3.1.0","environment":"production","monitor_config":{"schedule":{"type":"crontab","value":"0 3 * * *"},` +
		`"checkin_margin":5,"max_runtime":60,"timezone":"Europe/Vienna","failure_issue_threshold":2,"recovery_threshold":3},` +
		`"contexts":{"trace":{"trace_id":"4c79f60c11214eb38604f4ae0781bfb2","span_id":"a7d6c8b6f8e8d9c2"}}}`
	nodeCheckInDone = `{"check_in_id":"2c3a8a5cb4a64b3a9b4a3f0b6a0e1d2c","monitor_slug":"nightly-backup","status":"ok","duration":12.345,` +
		`"release":"api@3.1.0","environment":"production"}`
)

func TestDecodeCheckIn(t *testing.T) {
	d := testDecoder()
	ci, err := d.decodeCheckIn([]byte(nodeCheckIn))
	if err != nil {
		t.Fatal(err)
	}
	want := event.MonitorConfig{ScheduleType: "crontab", Crontab: "0 3 * * *", MarginMinutes: 5, MaxRuntimeMinutes: 60,
		Timezone: "Europe/Vienna", FailureThreshold: 2, RecoveryThreshold: 3}
	if ci.ID != "2c3a8a5cb4a64b3a9b4a3f0b6a0e1d2c" || ci.Slug != "nightly-backup" || ci.Status != "in_progress" || ci.Duration != nil ||
		ci.Release != "api@3.1.0" || ci.Environment != "production" || ci.Config == nil || *ci.Config != want || !ci.Received.Equal(testNow) {
		t.Fatalf("decoded %+v (config %+v)", ci, ci.Config)
	}
	ci, err = d.decodeCheckIn([]byte(nodeCheckInDone))
	if err != nil || ci.Status != "ok" || ci.Duration == nil || *ci.Duration != 12.345 || ci.Config != nil {
		t.Fatalf("decoded %+v, %v", ci, err)
	}

	defaults := event.MonitorConfig{ScheduleType: "interval", Interval: 10, Unit: "minute", MarginMinutes: 1, MaxRuntimeMinutes: 30,
		FailureThreshold: 1, RecoveryThreshold: 1}
	for _, c := range []struct {
		name, body string
		want       string // the error, "" for none
		slug       string
		// legacy is the slug earlier releases made, when it differs.
		legacy string
		config *event.MonitorConfig
	}{
		{name: "interval with defaults", body: `{"check_in_id":"2c3a8a5c-b4a6-4b3a-9b4a-3f0b6a0e1d2c","monitor_slug":"sync","status":"error",` +
			`"monitor_config":{"schedule":{"type":"interval","value":10,"unit":"minute"}}}`, slug: "sync", config: &defaults},
		{name: "a slug made a slug", body: `{"check_in_id":"2c3a8a5cb4a64b3a9b4a3f0b6a0e1d2c","monitor_slug":"  Nightly Backup!! (EU) ","status":"ok"}`, slug: "nightly-backup-eu"},
		{name: "no ID", body: `{"monitor_slug":"a","status":"ok"}`, want: "without a check_in_id"},
		{name: "an ID that is no UUID", body: `{"check_in_id":"1","monitor_slug":"a","status":"ok"}`, want: "without a check_in_id"},
		{name: "no slug", body: `{"check_in_id":"2c3a8a5cb4a64b3a9b4a3f0b6a0e1d2c","monitor_slug":" ","status":"ok"}`, want: "without a monitor_slug"},
		{name: "a slug of punctuation", body: `{"check_in_id":"2c3a8a5cb4a64b3a9b4a3f0b6a0e1d2c","monitor_slug":"<>","status":"ok"}`, want: `with monitor_slug "<>", which has no letter or digit`},
		{name: "a CJK slug", body: `{"check_in_id":"2c3a8a5cb4a64b3a9b4a3f0b6a0e1d2c","monitor_slug":"夜間バックアップ","status":"ok"}`, want: `with monitor_slug "夜間バックアップ", which has no letter or digit a slug keeps`},
		{name: "an accented slug", body: `{"check_in_id":"2c3a8a5cb4a64b3a9b4a3f0b6a0e1d2c","monitor_slug":"Sauvegarde de nuit — été","status":"ok"}`, slug: "sauvegarde-de-nuit-ete", legacy: "sauvegarde-de-nuit-t"},
		{name: "a slug with umlauts", body: `{"check_in_id":"2c3a8a5cb4a64b3a9b4a3f0b6a0e1d2c","monitor_slug":"Ünïcode-Job","status":"ok"}`, slug: "unicode-job", legacy: "n-code-job"},
		{name: "an accented slug of 52", body: `{"check_in_id":"2c3a8a5cb4a64b3a9b4a3f0b6a0e1d2c","monitor_slug":"é` + strings.Repeat("a", 51) + `","status":"ok"}`, slug: "e" + strings.Repeat("a", 49)}, // earlier releases refused it
		{name: "a slug of 51", body: `{"check_in_id":"2c3a8a5cb4a64b3a9b4a3f0b6a0e1d2c","monitor_slug":"` + strings.Repeat("a", 51) + `","status":"ok"}`, slug: strings.Repeat("a", 50)},
		{name: "a status of the server's", body: `{"check_in_id":"2c3a8a5cb4a64b3a9b4a3f0b6a0e1d2c","monitor_slug":"a","status":"missed"}`, want: `with status "missed"`},
		{name: "a negative duration", body: `{"check_in_id":"2c3a8a5cb4a64b3a9b4a3f0b6a0e1d2c","monitor_slug":"a","status":"ok","duration":-1}`, want: "with duration -1"},
		{name: "a duration of a string", body: `{"check_in_id":"2c3a8a5cb4a64b3a9b4a3f0b6a0e1d2c","monitor_slug":"a","status":"ok","duration":"1"}`, want: "with duration"},
		{name: "a bad crontab", body: cfgBody(`{"type":"crontab","value":"61 * * * *"}`, ``), want: "crontab \"61 * * * *\" is not five fields"},
		{name: "robfig's @every", body: cfgBody(`{"type":"crontab","value":"@every 1m"}`, ``), want: "is not five fields"},
		{name: "a crontab that never runs", body: cfgBody(`{"type":"crontab","value":"0 0 30 2 *"}`, ``), want: "never runs"},
		{name: "an unknown unit", body: cfgBody(`{"type":"interval","value":1,"unit":"fortnight"}`, ``), want: `unit "fortnight"`},
		{name: "an interval of zero", body: cfgBody(`{"type":"interval","value":0,"unit":"day"}`, ``), want: "positive"},
		{name: "an interval of years", body: cfgBody(`{"type":"interval","value":400,"unit":"day"}`, ``), want: "longer than a year"},
		{name: "no schedule", body: cfgBody(`null`, ``), want: "schedule is missing"},
		{name: "a zone that is none", body: cfgBody(`{"type":"crontab","value":"@daily"}`, `,"timezone":"Mars/Olympus"`), want: "not an IANA time zone"},
		{name: "the server's zone", body: cfgBody(`{"type":"crontab","value":"@daily"}`, `,"timezone":"Local"`), want: `timezone "Local" is not an IANA time zone`},
		{name: "a margin of months", body: cfgBody(`{"type":"crontab","value":"@daily"}`, `,"checkin_margin":100000`), want: "checkin_margin 100000 is not a whole number from 0 to 40320"},
		{name: "a threshold of zero", body: cfgBody(`{"type":"crontab","value":"@daily"}`, `,"failure_issue_threshold":0`), want: "failure_issue_threshold 0"},
		{name: "a fractional runtime", body: cfgBody(`{"type":"crontab","value":"@daily"}`, `,"max_runtime":1.5`), want: "max_runtime 1.5"},
		{name: "not an object", body: `[1]`, want: "not a JSON object"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ci, err := d.decodeCheckIn([]byte(c.body))
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("error %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("error %v, want one with %q", err, c.want)
			case c.want != "":
				return
			}
			if ci.Slug != c.slug || ci.LegacySlug != c.legacy || (c.config == nil) != (ci.Config == nil) || (c.config != nil && *ci.Config != *c.config) {
				t.Errorf("slug %q legacy %q config %+v, want %q %q %+v", ci.Slug, ci.LegacySlug, ci.Config, c.slug, c.legacy, c.config)
			}
		})
	}
}

// TestSlugify: a monitor_slug keeps Flytrap's slug rule for ASCII and
// loses its accents as Sentry's does, so that "Café" names the monitor
// Sentry would call "cafe"; the comments say what Sentry makes where it
// differs.
func TestSlugify(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"nightly-backup", "nightly-backup"},
		{"  Nightly Backup!! (EU) ", "nightly-backup-eu"},
		{"snake_case_job", "snake_case_job"},
		{"tasks.cleanup", "tasks-cleanup"}, // Sentry: taskscleanup
		{"-.-job-", "job"},
		{"tab\tand\nnewline", "tab-and-newline"},
		{"Café Crème", "cafe-creme"},
		{"Überweisung", "uberweisung"},
		{"ÅNGSTRÖM", "angstrom"},
		{"ﬁle", "file"},      // a ligature is split
		{"straße", "stra-e"}, // ß has no decomposition; Sentry: strae
		{"nightly 日本 job", "nightly-job"},
		{"夜間バックアップ", ""},
		{"🚀 deploy", "deploy"},
		{strings.Repeat("x", 49) + "-tail", strings.Repeat("x", 49)},
		{strings.Repeat("ﬁ", 30), strings.Repeat("fi", 25)},
		{strings.Repeat("é", 60), strings.Repeat("e", 50)},
		{strings.Repeat("-", 1000) + "job", "job"},
	} {
		if got := slugify(c.in); got != c.want {
			t.Errorf("slugify(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// cfgBody is a check-in with a monitor_config of schedule and more fields.
func cfgBody(schedule, more string) string {
	return `{"check_in_id":"2c3a8a5cb4a64b3a9b4a3f0b6a0e1d2c","monitor_slug":"a","status":"ok","monitor_config":{"schedule":` + schedule + more + `}}`
}

// TestCheckInItems: check-ins are queued on a message of their own, or on
// the envelope's event's, each taking a token; an invalid one is dropped
// alone, and no answer tells the SDK to stop sending them.
func TestCheckInItems(t *testing.T) {
	t.Run("alone", func(t *testing.T) {
		h, q := newTestHandler(t, defaultKeys, nil)
		body := envelopeOf(`{}`, false, [2]string{"check_in", nodeCheckIn}, [2]string{"check_in", `{"status":"ok"}`}, [2]string{"check_in", nodeCheckInDone})
		rec := req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: body}.do(h)
		if rec.Code != 200 || rec.Header().Get("X-Sentry-Rate-Limits") != "" {
			t.Fatalf("status %d, X-Sentry-Rate-Limits %q: %s", rec.Code, rec.Header().Get("X-Sentry-Rate-Limits"), rec.Body)
		}
		ev := q.only(t)
		if !ev.SessionsOnly || ev.Sessions != nil || ev.Crons == nil || len(ev.Crons.CheckIns) != 2 || ev.Crons.CheckIns[0].Status != "in_progress" || ev.Crons.CheckIns[1].Status != "ok" {
			t.Fatalf("queued %+v", ev)
		}
		if got := h.Stats().DroppedItems; got != 1 {
			t.Errorf("dropped %d items, want the invalid check-in", got)
		}
	})
	t.Run("beside an event", func(t *testing.T) {
		h, q := newTestHandler(t, defaultKeys, nil)
		body := envelopeOf(`{}`, false, [2]string{"event", `{"message":"backup failed"}`}, [2]string{"check_in", nodeCheckInDone})
		if rec := (req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: body}.do(h)); rec.Code != 200 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		ev := q.only(t)
		if ev.SessionsOnly || ev.Message != "backup failed" || ev.Crons == nil || len(ev.Crons.CheckIns) != 1 {
			t.Fatalf("queued %+v, want the event with its check-in", ev)
		}
	})
	t.Run("each takes a token", func(t *testing.T) {
		h, q := newTestHandler(t, defaultKeys, func(c *Config) { c.RatePerMinute = 2 })
		one := envelopeOf(`{}`, false, [2]string{"check_in", nodeCheckIn}, [2]string{"check_in", nodeCheckInDone})
		if rec := (req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: one}.do(h)); rec.Code != 200 {
			t.Fatalf("first: status %d: %s", rec.Code, rec.Body)
		}
		if rec := (req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: one}.do(h)); rec.Code != 429 {
			t.Fatalf("second: status %d, want 429 after two check-ins spent the burst", rec.Code)
		}
		if n := len(q.events(t)); n != 1 {
			t.Errorf("%d messages queued, want 1", n)
		}
	})
}

// sentry-go's CaptureCheckIn with a monitor config, then the run's end
// with the ID it returned, as its docs show.
func TestSentryGoCheckIns(t *testing.T) {
	h, q := newTestHandler(t, defaultKeys, func(c *Config) { c.Now = time.Now })
	srv := httptest.NewServer(h)
	defer srv.Close()
	dsn := strings.Replace(srv.URL, "http://", "http://"+testKey+"@", 1) + "/" + strconv.Itoa(testProject)
	client, err := sentry.NewClient(sentry.ClientOptions{Dsn: dsn, Release: "worker@1.4.0", Environment: "production",
		Transport: sentry.NewHTTPSyncTransport()})
	if err != nil {
		t.Fatal(err)
	}
	hub := sentry.NewHub(client, sentry.NewScope())
	id := hub.CaptureCheckIn(&sentry.CheckIn{MonitorSlug: "report-mailer", Status: sentry.CheckInStatusInProgress},
		&sentry.MonitorConfig{Schedule: sentry.IntervalSchedule(1, sentry.MonitorScheduleUnitHour), CheckInMargin: 5, MaxRuntime: 10,
			Timezone: "America/Los_Angeles", FailureIssueThreshold: 2})
	if id == nil {
		t.Fatal("CaptureCheckIn returned no ID")
	}
	hub.CaptureCheckIn(&sentry.CheckIn{ID: *id, MonitorSlug: "report-mailer", Status: sentry.CheckInStatusOK, Duration: 1500 * time.Millisecond}, nil)
	evs := q.events(t)
	if len(evs) != 2 || evs[0].Crons == nil || evs[1].Crons == nil || len(evs[0].Crons.CheckIns) != 1 || len(evs[1].Crons.CheckIns) != 1 {
		t.Fatalf("queued %+v, want two messages of a check-in each", evs)
	}
	start, end := evs[0].Crons.CheckIns[0], evs[1].Crons.CheckIns[0]
	want := event.MonitorConfig{ScheduleType: "interval", Interval: 1, Unit: "hour", MarginMinutes: 5, MaxRuntimeMinutes: 10,
		Timezone: "America/Los_Angeles", FailureThreshold: 2, RecoveryThreshold: 1}
	if start.ID != string(*id) || start.Slug != "report-mailer" || start.Status != "in_progress" || start.Release != "worker@1.4.0" ||
		start.Environment != "production" || start.Config == nil || *start.Config != want {
		t.Errorf("start %+v (config %+v)", start, start.Config)
	}
	if end.ID != start.ID || end.Status != "ok" || end.Duration == nil || *end.Duration != 1.5 || end.Config != nil {
		t.Errorf("end %+v", end)
	}
}
