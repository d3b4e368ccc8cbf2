package dashboard

import (
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
)

// TestIssuePageSyntheticException checks that the stack a browser SDK
// attaches to captureMessage shows under the message, not as an exception
// without a type, and that frame file names are shortened with the name as
// sent in the tooltip.
func TestIssuePageSyntheticException(t *testing.T) {
	f := newFixture(t)
	ev := &event.Event{EventID: "55555555555555555555555555555555", ProjectID: f.web.ID, Platform: "javascript", Level: "info",
		Timestamp: now.Add(-time.Minute), Received: now.Add(-time.Minute), Message: "Checkout total mismatch",
		Exceptions: []event.Exception{{Value: "Checkout total mismatch",
			Mechanism: &event.Mechanism{Type: "generic", Handled: ptr(true), Synthetic: true},
			Frames: []event.Frame{
				{Filename: "http://localhost:5173/node_modules/.vite/deps/react-dom_client.js?v=3f9a1c2b", Function: "commitRootImpl", Lineno: 19466, InApp: ptr(false)},
				{Filename: "http://localhost:5173/src/checkout.js", Function: "submitOrder", Lineno: 42, Colno: 13, InApp: ptr(true)},
			}}}}
	r := f.get(roleMember, issuePath(f.save(ev).IssueID))
	wantStatus(t, r, 200)
	wantBody(t, r, `<h3>Message</h3>`, `<pre class="message">Checkout total mismatch</pre>`,
		`<div class="stacktrace">`, `<span class="frame-fn">submitOrder</span>`,
		`<span class="frame-loc" title="http://localhost:5173/src/checkout.js">/src/checkout.js:42:13</span>`,
		`/node_modules/.vite/deps/react-dom_client.js:19466`)
	noBody(t, r, `<div class="exception">`, `>Exception</span>`, `<p class="exc-value">`)
}
