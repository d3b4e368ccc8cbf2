package dashboard

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
)

// jsonString is s encoded as a JSON string, as an SDK sends a body it did
// not parse.
func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

// TestIssuePageRequestBody checks that a request body is shown as Sentry
// shows it: a JSON object, sent as one or as a string (sentry-go's
// HTTPBodies), and a form body, declared by its Content-Type or reading
// cleanly as one, as fields; anything else as the text sent. Keys and
// values are escaped.
func TestIssuePageRequestBody(t *testing.T) {
	form := [][2]string{{"content-type", "application/x-www-form-urlencoded; charset=UTF-8"}}
	for i, tc := range []struct {
		name    string
		headers [][2]string
		data    json.RawMessage
		want    []string
		not     []string
	}{
		{"sentry-go JSON body", nil, jsonString(`{"item":"book","qty":2,"note":"café"}`),
			[]string{`<th>Body field</th>`, `<tr><td class="wrap"><code>item</code></td><td class="wrap"><code>book</code></td></tr>`,
				`<code>qty</code></td><td class="wrap"><code>2</code>`, `<code>note</code></td><td class="wrap"><code>café</code>`},
			[]string{`Request body`, `\&#34;item`, `&#34;item&#34;`}},
		{"form body", nil, jsonString("a=1&b=caf%C3%A9&password=[Filtered]"),
			[]string{`<code>a</code></td><td class="wrap"><code>1</code>`, `<code>b</code></td><td class="wrap"><code>café</code>`,
				`<code>password</code></td><td class="wrap"><code>[Filtered]</code>`},
			[]string{`Request body`, `caf%C3%A9`}},
		{"Java's JSON string", nil, json.RawMessage(`"{\"logged_in\":[\"1\"]}"`),
			[]string{`<code>logged_in</code></td><td class="wrap"><code>[&#34;1&#34;]</code>`}, []string{`Request body`, `\&#34;`}},
		{"JSON object", nil, json.RawMessage(`{"logged_in":["1"],"empty":{},"none":null}`),
			[]string{`<code>logged_in</code></td><td class="wrap"><code>[&#34;1&#34;]</code>`,
				`<code>empty</code></td><td class="wrap"><code>{}</code>`, `<code>none</code></td><td class="wrap"><code>null</code>`},
			[]string{`Request body`}},
		// Fields as encoding/json reads them: each of a repeated key
		// shown, invalid UTF-8 as U+FFFD.
		{"repeated keys", nil, json.RawMessage(`{"a": "1", "a": "2", "b": {"c": 1, "c": 2}}`),
			[]string{`<code>a</code></td><td class="wrap"><code>1</code>`, `<code>a</code></td><td class="wrap"><code>2</code>`,
				`<code>b</code></td><td class="wrap"><code>{&#34;c&#34;:1,&#34;c&#34;:2}</code>`},
			[]string{`Request body`}},
		{"invalid UTF-8", nil, json.RawMessage("{\"caf\xe9\": \"\xff\"}"),
			[]string{"<code>caf\uFFFD</code></td><td class=\"wrap\"><code>\uFFFD</code>"}, []string{`Request body`}},
		{"declared form with spaces", form, jsonString("q=hello+world&flag&name=a b"),
			[]string{`<code>q</code></td><td class="wrap"><code>hello world</code>`, `<code>flag</code></td><td class="wrap"><code></code>`,
				`<code>name</code></td><td class="wrap"><code>a b</code>`},
			[]string{`Request body`}},
		{"text", nil, jsonString("just some text=1 and more"),
			[]string{`<details><summary>Request body</summary><pre>just some text=1 and more</pre></details>`},
			[]string{`Body field`}},
		{"URL is no form", nil, jsonString("https://shop.example/cart?a=1"),
			[]string{`<pre>https://shop.example/cart?a=1</pre>`}, []string{`Body field`}},
		{"broken JSON", nil, jsonString(`{"item":"book",`),
			[]string{`<pre>{&#34;item&#34;:&#34;book&#34;,</pre>`}, []string{`Body field`}},
		{"JSON array", nil, jsonString(`[1,{"a":"b"}]`),
			[]string{"<pre>[\n  1,\n  {\n    &#34;a&#34;: &#34;b&#34;\n  }\n]</pre>"}, []string{`Body field`, `\&#34;`}},
		{"hostile JSON", nil, jsonString(`{"<script>k</script>":"<img src=x onerror=alert(1)>"}`),
			[]string{`<code>&lt;script&gt;k&lt;/script&gt;</code></td><td class="wrap"><code>&lt;img src=x onerror=alert(1)&gt;</code>`},
			[]string{`<script>k`, `<img src=x`}},
		{"hostile form", form, jsonString("%3Cb%3E=%3Cscript%3Ealert(1)%3C/script%3E"),
			[]string{`<code>&lt;b&gt;</code></td><td class="wrap"><code>&lt;script&gt;alert(1)&lt;/script&gt;</code>`},
			[]string{`<b>`, `<script>alert`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			ev := sampleEvent(f.web.ID, fmt.Sprintf("%032x", i+1), now.Add(-time.Minute))
			ev.Request = &event.Request{Method: "POST", URL: "https://shop.example/orders", Headers: tc.headers, Data: tc.data}
			r := f.get(roleMember, issuePath(f.save(ev).IssueID))
			wantStatus(t, r, 200)
			wantBody(t, r, tc.want...)
			noBody(t, r, tc.not...)
		})
	}
}

