package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestNormalizingDoesNotAmplify sends the event a hostile client built to
// grow in normalization: 25 chained exceptions naming one thread, whose
// frames are lines of '<'. Each thread_id once got its own copy of the
// thread's frames, and each '<' was queued as the six bytes \u003c: 147
// times the bytes sent. What is queued must now stay near what was sent.
func TestNormalizingDoesNotAmplify(t *testing.T) {
	line := strings.Repeat("<", 1000)
	frames := make([]map[string]any, 20)
	for i := range frames {
		frames[i] = map[string]any{"function": fmt.Sprintf("f%d", i), "lineno": i + 1, "context_line": line,
			"pre_context": []string{line, line, line}, "post_context": []string{line, line, line}}
	}
	excs := make([]map[string]any, 25)
	for i := range excs {
		excs[i] = map[string]any{"type": "Amp", "value": fmt.Sprint(i), "thread_id": 1}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // the client sends '<', not \u003c
	if err := enc.Encode(map[string]any{
		"exception": map[string]any{"values": excs},
		"threads":   map[string]any{"values": []any{map[string]any{"id": 1, "stacktrace": map[string]any{"frames": frames}}}},
	}); err != nil {
		t.Fatal(err)
	}
	raw := buf.Bytes()
	h, q := newTestHandler(t, defaultKeys, nil)
	rec := req{path: "/api/42/store/", header: sentryAuth(testKey), body: raw}.do(h)
	if rec.Code != 200 || len(q.bodies) != 1 {
		t.Fatalf("status %d, %d queued: %s", rec.Code, len(q.bodies), rec.Body)
	}
	if got := len(q.bodies[0]); got > len(raw)*11/10 {
		t.Errorf("queued %d bytes for an event of %d bytes: normalizing grew it %.1fx", got, len(raw), float64(got)/float64(len(raw)))
	}
}
