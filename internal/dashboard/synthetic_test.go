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

// TestIssuePagePlainObjectRejection is the event @sentry/node 11.12.0
// stores for Promise.reject({code: 42, reason: "plain object"}): the SDK
// makes an Error up for the object and marks it synthetic, but the type it
// names is the error's, and its mechanism says it was unhandled. It shows
// as an exception with its mechanism, as the other rejections do, not as a
// message.
func TestIssuePagePlainObjectRejection(t *testing.T) {
	f := newFixture(t)
	ev := &event.Event{EventID: "56565656565656565656565656565656", ProjectID: f.web.ID, Platform: "node", Level: "error",
		Timestamp: now.Add(-time.Minute), Received: now.Add(-time.Minute),
		Exceptions: []event.Exception{{Type: "Error", Value: "Object captured as exception with keys: code, reason",
			Mechanism: &event.Mechanism{Type: "auto.node.onunhandledrejection", Handled: ptr(false), Synthetic: true},
			Frames: []event.Frame{
				{Filename: "node:internal/process/task_queues", Module: "task_queues", Function: "process.processTicksAndRejections", Lineno: 96, Colno: 32, InApp: ptr(false)},
				{Filename: "/app/node_modules/@sentry/node/build/cjs/integrations/onunhandledrejection.js", Module: "@sentry.node.build.cjs.integrations:onunhandledrejection", Function: "?", Lineno: 60, Colno: 12, InApp: ptr(false)},
			}}},
		Extra: []byte(`{"unhandledPromiseRejection":true,"__serialized__":{"code":42,"reason":"plain object"}}`)}
	r := f.get(roleMember, issuePath(f.save(ev).IssueID))
	wantStatus(t, r, 200)
	wantBody(t, r, `<div class="exception">`, `<span class="exc-type">Error</span>`,
		`<p class="exc-value">Object captured as exception with keys: code, reason</p>`,
		`mechanism <code>auto.node.onunhandledrejection</code> handled: no`)
	noBody(t, r, `<h3>Message</h3>`)
}
