package dashboard

import (
	"net/http"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/testutil/samples"
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
// marks it removed, and says why. pii.json's exception value and frames'
// abs_path were scrubbed by the SDK's rules (device_id, @userpath:replace):
// the page says so beside the value and on each frame.
func TestIssuePageSampleAnnotations(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct {
		sample string
		want   []string
		notes  int
	}{
		{"python-formdata.json", []string{
			`<tr><td class="wrap"><code>bam</code></td><td class="wrap"><code></code> <em class="annotation">Removed because of raw payload (!raw)</em></td></tr>`,
			`<tr><td class="wrap"><code>foo</code></td><td class="wrap"><code>bar</code></td></tr>`,
		}, 1},
		{"pii.json", []string{
			`<p class="exc-value">Invalid device: A949AE01EBB07300D62AE0178F0944DD21F8C98C <em class="annotation">Pseudonymized because of the PII rule device_id, original length 30</em></p>`,
			`<span class="frame-abs">/Users/[user]/Coding/semaphore/example.py</span> <em class="annotation">abs_path: Replaced because of the PII rule @userpath:replace, original length 40</em>`,
		}, 5},
	} {
		t.Run(tt.sample, func(t *testing.T) {
			res := f.ingestSentry(samples.Read(t, tt.sample))
			page := f.get(roleMember, issuePath(res.IssueID))
			wantStatus(t, page, http.StatusOK)
			wantBody(t, page, tt.want...)
			if n := strings.Count(page.Body, `<em class="annotation">`); n != tt.notes {
				t.Errorf("%d notes, want %d", n, tt.notes)
			}
		})
	}
}

// Notes not on a body field go under the request, escaped.
func TestIssuePageRequestAnnotations(t *testing.T) {
	f := newFixture(t)
	res := f.ingestSentry([]byte(`{"event_id":"a0000000000000000000000000000001","message":"annotated",` +
		`"request":{"url":"http://x/","headers":{"X-Evil":"1"},"data":{"f":{"g":"<b>"}}},` +
		`"_meta":{"request":{"headers":{"X-Evil":{"":{"rem":[["<script>alert(1)</script>","s"]]}}},"data":{"f":{"g":{"":{"len":70000,"rem":[["!limit","x",1,2]]}}},"zz":{"":{"rem":[["!raw","x"]]}}}}}}`))
	page := f.get(roleMember, issuePath(res.IssueID))
	wantBody(t, page,
		`<p class="muted small annotation">Header X-Evil: Replaced because of the PII rule &lt;script&gt;alert(1)&lt;/script&gt;</p>`,
		`<p class="muted small annotation">Body zz: Removed because of raw payload (!raw)</p>`,
		`<em class="annotation">g: Cut because of size limits (!limit), original length 70000</em>`)
	if strings.Contains(page.Body, "<script>alert(1)") {
		t.Error("the rule is not escaped")
	}
}

// Notes on a removed type, a variable, a frame's other field and the
// user's values go beside them, escaped; one on a frame ingest did not
// keep is not shown on another.
func TestIssuePageHostileAnnotations(t *testing.T) {
	f := newFixture(t)
	rem := func(rule string) string { return `{"":{"rem":[["` + rule + `","x"]]}}` }
	res := f.ingestSentry([]byte(`{"event_id":"a0000000000000000000000000000002","user":{"id":"1","email":""},` +
		`"exception":{"values":[{"value":"boom","stacktrace":{"frames":[{"function":"a","vars":{"pw":"","n":{"deep":""}}},{},{"function":"c"}]}}]},` +
		`"_meta":{"user":{"email":` + rem("<img src=x onerror=alert(1)>") + `,"data":{"k":` + rem("!raw") + `}},"exception":{"values":{"0":{"type":` + rem("<b>t</b>") + `,` +
		`"stacktrace":{"frames":{"0":{"function":` + rem("!config") + `,"vars":{"pw":` + rem("@password") + `,"n":{"deep":` + rem("!limit") + `}}},"1":{"function":` + rem("ghost") + `}}}}}}}}`))
	page := f.get(roleMember, issuePath(res.IssueID))
	wantStatus(t, page, http.StatusOK)
	wantBody(t, page,
		`<span class="exc-type">Exception</span> <em class="annotation">Removed because of the PII rule &lt;b&gt;t&lt;/b&gt;</em>`,
		`<tr><th scope="row"><code>pw</code></th><td class="wrap"><code></code> <em class="annotation">Removed because of the PII rule @password</em></td></tr>`,
		`<em class="annotation">deep: Cut because of size limits (!limit)</em>`,
		`<span class="frame-fn">a</span> <em class="annotation">function: Removed because of SDK configuration (!config)</em>`,
		`<dt>Email</dt><dd> <em class="annotation">Removed because of the PII rule &lt;img src=x onerror=alert(1)&gt;</em></dd>`,
		`<p class="muted small annotation">data.k: Removed because of raw payload (!raw)</p>`)
	for _, bad := range []string{"<img src=x", "<b>t", "ghost"} {
		if strings.Contains(page.Body, bad) {
			t.Errorf("page has %q", bad)
		}
	}
}

// Notes on a tag, extra, a context and a breadcrumb show beside them,
// escaped.
func TestIssuePageEventAnnotations(t *testing.T) {
	f := newFixture(t)
	rem := func(rule string) string { return `{"":{"rem":[["` + rule + `","x"]]}}` }
	res := f.ingestSentry([]byte(`{"event_id":"a0000000000000000000000000000003","message":"m",` +
		`"tags":{"t":"[Filtered]"},"extra":{"big":"…"},"contexts":{"order":{"id":""}},"breadcrumbs":[{"category":"c","data":{"q":""}}],` +
		`"_meta":{"extra":{"big":{"":{"len":90000,"rem":[["!limit","x"]]}}},"contexts":{"order":{"id":` + rem("<i>r</i>") + `,"gone":` + rem("!raw") + `}},` +
		`"breadcrumbs":{"0":{"data":{"q":` + rem("@password") + `}}},"tags":{"t":{"":{"rem":[["@password","s"]]}}}}}`))
	page := f.get(roleMember, issuePath(res.IssueID))
	wantStatus(t, page, http.StatusOK)
	wantBody(t, page,
		`<dt>t</dt><dd>[Filtered] <em class="annotation">Replaced because of the PII rule @password</em></dd>`,
		`<p class="muted small annotation">Extra big: Cut because of size limits (!limit), original length 90000</p>`,
		`<dt>id</dt><dd><code></code> <em class="annotation">Removed because of the PII rule &lt;i&gt;r&lt;/i&gt;</em></dd>`,
		`<p class="muted small annotation">gone: Removed because of raw payload (!raw)</p>`,
		`<code class="crumb-data">{&#34;q&#34;:&#34;&#34;}</code> <em class="annotation">data.q: Removed because of the PII rule @password</em>`)
	if strings.Contains(page.Body, "<i>r") {
		t.Error("the rule is not escaped")
	}
}

// Notes on the frames of a message's stack (sentry-python's
// attach_stacktrace: the current thread) and of the other threads show
// beside their variables and on their frames, escaped, as an exception's
// frames' do.
func TestIssuePageStackAnnotations(t *testing.T) {
	f := newFixture(t)
	limit := `{"":{"len":1532,"rem":[["!limit","x",509,512]]}}`
	res := f.ingestSentry([]byte(`{"event_id":"a0000000000000000000000000000004","message":"job failed","platform":"python",` +
		`"threads":{"values":[{"id":1,"current":true,"stacktrace":{"frames":[{"function":"run","module":"jobs","lineno":12,"vars":{"x":"aaaa..."}}]}},` +
		`{"id":2,"name":"worker","stacktrace":{"frames":[{"function":"poll","module":"queue","lineno":3,"vars":{"token":""}}]}}]},` +
		`"_meta":{"threads":{"values":{"0":{"stacktrace":{"frames":{"0":{"vars":{"x":` + limit + `}}}}},` +
		`"1":{"stacktrace":{"frames":{"0":{"function":{"":{"rem":[["<script>alert(1)</script>","s"]]}},"vars":{"token":{"":{"rem":[["@password","x"]]}}}}}}}}}}}`))
	page := f.get(roleMember, issuePath(res.IssueID))
	wantStatus(t, page, http.StatusOK)
	wantBody(t, page,
		`<tr><th scope="row"><code>x</code></th><td class="wrap"><code>aaaa...</code> <em class="annotation">Cut because of size limits (!limit), original length 1532</em></td></tr>`,
		`<tr><th scope="row"><code>token</code></th><td class="wrap"><code></code> <em class="annotation">Removed because of the PII rule @password</em></td></tr>`,
		`<span class="frame-fn">poll</span> <span class="badge">app</span> <em class="annotation">function: Replaced because of the PII rule &lt;script&gt;alert(1)&lt;/script&gt;</em>`)
	if strings.Contains(page.Body, "<script>alert") {
		t.Error("the rule is not escaped")
	}
	if n := strings.Count(page.Body, `<em class="annotation">`); n != 3 {
		t.Errorf("%d notes, want 3", n)
	}
}
