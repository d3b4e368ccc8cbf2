package dashboard

import (
	"net/http"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/event"
)

func TestAnnotationText(t *testing.T) {
	for _, tt := range []struct {
		a    event.Annotation
		want string
	}{
		{event.Annotation{Rule: "!raw", Type: "x"}, "Removed because of raw payload (!raw)"},
		{event.Annotation{Rule: "!config", Type: "x"}, "Removed because of SDK configuration (!config)"},
		{event.Annotation{Rule: "!limit", Type: "x", Len: 9000}, "Cut because of size limits (!limit), original length 9000"},
		{event.Annotation{Rule: "@password:filter", Type: "s"}, "Replaced because of the PII rule @password:filter"},
		{event.Annotation{Rule: "device_id", Type: "p", Len: 30}, "Pseudonymized because of the PII rule device_id, original length 30"},
		{event.Annotation{Type: "x"}, "Removed by the SDK"},
		{event.Annotation{Len: 12}, "Original length 12"},
		{event.Annotation{}, ""},
	} {
		if got := annotationText(tt.a); got != tt.want {
			t.Errorf("annotationText(%+v) = %q, want %q", tt.a, got, tt.want)
		}
	}
}

// QA: python-formdata.json's request.data.bam, which sentry-python left
// out (_meta: !raw), showed as "" as if the field had been empty. The page
// marks it removed, and says why.
func TestIssuePageRequestAnnotations(t *testing.T) {
	f := newFixture(t)
	res := f.ingestSentry(sentrySample(t, "python-formdata.json"))
	page := f.get(roleMember, issuePath(res.IssueID))
	wantStatus(t, page, http.StatusOK)
	wantBody(t, page,
		`<tr><td class="wrap"><code>bam</code></td><td class="wrap"><code></code> <em class="annotation">Removed because of raw payload (!raw)</em></td></tr>`,
		`<tr><td class="wrap"><code>foo</code></td><td class="wrap"><code>bar</code></td></tr>`)

	// Notes not on a body field go under the request, escaped.
	res = f.ingestSentry([]byte(`{"event_id":"a0000000000000000000000000000001","message":"annotated",` +
		`"request":{"url":"http://x/","headers":{"X-Evil":"1"},"data":{"f":{"g":"<b>"}}},` +
		`"_meta":{"request":{"headers":{"X-Evil":{"":{"rem":[["<script>alert(1)</script>","s"]]}}},"data":{"f":{"g":{"":{"len":70000,"rem":[["!limit","x",1,2]]}}},"zz":{"":{"rem":[["!raw","x"]]}}}}}}`))
	page = f.get(roleMember, issuePath(res.IssueID))
	wantBody(t, page,
		`<p class="muted small annotation">Header X-Evil: Replaced because of the PII rule &lt;script&gt;alert(1)&lt;/script&gt;</p>`,
		`<p class="muted small annotation">Body zz: Removed because of raw payload (!raw)</p>`,
		`<em class="annotation">g: Cut because of size limits (!limit), original length 70000</em>`)
	if strings.Contains(page.Body, "<script>alert(1)") {
		t.Error("the rule is not escaped")
	}
}