// TestIssuePageRequestBodyBounded checks that a body's fields are items of
// the page: past MaxItems the rest are counted, not shown.
func TestIssuePageRequestBodyBounded(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Render = RenderLimits{MaxItems: 3} })
	var pairs []string
	for i := range 10 {
		pairs = append(pairs, fmt.Sprintf("k%d=v%d", i, i))
	}
	ev := sampleEvent(f.web.ID, "77777777777777777777777777777777", now.Add(-time.Minute))
	ev.Request = &event.Request{Method: "POST", Data: jsonString(strings.Join(pairs, "&"))}
	ev.Contexts = json.RawMessage(`{"a":{"x":1,"y":2,"z":3,"w":4},"b":{},"c":{},"d":{},"e":{}}`)
	r := f.get(roleMember, issuePath(f.save(ev).IssueID))
	wantStatus(t, r, 200)
	wantBody(t, r, `<code>k2</code>`, `… truncated (7 more fields)`, `… truncated (1 more field)`, `… truncated (2 more contexts)`)
	noBody(t, r, `<code>k3</code>`, `<dt>w</dt>`)
}

// TestIssuePageContexts checks that each context is a card of its fields,
// as in Sentry: the known ones titled by name, custom ones (sentry-go's
// SetContext, JavaScript's setContext) by their key, nested values as
// compact JSON, and a hostile context name, key and value escaped.
func TestIssuePageContexts(t *testing.T) {
	f := newFixture(t)
	ev := sampleEvent(f.web.ID, "88888888888888888888888888888888", now.Add(-time.Minute))
	ev.Contexts = json.RawMessage(`{"os":{"name":"Linux","version":"6.1","type":"os"},"runtime":{"name":"go","version":"go1.26.8"},` +
		`"browser":{"name":"Chrome","version":"131.0"},"device":{"arch":"amd64","num_cpu":2},"app":{"app_start_time":"2026-12-07T06:00:00Z"},` +
		`"trace":{"trace_id":"0af7651916cd43dd8448eb211c80319c","span_id":"b7ad6b7169203331"},` +
		`"order":{"id":42,"items":[{"sku":"A-1","qty":2}],"gift":true},"payment":{"provider":"stripe","type":"card"},` +
		`"<i>ctx</i>":{"<b>k</b>":"<script>alert(1)</script>"},"flag":"on"}`)
	r := f.get(roleMember, issuePath(f.save(ev).IssueID))
	wantStatus(t, r, 200)
	wantBody(t, r, `<h3>Contexts</h3>`,
		`<h4>Operating System</h4>`, `<dt>name</dt><dd><code>Linux</code></dd><dt>version</dt><dd><code>6.1</code></dd>`,
		`<h4>Runtime</h4>`, `<dd><code>go1.26.8</code></dd>`, `<h4>Browser</h4>`, `<h4>Device</h4>`, `<dt>num_<wbr>cpu</dt><dd><code>2</code></dd>`,
		`<h4>App</h4>`, `<h4>Trace</h4>`, `<dd><code>0af7651916cd43dd8448eb211c80319c</code></dd>`,
		`<h4>order</h4>`, `<dt>items</dt><dd><code>[{&#34;sku&#34;:&#34;A-1&#34;,&#34;qty&#34;:2}]</code></dd>`, `<dt>gift</dt><dd><code>true</code></dd>`,
		`<h4>payment</h4>`, `<dt>type</dt><dd><code>card</code></dd>`,
		`<h4>&lt;i&gt;ctx&lt;/i&gt;</h4>`, `<dt>&lt;b&gt;k&lt;/<wbr>b&gt;</dt><dd><code>&lt;script&gt;alert(1)&lt;/script&gt;</code></dd>`,
		`<h4>flag</h4>`, `<dt>flag</dt><dd><code>on</code></dd>`)
	noBody(t, r, `<dt>type</dt><dd><code>os</code>`, `<i>ctx`, `<b>k`, `<script>alert(1)`, `<summary>Contexts</summary>`)
}
