package dashboard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/getflytrap/flytrap/internal/event"
)

// nestedJSON is an object nested depth deep, {"a":{"a":...1...}}: six
// bytes of input per level.
func nestedJSON(depth int) json.RawMessage {
	return json.RawMessage(strings.Repeat(`{"a":`, depth) + "1" + strings.Repeat("}", depth))
}

// pageMarkup is more than the issue page's own markup around an event
// that fits the budget.
const pageMarkup = 64 << 10

// TestRenderAmplification reproduces issue 7's attack: an event whose
// contexts, extra, user.data and request.data are nested about 10,000
// deep (240 KB in all) made the issue page 799 MB, because indentation
// grows with the square of the depth. The page must stay within its
// limits, in bytes written and in bytes allocated, and still render.
func TestRenderAmplification(t *testing.T) {
	const (
		maxPage  = DefaultMaxPage + pageMarkup
		maxAlloc = 16 << 20 // bytes allocated serving the page
	)
	tests := []struct {
		name  string
		depth int
	}{
		{"depth 1000", 1000},
		// Payload decoding refuses nesting beyond 10,000 levels, counted
		// from the event's root.
		{"depth 9990", 9990},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			ev := sampleEvent(f.web.ID, "cccccccccccccccccccccccccccccccc", now.Add(-time.Minute))
			ev.Exceptions[0].Type = "DeepError"
			deep := nestedJSON(tt.depth)
			ev.Contexts, ev.Extra, ev.User.Data, ev.Request.Data = deep, deep, deep, deep
			issue := f.save(ev).IssueID

			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			r := f.get(roleMember, issuePath(issue))
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc

			wantStatus(t, r, 200)
			t.Logf("input %d bytes of nested JSON; page %d bytes; allocated %d bytes", 4*len(deep), len(r.Body), alloc)
			if len(r.Body) > maxPage {
				t.Errorf("page is %d bytes, want at most %d", len(r.Body), maxPage)
			}
			if alloc > maxAlloc {
				t.Errorf("serving the page allocated %d bytes, want at most %d", alloc, maxAlloc)
			}
			wantBody(t, r, "DeepError", `&#34;a&#34;: {… truncated}`, "Download raw JSON")
			checkSafeHTML(t, r.Body)
		})
	}
}

// floodEvent goes over every list limit and, with text that html/template
// lengthens most, over the page's budget several times (about 10 MB of
// JSON), while the lists share their strings to keep the test's memory
// down.
func floodEvent(projectID int64, id string, at time.Time) *event.Event {
	big := strings.Repeat(`<"&'+>`, 256) // 1.5 KiB, 7 KiB as HTML
	line := strings.Repeat("<", 64)
	ev := sampleEvent(projectID, id, at)
	ev.Message = big
	ev.Notes = slicesOf(big, 300)
	var frames []event.Frame
	for i := range 300 {
		frames = append(frames, event.Frame{Filename: fmt.Sprintf("f%d.js", i), AbsPath: big, Function: big, Lineno: 100, InApp: ptr(i%2 == 0),
			PreContext: slicesOf(line, 25), ContextLine: line, PostContext: slicesOf(line, 25)})
	}
	// Innermost first: the page starts from the big ones at the end.
	ev.Exceptions = nil
	for range 300 {
		ev.Exceptions = append(ev.Exceptions, event.Exception{Type: "FloodError", Value: "small"})
	}
	for range 3 {
		ev.Exceptions = append(ev.Exceptions, event.Exception{Type: "FloodError", Value: big, RawStack: big, Frames: frames})
	}
	data, _ := json.Marshal(map[string]string{"k": big})
	for range 300 {
		ev.Breadcrumbs = append(ev.Breadcrumbs, event.Breadcrumb{Category: "c", Message: big, Data: data})
		ev.Request.Headers = append(ev.Request.Headers, [2]string{"h", big})
		ev.Tags = append(ev.Tags, event.Tag{Key: "k", Value: big[:200]})
	}
	w, _ := json.Marshal(slicesOf(big, 500))
	ev.Contexts, ev.Extra, ev.User.Data, ev.Request.Data = w, w, w, w
	return ev
}

