package ingest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/testutil/samples"
)

// corpusCase is what one sample must normalize to.
type corpusCase struct {
	title  string
	frames int // frames of the outermost exception
	level  string
	// synthetic: the outermost exception is marked synthetic.
	synthetic bool
	// lambda is the function the AWS Lambda context names, "" for none.
	lambda string
}

// corpusExpect is what each sample must normalize to. Files not listed
// only have to be accepted with a sane event.
var corpusExpect = map[string]corpusCase{
	"android.json":            {title: "Exception: Some exception.", frames: 13, level: "error"},
	"aspnetcore.json":         {title: "Param is null!", frames: 70, level: "error", synthetic: true},
	"cocoa.json":              {title: "EXC_BAD_ACCESS: Attempted to dereference null pointer.", frames: 22, level: "fatal"},
	"elixir.json":             {title: "exit: ** (exit) :badarith", frames: 6, level: "error"},
	"empty-exception.json":    {title: "<unlabeled event>", frames: 0, level: "error"},
	"empty-stacktrace.json":   {title: "<unlabeled event>", frames: 0, level: "error"},
	"invalid-interfaces.json": {title: "ValueError", frames: 0, level: "error"},
	"java.json":               {title: "ApiException: Authentication failed, token expired!", frames: 57, level: "error"},
	"javascript.json":         {title: "TypeError: Object [object Object] has no method 'updateFrom'", frames: 4, level: "error"},
	"php.json":                {title: "Exception: This is a test exception sent from the Raven CLI.", frames: 4, level: "error"},
	"pii.json":                {title: "RuntimeError: Invalid device: A949AE01EBB07300D62AE0178F0944DD21F8C98C", frames: 4, level: "error"},
	"python-formdata.json":    {title: "<unlabeled event>", frames: 0, level: "error"},
	"python-modern.json":      {title: "Exception: This is an example Python exception", frames: 2, level: "error"},
	"python.json":             {title: "<unlabeled event>", frames: 5, level: "error", synthetic: true},
	"ruby.json":               {title: "ZeroDivisionError: divided by 0", frames: 3, level: "error"},
	"unity.json":              {title: "DivideByZeroException: Attempted to divide by zero.", frames: 9, level: "error"},
}

// sdkExpect covers the events of current SDK features that the Sentry
// samples predate, written from the SDKs' sources (testdata/sdk): a
// browser captureMessage with attachStacktrace, and events of the Node and
// Python AWS Lambda integrations. Every file there must be listed.
var sdkExpect = map[string]corpusCase{
	"browser-capture-message.json": {title: "Checkout total mismatch", frames: 2, level: "info", synthetic: true},
	"lambda-node-error.json":       {title: "TypeError: Cannot read properties of undefined (reading 'total')", frames: 2, level: "error", lambda: "checkout-api"},
	"lambda-python-timeout.json":   {title: "Lambda timeout: checkout-api", frames: 2, level: "error", lambda: "checkout-api"},
}

// TestSentrySamples posts every sample both wrapped in an envelope and to
// the store endpoint; each must be accepted and normalize sensibly.
func TestSentrySamples(t *testing.T) {
	testCorpus(t, samples.Dir(t), corpusExpect, false)
}

// TestSDKSamples runs the corpus test over testdata/sdk.
func TestSDKSamples(t *testing.T) {
	testCorpus(t, filepath.Join("testdata", "sdk"), sdkExpect, true)
}

// testCorpus posts every *.json file of dir; strict requires each to be
// listed in expect.
func testCorpus(t *testing.T, dir string, expect map[string]corpusCase, strict bool) {
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
				want, ok := expect[name]
				if !ok {
					if strict {
						t.Fatalf("no expectations for %s (title %q)", name, ev.Title())
					}
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
				if n := len(ev.Exceptions); n > 0 && ev.Exceptions[n-1].Synthetic() != want.synthetic {
					t.Errorf("synthetic %v, want %v", ev.Exceptions[n-1].Synthetic(), want.synthetic)
				}
				var lambda string
				if l := ev.Lambda(); l != nil {
					lambda = l.FunctionName
				}
				if lambda != want.lambda {
					t.Errorf("Lambda function %q, want %q", lambda, want.lambda)
				}
			})
		}
		// As current browser SDKs send it, to an endpoint configured with
		// a trailing slash: infer_ip "auto" gives every event a user to
		// count, "never" keeps the sender's address out.
		for _, infer := range []string{"auto", "never"} {
			t.Run(name+"/infer_ip "+infer+" via //api//", func(t *testing.T) {
				h, q := newTestHandler(t, defaultKeys, nil)
				env := envelopeOf(`{}`, true, [2]string{"event", withInferIP(t, payload, infer)})
				rec := req{path: "//api//42//envelope/", header: sentryAuth(testKey), body: env, remote: testClientIP + ":50000"}.do(h)
				if rec.Code != 200 {
					t.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
				ev := q.only(t)
				checkSaneEvent(t, &ev)
				clientHash := testDecoder().hashIP(testClientIP)
				switch {
				case infer == "auto" && (ev.User == nil || ev.User.IPHash == ""):
					t.Errorf("user %+v has no IP hash", ev.User)
				case infer == "never" && ev.User != nil && ev.User.IPHash == clientHash:
					t.Errorf("user %+v carries the sender's address", ev.User)
				}
			})
		}
	}
}

// withInferIP returns a sample with sdk.settings.infer_ip set.
func withInferIP(t *testing.T, payload []byte, infer string) string {
	t.Helper()
	var obj map[string]any
	if err := json.Unmarshal(payload, &obj); err != nil {
		t.Fatal(err)
	}
	sdk, _ := obj["sdk"].(map[string]any)
	if sdk == nil {
		sdk = map[string]any{"name": "sentry.javascript.browser", "version": "9.1.0"}
	}
	sdk["settings"] = map[string]any{"infer_ip": infer}
	obj["sdk"] = sdk
	out, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
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
