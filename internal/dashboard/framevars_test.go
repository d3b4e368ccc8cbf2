package dashboard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/ingest"
	"github.com/getflytrap/flytrap/internal/process"
	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/internal/testutil/samples"
)

// ingestSentry sends a Sentry event to ingest's store endpoint, processed
// at once with the project's privacy settings from the store, as
// `flytrap dev` does, and returns what saving did.
func (f *fixture) ingestSentry(payload []byte) store.SaveResult {
	f.t.Helper()
	q := &processingQueue{p: process.New(process.Config{Saver: f.db, Privacy: f.db})}
	h := ingest.New(ingest.Config{IPSalt: []byte("salt")}, oneKey{f.webKey.PublicKey, f.web.ID}, q, nil)
	r := httptest.NewRequest(http.MethodPost, fmt.Sprintf("/api/%d/store/", f.web.ID), bytes.NewReader(payload))
	r.Header.Set("X-Sentry-Auth", "Sentry sentry_version=7, sentry_key="+f.webKey.PublicKey)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK {
		f.t.Fatalf("ingest answered %d: %s", rec.Code, rec.Body)
	}
	return q.res
}

// varsTable returns the local variables table of the page's frame whose
// heading names fn.
func varsTable(t *testing.T, page, fn string) string {
	t.Helper()
	re := regexp.MustCompile(`(?s)<span class="frame-fn">` + regexp.QuoteMeta(fn) + `</span>.*?(<table class="frame-vars">.*?</table>)`)
	m := re.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no local variables under frame %s:\n%s", fn, excerpt(page))
	}
	return m[1]
}

