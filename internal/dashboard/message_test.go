package dashboard

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
)

// QA #3: a log message ingest filled in from a template and params shows
// as filled in, with its template and params under it, all as text.
func TestIssuePageLogMessageParams(t *testing.T) {
	f := newFixture(t)
	ev := &event.Event{EventID: "77777777777777777777777777777777", ProjectID: f.web.ID, Platform: "python", Level: "error",
		Timestamp: now.Add(-time.Minute), Received: now.Add(-time.Minute),
		Message: "Order %s not found for user %s", MessageFormatted: "Order A-17 not found for user <b>bob</b>",
		MessageParams: json.RawMessage(`["A-17","<b>bob</b>"]`)}
	r := f.get(roleMember, issuePath(f.save(ev).IssueID))
	wantStatus(t, r, 200)
	wantBody(t, r, `<h1 class="issue-h1">Order A-17 not found for user &lt;b&gt;bob&lt;/b&gt;</h1>`,
		`<pre class="message">Order A-17 not found for user &lt;b&gt;bob&lt;/b&gt;</pre>`,
		`<span class="muted">Template</span> <code>Order %s not found for user %s</code>`,
		`<span class="muted">Params</span> <code>[&#34;A-17&#34;,&#34;&lt;b&gt;bob&lt;/b&gt;&#34;]</code>`)
	checkSafeHTML(t, r.Body)
}
