package ingest

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/getflytrap/flytrap/internal/event"
)

// widgetFeedback is the payload @sentry/browser's feedback widget sends
// (feedback integration, sendFeedback): captureFeedback's event with the
// page, the widget as source and the session replay's ID.
const widgetFeedback = `{"contexts":{"feedback":{"contact_email":"sam@example.com","name":"Sam","message":"The cart total is wrong","url":"https://shop.example/cart","source":"widget","replay_id":"8c3a4b5d6e7f40a1b2c3d4e5f6a7b8c9","associated_event_id":"5B1D9C2E-0F3A-4B6C-8D7E-9F0A1B2C3D4E"},"trace":{"trace_id":"0af7651916cd43dd8448eb211c80319c","span_id":"b7ad6b7169203331"}},` +
	`"type":"feedback","level":"info","platform":"javascript","event_id":"9ec79c33ec9942ab8353589fcb2e04dc","timestamp":1751006900.5,"environment":"production","release":"shop@2.0.0",` +
	`"tags":{"from":"widget"},"user":{"email":"sam@example.com","ip_address":"{{auto}}"},"request":{"url":"https://shop.example/cart","headers":{"User-Agent":"Mozilla/5.0"}},"sdk":{"name":"sentry.javascript.browser","version":"11.12.0"}}`

// userReport is the legacy item of captureUserFeedback and the crash-report
// dialog (@sentry/browser's createUserFeedbackEnvelope up to v8).
const userReport = `{"event_id":"5b1d9c2e0f3a4b6c8d7e9f0a1b2c3d4e","name":"Lin","email":"lin@example.com","comments":"It crashed after I pressed save"}`

// postEnvelope posts an envelope to the test project and returns the
// response.
func postEnvelope(t *testing.T, h http.Handler, body []byte) (int, string) {
	t.Helper()
	rec := req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: body}.do(h)
	return rec.Code, rec.Body.String()
}

// TestFeedbackShapes posts feedback as the SDKs send it and checks what is
// queued: an event that carries only the feedback, which the processor
// stores as such.
func TestFeedbackShapes(t *testing.T) {
	node, err := os.ReadFile("testdata/feedback/node-11.12.0-captureFeedback.envelope")
	if err != nil {
		t.Fatal(err)
	}
	browser, err := os.ReadFile("testdata/feedback/browser-11.12.0-captureFeedback-without-url.envelope")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		envelope []byte
		wantID   string
		want     event.Feedback
	}{
		{
			// Recorded from @sentry/node 11.12.0's captureFeedback
			// (compat/js/feedback.js) with associatedEventId, url,
			// name and email.
			"@sentry/node captureFeedback", node, "bc09439ecd6340b8bb3e933426b6a3ba",
			event.Feedback{Message: "The checkout <b>broke</b> when I clicked pay", Name: "Ada Lovelace", Email: "ada@example.com",
				URL: "https://shop.example/checkout", AssociatedEventID: "ad0b26460d8f4d148069594e987a7bb3"},
		},
		{
			// Recorded from @sentry/browser 11.12.0 in Chromium: a page's
			// own form calls captureFeedback without url; the page is
			// the event's request.url, which Sentry shows as the URL.
			"@sentry/browser captureFeedback without url", browser, "d2a7101d061343abb0945e2840228b3c",
			event.Feedback{Message: "browser feedback", Email: "b@example.com", URL: "https://shop.example/cart?step=2"},
		},
		{
			"@sentry/browser feedback widget", envelopeOf(`{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}`, true, [2]string{"feedback", widgetFeedback}),
			"9ec79c33ec9942ab8353589fcb2e04dc",
			event.Feedback{Message: "The cart total is wrong", Name: "Sam", Email: "sam@example.com", URL: "https://shop.example/cart",
				AssociatedEventID: "5b1d9c2e0f3a4b6c8d7e9f0a1b2c3d4e", Source: "widget"},
		},
		{
			"legacy user_report", envelopeOf(`{"event_id":"5b1d9c2e0f3a4b6c8d7e9f0a1b2c3d4e"}`, false, [2]string{"user_report", userReport}),
			"5b1d9c2e0f3a4b6c8d7e9f0a1b2c3d4e",
			event.Feedback{Message: "It crashed after I pressed save", Name: "Lin", Email: "lin@example.com",
				AssociatedEventID: "5b1d9c2e0f3a4b6c8d7e9f0a1b2c3d4e", Source: "user_report"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, q := newTestHandler(t, defaultKeys, nil)
			code, body := postEnvelope(t, h, tt.envelope)
			if code != http.StatusOK || !strings.Contains(body, tt.wantID) {
				t.Fatalf("status %d: %s, want 200 with the feedback's ID %s", code, body, tt.wantID)
			}
			ev := q.only(t)
			if ev.EventID != tt.wantID || ev.ProjectID != testProject || ev.Feedback == nil {
				t.Fatalf("queued %+v, want feedback %s of project %d", ev, tt.wantID, testProject)
			}
			if *ev.Feedback != tt.want {
				t.Errorf("feedback %+v\nwant     %+v", *ev.Feedback, tt.want)
			}
			// Nothing of an error travels with it, nor the sender's
			// address: feedback is no occurrence of an issue.
			if len(ev.Exceptions) > 0 || ev.Message != "" || ev.User != nil || ev.Request != nil || ev.Level != "info" {
				t.Errorf("feedback carries event fields: %+v", ev)
			}
		})
	}
}