func slicesOf(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// TestRenderBudget shows an event over every limit at once, with the
// default limits and with small ones from Config: the page stays within
// its budget plus the page's own markup, says what it cut, and is still
// the issue page.
func TestRenderBudget(t *testing.T) {
	tests := []struct {
		name   string
		limits RenderLimits
		// maxPage is a bound on the page's size in bytes.
		maxPage int
	}{
		{"defaults", RenderLimits{}, DefaultMaxPage + pageMarkup},
		{"small", RenderLimits{MaxDepth: 3, MaxItems: 5, MaxString: 100, MaxJSON: 1000, MaxPage: 32 << 10}, 32<<10 + pageMarkup},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.Render = tt.limits })
			issue := f.save(floodEvent(f.web.ID, "dddddddddddddddddddddddddddddddd", now.Add(-time.Minute))).IssueID
			r := f.get(roleMember, issuePath(issue))
			wantStatus(t, r, 200)
			t.Logf("page %d bytes", len(r.Body))
			if len(r.Body) > tt.maxPage {
				t.Errorf("page is %d bytes, want at most %d", len(r.Body), tt.maxPage)
			}
			wantBody(t, r, "FloodError", "… truncated", "Download raw JSON")
			checkSafeHTML(t, r.Body)
		})
	}
}

// TestRawEventJSON downloads events as JSON: the whole event however much
// the page cut, as a download that no browser renders, and only under the
// issue the event belongs to and for viewers of its project.
func TestRawEventJSON(t *testing.T) {
	f := newFixture(t)
	deep := sampleEvent(f.web.ID, "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", now.Add(-time.Minute))
	deep.Exceptions[0].Type = "DeepError"
	deep.Extra = nestedJSON(5000)
	deepIssue := f.save(deep).IssueID
	raw := func(issue int64, event string) string { return rawEventURL(issue, event) }

	tests := []struct {
		name, role, path string
		status           int
	}{
		{"member, latest event", roleMember, raw(f.issue, f.event2), http.StatusOK},
		{"member, older event", roleMember, raw(f.issue, f.event1), http.StatusOK},
		{"event id with dashes", roleMember, raw(f.issue, "22222222-2222-2222-2222-222222222222"), http.StatusOK},
		{"event of another issue", roleMember, raw(f.issue2, f.event1), http.StatusNotFound},
		{"another project's event under a visible issue", roleAdmin, raw(f.issue, f.otherEvent), http.StatusNotFound},
		{"non-member", roleOutsider, raw(f.issue, f.event2), http.StatusNotFound},
		{"non-member, own event under another project's issue", roleOutsider, raw(f.issue, f.otherEvent), http.StatusNotFound},
		{"malformed event id", roleMember, raw(f.issue, "nope"), http.StatusNotFound},
		{"unknown event", roleMember, raw(f.issue, "99999999999999999999999999999999"), http.StatusNotFound},
		{"anonymous", roleAnon, raw(f.issue, f.event2), http.StatusSeeOther},
		{"deep event", roleMember, raw(deepIssue, "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"), http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.get(tt.role, tt.path)
			wantStatus(t, r, tt.status)
			if tt.status != http.StatusOK {
				noBody(t, r, `"event_id"`)
				return
			}
			h := r.Header
			if h.Get("Content-Type") != "application/json" || h.Get("X-Content-Type-Options") != "nosniff" ||
				!strings.HasPrefix(h.Get("Content-Disposition"), `attachment; filename="event-`) {
				t.Errorf("headers %v", h)
			}
			var ev event.Event
			if err := json.Unmarshal([]byte(r.Body), &ev); err != nil {
				t.Fatalf("body is not an event: %v", err)
			}
			if ev.ProjectID != f.web.ID || !strings.Contains(tt.path, ev.EventID[:8]) {
				t.Errorf("got event %s of project %d", ev.EventID, ev.ProjectID)
			}
		})
	}
	// The whole event: the page cut the nesting, the download does not.
	r := f.get(roleMember, raw(deepIssue, "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"))
	var ev event.Event
	if err := json.Unmarshal([]byte(r.Body), &ev); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ev.Extra, deep.Extra) {
		t.Errorf("extra is %d bytes, want the %d sent", len(ev.Extra), len(deep.Extra))
	}
	page := f.get(roleMember, issuePath(deepIssue))
	wantBody(t, page, `href="`+raw(deepIssue, "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee")+`"`, "… truncated")
}

