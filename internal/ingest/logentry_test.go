package ingest

import (
	"testing"
)

// QA #3, the report's request as sent: an envelope whose event has a
// logentry template and params but no formatted text, as sentry-python's
// logging integration sends record.msg and record.args.
func TestEnvelopeLogEntryParams(t *testing.T) {
	h, q := newTestHandler(t, defaultKeys, unlimited)
	body := "{}\n{\"type\":\"event\"}\n{\"logentry\":{\"message\":\"Order %s not found for user %s\",\"params\":[\"A-17\",\"bob\"]}}\n"
	rec := req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: []byte(body)}.do(h)
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	ev := q.only(t)
	if ev.Title() != "Order A-17 not found for user bob" || ev.Text() != "Order A-17 not found for user bob" {
		t.Errorf("title %q, text %q", ev.Title(), ev.Text())
	}
	if ev.Message != "Order %s not found for user %s" || string(ev.MessageParams) != `["A-17","bob"]` {
		t.Errorf("template %q, params %s: both must be kept", ev.Message, ev.MessageParams)
	}
}
