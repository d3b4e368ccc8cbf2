package ingest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/event"
)

// samplesDir finds the Sentry sample events (copied from getsentry/sentry's
// src/sentry/data/samples, kept outside the repository).
func samplesDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("FLYTRAP_SENTRY_SAMPLES")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "fixtures", "sentry-samples")
	}
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Sentry samples not found at %s (set FLYTRAP_SENTRY_SAMPLES): %v", dir, err)
		}
		t.Skipf("Sentry samples not found at %s; set FLYTRAP_SENTRY_SAMPLES to run this test", dir)
	}
	return dir
}

// corpusExpect is what each sample must normalize to. Files not listed
// only have to be accepted with a sane event.
var corpusExpect = map[string]struct {
	title  string
	frames int // frames of the outermost exception
	level  string
}{
	"android.json":            {"Exception: Some exception.", 13, "error"},
	"aspnetcore.json":         {"Param is null!", 70, "error"},
	"cocoa.json":              {"EXC_BAD_ACCESS: Attempted to dereference null pointer.\nOriginated at or in a subcall of ViewController.causeCrash(Any) -> ()", 22, "fatal"},
	"elixir.json":             {"exit: ** (exit) :badarith", 6, "error"},
	"empty-exception.json":    {"<unlabeled event>", 0, "error"},
	"empty-stacktrace.json":   {"<unlabeled event>", 0, "error"},
	"invalid-interfaces.json": {"ValueError", 0, "error"},
	"java.json":               {"ApiException: Authentication failed, token expired!", 57, "error"},
	"javascript.json":         {"TypeError: Object [object Object] has no method 'updateFrom'", 4, "error"},
	"php.json":                {"Exception: This is a test exception sent from the Raven CLI.", 4, "error"},
	"pii.json":                {"RuntimeError: Invalid device: A949AE01EBB07300D62AE0178F0944DD21F8C98C", 4, "error"},
	"python-formdata.json":    {"<unlabeled event>", 0, "error"},
	"python-modern.json":      {"Exception: This is an example Python exception", 2, "error"},
	"python.json":             {"<unlabeled event>", 5, "error"},
	"ruby.json":               {"ZeroDivisionError: divided by 0", 3, "error"},
	"unity.json":              {"DivideByZeroException: Attempted to divide by zero.", 9, "error"},
}

// TestSentrySamples posts every sample both wrapped in an envelope and to
// the store endpoint; each must be accepted and normalize sensibly.
func TestSentrySamples(t *testing.T) {
	dir := samplesDir(t)
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples in %s: %v", dir, err)
	}
	for _, path := range files {
		name := filepath.Base(path)
		payload, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		// Pretty-printed samples span lines, so the item needs a length.
		env := envelopeOf(`{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","sent_at":"2025-06-27T06:48:33Z"}`, true, [2]string{"event", string(payload)})
		for _, via := range []struct {
			name string
			req  req
		}{
			{"envelope", req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: env}},
			{"store", req{path: "/api/42/store/", header: sentryAuth(testKey), body: payload}},
		} {
			t.Run(name+"/"+via.name, func(t *testing.T) {
				h, q := newTestHandler(t, defaultKeys, nil)
				rec := via.req.do(h)
				if rec.Code != 200 {
					t.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
				ev := q.only(t)
				checkSaneEvent(t, &ev)
				if !strings.Contains(rec.Body.String(), ev.EventID) {
					t.Errorf("response %s does not carry the event ID %s", rec.Body, ev.EventID)
				}
				want, ok := corpusExpect[name]
				if !ok {
					t.Logf("no expectations for %s (title %q)", name, ev.Title())
					return
				}
				if ev.Title() != want.title {
					t.Errorf("title %q, want %q", ev.Title(), want.title)
				}
				var frames int
				if n := len(ev.Exceptions); n > 0 {
					frames = len(ev.Exceptions[n-1].Frames)
				}
				if frames != want.frames {
					t.Errorf("%d frames, want %d", frames, want.frames)
				}
				if ev.Level != want.level {
					t.Errorf("level %q, want %q", ev.Level, want.level)
				}
			})
		}
	}
}

// checkSaneEvent asserts the invariants every queued event must meet.
func checkSaneEvent(t testing.TB, ev *event.Event) {
	t.Helper()
	if _, ok := normalizeEventID(ev.EventID); !ok || len(ev.EventID) != 32 || strings.ToLower(ev.EventID) != ev.EventID {
		t.Errorf("event_id %q is not 32 lowercase hex digits", ev.EventID)
	}
	if ev.ProjectID != testProject || ev.Source == "" {
		t.Errorf("project %d source %q", ev.ProjectID, ev.Source)
	}
	if !event.ValidLevel(ev.Level) {
		t.Errorf("level %q", ev.Level)
	}
	if ev.Title() == "" {
		t.Error("empty title")
	}
	if ev.Timestamp.IsZero() || ev.Received.IsZero() || ev.Timestamp.After(ev.Received.Add(maxFuture)) || ev.Timestamp.Before(ev.Received.Add(-maxPast)) {
		t.Errorf("timestamp %v, received %v", ev.Timestamp, ev.Received)
	}
	if len(ev.Breadcrumbs) > maxBreadcrumbs || len(ev.Tags) > maxTags || len(ev.Exceptions) > maxExceptions || len(ev.Fingerprint) > maxFingerprint || len(ev.Notes) > maxNotes+1 {
		t.Errorf("a list is over its limit: %d breadcrumbs, %d tags, %d exceptions, %d fingerprint entries, %d notes",
			len(ev.Breadcrumbs), len(ev.Tags), len(ev.Exceptions), len(ev.Fingerprint), len(ev.Notes))
	}
	for _, ex := range ev.Exceptions {
		if len(ex.Frames) > maxFrames {
			t.Errorf("%d frames", len(ex.Frames))
		}
		if ex.Type == "" && ex.Value == "" && len(ex.Frames) == 0 && ex.RawStack == "" {
			t.Errorf("empty exception kept: %+v", ex)
		}
	}
	if ev.Message != "" && len(ev.Message) > maxMessage {
		t.Errorf("message of %d bytes", len(ev.Message))
	}
}