// TestFeedbackBesideAnEvent: an envelope of an event and feedback queues
// both in one batch, the event's ID answering.
func TestFeedbackBesideAnEvent(t *testing.T) {
	h, q := newTestHandler(t, defaultKeys, nil)
	code, body := postEnvelope(t, h, envelopeOf(`{}`, true,
		[2]string{"event", `{"event_id":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","message":"boom"}`},
		[2]string{"feedback", widgetFeedback},
		[2]string{"attachment", "screenshot bytes"}))
	if code != http.StatusOK || !strings.Contains(body, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") {
		t.Fatalf("status %d: %s", code, body)
	}
	evs := q.events(t)
	if len(evs) != 2 || evs[0].Feedback != nil || evs[1].Feedback == nil {
		t.Fatalf("queued %+v, want the event then the feedback", evs)
	}
}

// TestFeedbackLimits: what a user wrote is kept up to Sentry's 4,096
// characters, names and addresses up to theirs; longer text is cut, not
// refused.
func TestFeedbackLimits(t *testing.T) {
	h, q := newTestHandler(t, defaultKeys, nil)
	long := strings.Repeat("é", event.MaxFeedbackMessage+10)
	payload := `{"contexts":{"feedback":{"message":"` + long + `","name":"` + strings.Repeat("n", 1000) + `","contact_email":"` + strings.Repeat("e", 1000) + `@example.com"}}}`
	if code, body := postEnvelope(t, h, envelopeOf(`{}`, true, [2]string{"feedback", payload})); code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	fb := q.only(t).Feedback
	if n := utf8.RuneCountInString(fb.Message); n != event.MaxFeedbackMessage || !strings.HasSuffix(fb.Message, "…") {
		t.Errorf("message of %d characters, want %d ending in …", n, event.MaxFeedbackMessage)
	}
	if len(fb.Name) > maxName || len(fb.Email) > maxFeedbackEmail {
		t.Errorf("name of %d bytes, email of %d: over their limits", len(fb.Name), len(fb.Email))
	}
}

// TestMalformedFeedback: feedback that is not what the SDKs send is a 400
// that says what is wrong, and nothing of the envelope is queued.
func TestMalformedFeedback(t *testing.T) {
	tests := []struct {
		name, typ, payload, want string
	}{
		{"not JSON", "feedback", `{"contexts":`, "not valid JSON"},
		{"not an object", "feedback", `["message"]`, "not a JSON object"},
		{"no contexts.feedback", "feedback", `{"type":"feedback","message":"hi"}`, "without contexts.feedback"},
		{"contexts.feedback not an object", "feedback", `{"contexts":{"feedback":"hi"}}`, "without contexts.feedback"},
		{"no message", "feedback", `{"contexts":{"feedback":{"name":"Ada"}}}`, "without contexts.feedback.message"},
		{"a blank message", "feedback", `{"contexts":{"feedback":{"message":"  \u0000 "}}}`, "without contexts.feedback.message"},
		{"a message that is no string", "feedback", `{"contexts":{"feedback":{"message":{"text":"hi"}}}}`, "not a string"},
		{"user_report without event_id", "user_report", `{"name":"Lin","comments":"hi"}`, "without a valid event_id"},
		{"user_report with a bad event_id", "user_report", `{"event_id":"42","comments":"hi"}`, "without a valid event_id"},
		{"user_report without comments", "user_report", `{"event_id":"5b1d9c2e0f3a4b6c8d7e9f0a1b2c3d4e","name":"Lin"}`, "without comments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, q := newTestHandler(t, defaultKeys, nil)
			rec := req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: envelopeOf(`{}`, true,
				[2]string{"event", `{"message":"kept only with valid feedback"}`}, [2]string{tt.typ, tt.payload})}.do(h)
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("status %d: %s, want 400", rec.Code, rec.Body)
			}
			code, msg := errorResponse(t, rec)
			if code != "invalid_feedback" || !strings.Contains(msg, tt.want) || !strings.Contains(msg, "item 2 ("+tt.typ+")") {
				t.Errorf("%s: %q, want invalid_feedback naming item 2 and %q", code, msg, tt.want)
			}
			if n := len(q.events(t)); n != 0 {
				t.Errorf("%d queued", n)
			}
		})
	}
}