// QA: python-modern.json's local variables used to be dropped. They go
// through ingest, the processor and the store, and the issue page shows
// them in the frame's expanded view, which is open on the most recent
// in-app frame.
func TestIssuePageFrameVarsOfPythonSample(t *testing.T) {
	f := newFixture(t)
	res := f.ingestSentry(samples.Read(t, "python-modern.json"))
	page := f.get(roleMember, issuePath(res.IssueID))
	wantStatus(t, page, http.StatusOK)
	table := varsTable(t, page.Body, "main")
	for _, want := range []string{
		`<caption>Local variables</caption>`,
		// A string is shown without its JSON quotes (these are Python's
		// reprs), an object pretty-printed by the JSON renderer.
		`<tr><th scope="row"><code>int_var</code></th><td class="wrap"><code>1</code></td></tr>`,
		`<tr><th scope="row"><code>str_var</code></th><td class="wrap"><code>&#39;Hello, world!&#39;</code></td></tr>`,
		`<tr><th scope="row"><code>dict_var</code></th><td class="wrap"><pre>{
  &#34;key1&#34;: &#34;&#39;value1&#39;&#34;,`,
		`<tr><th scope="row"><code>list_var</code></th><td class="wrap"><pre>[
  &#34;1&#34;,`,
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	// In the order stored (by name).
	if i, j := strings.Index(table, "dict_var"), strings.Index(table, "str_var"); i < 0 || j < i {
		t.Errorf("dict_var at %d, str_var at %d", i, j)
	}
	// The innermost in-app frame starts open.
	wantBody(t, page, `<details class="frame-details" open>
    <summary><span class="frame-loc">main.py:26</span> <span class="muted">in</span> <span class="frame-fn">main</span>`)
	// The module frame's variables are there too, collapsed.
	wantBody(t, page, `<code>__name__</code></th><td class="wrap"><code>&#39;__main__&#39;</code>`)
}

// Secrets in local variables are scrubbed before they are stored, as in
// extra; a project's own settings apply to them; the page shows what was
// stored.
func TestIssuePageFrameVarsScrubbed(t *testing.T) {
	secrets := `{"password":"x","card":"4111 1111 1111 1111","dsn":"postgres://u:pw@h/db","iban":"DE89370400440532013000","note":"ok"}`
	payload := func(id string) []byte {
		return []byte(`{"event_id":"` + id + `","platform":"python","exception":{"values":[{"type":"PaymentError","value":"declined",` +
			`"stacktrace":{"frames":[{"filename":"pay.py","function":"charge","lineno":3,"in_app":true,"vars":` + secrets + `}]}}]}}`)
	}
	f := newFixture(t)

	res := f.ingestSentry(payload("5ca1ab1e000000000000000000000001"))
	page := f.get(roleMember, issuePath(res.IssueID))
	table := varsTable(t, page.Body, "charge")
	for _, want := range []string{
		`<code>card</code></th><td class="wrap"><code>[Filtered]</code>`,
		`<code>dsn</code></th><td class="wrap"><code>postgres://u:[Filtered]@h/db</code>`,
		`<code>password</code></th><td class="wrap"><code>[Filtered]</code>`,
		`<code>iban</code></th><td class="wrap"><code>DE89370400440532013000</code>`,
		`<code>note</code></th><td class="wrap"><code>ok</code>`,
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	wantBody(t, page, "Scrubbed 3 values (frames.vars: 3)")
	noBody(t, page, "4111", ":pw@")

	// The project's settings: IBAN is sensitive, card is safe.
	_, err := f.db.SetProjectPrivacy(f.ctx, store.System, f.web.ID, store.PrivacySettings{Scrubbing: true,
		SensitiveFields: []string{"iban"}, SafeFields: []string{"card"}})
	f.must(err)
	res = f.ingestSentry(payload("5ca1ab1e000000000000000000000002"))
	page = f.get(roleMember, issuePath(res.IssueID)+"?event=5ca1ab1e000000000000000000000002")
	table = varsTable(t, page.Body, "charge")
	for _, want := range []string{
		`<code>card</code></th><td class="wrap"><code>4111 1111 1111 1111</code>`,
		`<code>iban</code></th><td class="wrap"><code>[Filtered]</code>`,
		`<code>password</code></th><td class="wrap"><code>[Filtered]</code>`,
	} {
		if !strings.Contains(table, want) {
			t.Errorf("with the project's settings, table lacks %q:\n%s", want, table)
		}
	}

	// Scrubbing off: stored as sent.
	_, err = f.db.SetProjectPrivacy(f.ctx, store.System, f.web.ID, store.PrivacySettings{Scrubbing: false})
	f.must(err)
	res = f.ingestSentry(payload("5ca1ab1e000000000000000000000003"))
	page = f.get(roleMember, issuePath(res.IssueID)+"?event=5ca1ab1e000000000000000000000003")
	table = varsTable(t, page.Body, "charge")
	if !strings.Contains(table, `<code>password</code></th><td class="wrap"><code>x</code>`) {
		t.Errorf("with scrubbing off, table:\n%s", table)
	}
}

// Variable names and values are SDK text: escaped wherever they appear,
// keys inside JSON values too.
func TestIssuePageFrameVarsEscaped(t *testing.T) {
	f := newFixture(t)
	ev := sampleEvent(f.web.ID, "5ca1ab1e0000000000000000000000e1", now.Add(-time.Minute))
	ev.Exceptions[0].Type = "VarsError"
	vars, _ := json.Marshal(map[string]any{hostile[0]: hostile[1], hostile[3]: map[string]string{hostile[5]: hostile[6]}, "n": 1})
	ev.Exceptions[0].Frames[2].Vars = vars
	page := f.get(roleMember, issuePath(f.save(ev).IssueID))
	wantStatus(t, page, http.StatusOK)
	table := varsTable(t, page.Body, "submitOrder")
	for _, want := range []string{
		`<code>&lt;script&gt;alert(1)&lt;/script&gt;</code></th><td class="wrap"><code>&#34;&gt;&lt;img src=x onerror=alert(1)&gt;</code>`,
		`<code>&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;</code></th><td class="wrap"><pre>{
  &#34;&#39;&gt;&lt;svg onload=alert(1)&gt;&#34;: &#34;&lt;style&gt;body{display:none}&lt;/style&gt;&#34;
}</pre>`,
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	noBody(t, page, hostile[0], hostile[1], hostile[6], "<svg onload")
}

// The page shows a frame's variables within the rendering limits: at most
// MaxItems of them, then a count; values nested deeper than MaxDepth and
// strings over MaxString cut with the truncated mark.
func TestIssuePageFrameVarsBounded(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Render = RenderLimits{MaxItems: 5, MaxDepth: 3, MaxString: 64} })
	m := map[string]any{}
	for i := range 8 {
		m[fmt.Sprintf("v%d", i)] = i
	}
	m["a_deep"] = map[string]any{"b": map[string]any{"c": map[string]any{"d": map[string]any{"e": "gone"}}}}
	m["a_long"] = strings.Repeat("x", 200)
	vars, _ := json.Marshal(m)
	ev := sampleEvent(f.web.ID, "5ca1ab1e0000000000000000000000b1", now.Add(-time.Minute))
	ev.Exceptions[0].Type = "BoundedError"
	ev.Exceptions[0].Frames[2].Vars = vars
	page := f.get(roleMember, issuePath(f.save(ev).IssueID))
	wantStatus(t, page, http.StatusOK)
	table := varsTable(t, page.Body, "submitOrder")
	for _, want := range []string{
		`{… truncated}`,         // a_deep below depth 3
		`xxx… truncated</code>`, // a_long over 64 bytes
		`<tr class="truncated"><td colspan="2">… truncated (5 more variables)</td></tr>`, // 10 variables, 5 shown
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	if strings.Contains(table, "gone") || strings.Count(table, `<th scope="row">`) != 5 {
		t.Errorf("want 5 variables shown and nothing below depth 3:\n%s", table)
	}
}

// Vars are shown for the frames of other threads too; a frame without
// source lines is expandable for its variables alone.
func TestIssuePageFrameVarsOfThreads(t *testing.T) {
	f := newFixture(t)
	ev := sampleEvent(f.web.ID, "5ca1ab1e0000000000000000000000c1", now.Add(-time.Minute))
	ev.Exceptions[0].Type = "ThreadError"
	ev.Threads = []event.Thread{{ID: "2", Name: "worker", Frames: []event.Frame{{Filename: "worker.py", Function: "poll", Lineno: 9,
		Vars: json.RawMessage(`{"timeout":30}`)}}}}
	page := f.get(roleMember, issuePath(f.save(ev).IssueID))
	table := varsTable(t, page.Body, "poll")
	if !strings.Contains(table, `<code>timeout</code></th><td class="wrap"><code>30</code>`) {
		t.Errorf("thread frame's table:\n%s", table)
	}
	if !regexp.MustCompile(`<details class="frame-details"[^>]*>\s*<summary><span class="frame-loc">worker.py:9</span>.*</summary>\s*<table class="frame-vars">`).MatchString(page.Body) {
		t.Errorf("poll's variables are not in its expanded view:\n%s", excerpt(page.Body))
	}
}
