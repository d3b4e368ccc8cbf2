package dashboard

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/process"
)

// TestDerivedTagsEscaped: a device model is copied out of the User-Agent,
// which whoever holds the DSN writes. Through the processor into the
// store, it shows on the issue page as text, in the tags and in the
// contexts, never as markup.
func TestDerivedTagsEscaped(t *testing.T) {
	f := newFixture(t)
	const model = `<script>alert(1)</script>`
	ev := event.Event{EventID: "55555555555555555555555555555555", ProjectID: f.web.ID, Source: event.SourceSentry,
		Platform: "javascript", Level: "error", Timestamp: now, Received: now,
		Request: &event.Request{URL: "https://shop.example.com/", Headers: [][2]string{{"User-Agent",
			"Mozilla/5.0 (Linux; Android 14; " + model + " Build/UP1A) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"}}},
		Exceptions: []event.Exception{{Type: "TypeError", Value: "hostile agent"}}}
	body, err := json.Marshal(ev)
	f.must(err)
	out := process.New(process.Config{Saver: f.db}).ProcessBatch(f.ctx, [][]byte{body})
	if out[0].Err != nil {
		t.Fatal(out[0].Err)
	}
	r := f.get(roleAdmin, issuePath(out[0].Result.IssueID))
	wantStatus(t, r, 200)
	// The header shows once; the device and device.family tags and the
	// device context show it again.
	const escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
	wantBody(t, r, "Chrome Mobile 131.0.0", "device.family", escaped)
	if n := strings.Count(r.Body, escaped); n < 3 {
		t.Errorf("the model shows %d times, want the header's, the tags' and the context's", n)
	}
	noBody(t, r, model)
}