func TestRenderJSONLimits(t *testing.T) {
	small := RenderLimits{MaxDepth: 2, MaxItems: 3, MaxString: 40, MaxJSON: 200}
	tests := []struct {
		name, raw, indent string
		lim               RenderLimits
		want              string
	}{
		{"depth", `{"a":{"b":{"c":[1]}},"z":[[[]]]}`, "", small,
			`{"a":{"b":{… truncated}},"z":[[… truncated]]}`},
		{"items", `[1,2,3,4,5,{"x":[6]}]`, "", small, `[1,2,3,… truncated (3 more)]`},
		{"items indented", `{"a":1,"b":2,"c":3,"d":4}`, " ", small, "{\n \"a\": 1,\n \"b\": 2,\n \"c\": 3,\n … truncated (1 more)\n}"},
		{"long string", `["` + strings.Repeat("x", 100) + `"]`, "", small, `["xxxxxxxxxxxxxxxxx"… truncated]`},
		{"long key", `{"` + strings.Repeat("k", 100) + `":1}`, "", small, `{"kkkkkkkkkkkkkkkkk"… truncated:1}`},
		{"long number", `[` + strings.Repeat("9", 100) + `]`, "", small, `[` + strings.Repeat("9", 27) + `… truncated]`},
		{"entities count at their HTML size", `["<<<<<<<<<<<<<<"]`, "", small, `["<<<<"… truncated]`},
		{"multi-byte runes are not split", `["` + strings.Repeat("é", 30) + `"]`, "", small, `["` + strings.Repeat("é", 8) + `"… truncated]`},
		{"total bytes", `[` + strings.Repeat(`"abcdefghij",`, 20) + `0]`, "", RenderLimits{MaxItems: 100, MaxJSON: 60},
			"[\"abcdefghij\",\"abcdefghij\",\n… truncated"},
		{"not JSON", `{"a":` + strings.Repeat("x", 300), "", small, `{"a":` + strings.Repeat("x", 200-13-13) + `… truncated`},
		{"within limits", `{"a":[true,false,null,1.50,"\u003c\u2028"]}`, "", RenderLimits{}, `{"a":[true,false,null,1.50,"<` + "\u2028" + `"]}`},
		// As encoding/json reads them: an SDK's repeated key is shown, not
		// refused, and invalid UTF-8 shows as U+FFFD.
		{"repeated key", `{"a": 1, "a": {"b": 2, "b": 3}}`, "", RenderLimits{}, `{"a":1,"a":{"b":2,"b":3}}`},
		{"invalid UTF-8", "[\"caf\xe9\",{\"\xff\":1}]", "", RenderLimits{}, "[\"caf\uFFFD\",{\"\uFFFD\":1}]"},
		{"whitespace kept out", " \n{ \"a\" : [ 1 , 2 ] }\n", "", RenderLimits{}, `{"a":[1,2]}`},
		{"trailing comma", `[1,]`, "", RenderLimits{}, `[1,]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, cost := renderJSON([]byte(tt.raw), tt.indent, tt.lim.withDefaults())
			if got != tt.want {
				t.Errorf("renderJSON(%s)\n got %q\nwant %q", tt.raw, got, tt.want)
			}
			if cost != textCost(got) {
				t.Errorf("cost %d, want %d", cost, textCost(got))
			}
			if lim := tt.lim.withDefaults(); cost > lim.MaxJSON {
				t.Errorf("cost %d over MaxJSON %d", cost, lim.MaxJSON)
			}
		})
	}
}

func TestClipText(t *testing.T) {
	tests := []struct {
		s     string
		limit int
		want  string
	}{
		{"short", 100, "short"},
		{"", 0, ""},
		// The mark costs 13 bytes.
		{strings.Repeat("a", 30), 20, "aaaaaaa… truncated"},
		{strings.Repeat("&", 30), 30, "&&&… truncated"},
		{"日本語のテキストです", 20, "日本… truncated"},
		{"anything", 3, "… truncated"},
	}
	for _, tt := range tests {
		got, cost := clipText(tt.s, tt.limit)
		if got != tt.want || cost != textCost(got) {
			t.Errorf("clipText(%q, %d) = %q (cost %d), want %q (cost %d)", tt.s, tt.limit, got, cost, tt.want, textCost(tt.want))
		}
	}
}

// TestTextCost checks textCost against html/template itself, which the
// limits rely on.
func TestTextCost(t *testing.T) {
	s := "plain <b> & \"q\" 'a' 1+1 \x00 é \xff"
	var b strings.Builder
	if err := template.Must(template.New("").Parse(`{{.}}`)).Execute(&b, s); err != nil {
		t.Fatal(err)
	}
	if textCost(s) != b.Len() {
		t.Errorf("textCost = %d, html/template wrote %d bytes: %s", textCost(s), b.Len(), b.String())
	}
}

// FuzzRenderJSON renders hostile JSON through html/template as the issue
// page does: it must not panic, must stay within MaxJSON, and must come
// out as text, with no markup from the input.
func FuzzRenderJSON(f *testing.F) {
	seeds := []string{
		string(nestedJSON(10000)),
		strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
		strings.Repeat(`{"a":[`, 3000) + strings.Repeat("]}", 3000),
		strings.Repeat("[", 20000),
		`{"</pre><script>alert(1)</script>":"<img src=x onerror=alert(1)>"}`,
		`["\u003c/pre\u003e\u003cscript\u003e", "\u0000\u2028\ud800", "{{.}}"]`,
		`[` + strings.Repeat(`"&&&&&&&&",`, 500) + `1]`,
		`1e999999`, `-0.0000000000000000000000000001`, `"` + strings.Repeat("\\\"", 3000) + `"`,
		`{"a":1,"a":2}`, `{"a":`, `nul`, "\xff\xfe", `[1,]`,
	}
	for _, s := range seeds {
		f.Add([]byte(s), uint8(3))
	}
	tmpl := template.Must(template.New("").Parse(`<pre>{{.}}</pre>`))
	f.Fuzz(func(t *testing.T, raw []byte, depth uint8) {
		lim := RenderLimits{MaxDepth: int(depth%8) + 1, MaxItems: 8, MaxString: 64, MaxJSON: 2048}
		for _, indent := range []string{"  ", ""} {
			out, cost := renderJSON(raw, indent, lim)
			if cost > lim.MaxJSON || cost != textCost(out) {
				t.Fatalf("cost %d (text %d), MaxJSON %d", cost, textCost(out), lim.MaxJSON)
			}
			if !utf8.ValidString(out) && utf8.Valid(raw) {
				t.Fatalf("valid input became invalid UTF-8: %q", out)
			}
			var page strings.Builder
			if err := tmpl.Execute(&page, out); err != nil {
				t.Fatal(err)
			}
			html := page.String()
			if len(html)-len("<pre></pre>") > lim.MaxJSON {
				t.Fatalf("%d bytes of HTML, MaxJSON %d", len(html)-len("<pre></pre>"), lim.MaxJSON)
			}
			if strings.Count(html, "<") != 2 || strings.Count(html, ">") != 2 {
				t.Fatalf("markup from the input: %q", html)
			}
		}
	})
}

// TestMegabyteEventPage: an event of about 1 MB as an SDK sends one (250
// frames with eight variables each, 100 breadcrumbs with 4 KB of data)
// made a 1.3 MB page. Each breadcrumb's data and variable's value now
// shows at most entryJSON of HTML and the page at most DefaultMaxPage;
// the rest is marked cut, and the raw JSON has it all.
func TestMegabyteEventPage(t *testing.T) {
	f := newFixture(t)
	ev := sampleEvent(f.web.ID, "dddddddddddddddddddddddddddddddd", now.Add(-time.Minute))
	ev.Exceptions[0].Frames = nil
	for i := range 250 {
		vars := map[string]string{}
		for v := range 8 {
			vars[fmt.Sprintf("v%d", v)] = strings.Repeat(fmt.Sprintf("value %d of frame %d <b>&amp; ", v, i), 6)
		}
		raw, _ := json.Marshal(vars)
		ev.Exceptions[0].Frames = append(ev.Exceptions[0].Frames, event.Frame{Filename: fmt.Sprintf("f%d.js", i), Function: "deep",
			Lineno: i + 1, InApp: ptr(true), ContextLine: "recurse(x);", Vars: raw})
	}
	ev.Breadcrumbs = nil
	for i := range 100 {
		data, _ := json.Marshal(map[string]string{"payload": strings.Repeat(fmt.Sprintf("crumb %d <script>x</script> ", i), 140)})
		ev.Breadcrumbs = append(ev.Breadcrumbs, event.Breadcrumb{Category: "xhr", Message: fmt.Sprintf("POST /api/%d", i), Data: data})
	}
	if raw, _ := json.Marshal(ev); len(raw) < 800<<10 {
		t.Fatalf("the event is %d bytes of JSON, want about 1 MB", len(raw))
	}
	r := f.get(roleMember, issuePath(f.save(ev).IssueID))
	wantStatus(t, r, 200)
	if max := 600 << 10; len(r.Body) > max {
		t.Errorf("page is %d bytes, want at most %d", len(r.Body), max)
	}
	crumbs := r.Body[strings.Index(r.Body, `class="breadcrumbs"`):]
	crumbs = crumbs[:strings.Index(crumbs, "</table>")]
	if n := strings.Count(crumbs, "crumb 0 "); n == 0 || n > entryJSON/20 || !strings.Contains(crumbs, truncMark) {
		t.Errorf("the first breadcrumb's data shows %d of its 140 repeats, want some, at most %d, and %q", n, entryJSON/20, truncMark)
	}
	wantBody(t, r, "f0.js", "POST /api/0", "Download raw JSON")
	checkSafeHTML(t, r.Body)
}
