package dashboard

import (
	"encoding/json"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/store"
)

func TestHourlyChart(t *testing.T) {
	at := time.Date(2026, 11, 22, 12, 30, 0, 0, time.UTC)
	buckets := []store.Bucket{
		{Hour: at.Add(-30 * time.Hour).Truncate(time.Hour), Count: 100},  // before the window
		{Hour: time.Date(2026, 11, 21, 13, 0, 0, 0, time.UTC), Count: 2}, // first slot
		{Hour: time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC), Count: 8},
		{Hour: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC), Count: 4}, // current hour, last slot
	}
	c := hourlyChart(buckets, at)
	if len(c.Bars) != 24 || c.Total != 14 || c.Max != 8 {
		t.Fatalf("bars %d total %d max %d, want 24, 14, 8", len(c.Bars), c.Total, c.Max)
	}
	want := map[int]int64{0: 2, 17: 8, 23: 4}
	for i, b := range c.Bars {
		if b.Count != want[i] {
			t.Errorf("slot %d count %d, want %d", i, b.Count, want[i])
		}
		if b.Count == 0 && b.H != 0 || b.Count > 0 && b.H < minBarH {
			t.Errorf("slot %d: height %v for count %d", i, b.H, b.Count)
		}
		if b.Y+b.H != chartHeight || b.X < 0 || b.X+b.W > chartWidth {
			t.Errorf("slot %d outside the chart: %+v", i, b)
		}
	}
	if c.Bars[17].H != chartHeight {
		t.Errorf("largest bar height %v, want full %v", c.Bars[17].H, float64(chartHeight))
	}
	if c.Bars[0].Tip != "Nov 21, 13:00 UTC: 2 events" {
		t.Errorf("tip %q", c.Bars[0].Tip)
	}
	// The hours are machine-readable too, for app.js to show them in
	// the reader's zone; the text says they are UTC for those without it.
	if c.Start != "13:00 UTC" || c.StartHour != "2026-11-21T13:00:00Z" || c.Bars[0].Hour != "2026-11-21T13:00:00Z" || c.Bars[23].Hour != "2026-11-22T12:00:00Z" {
		t.Errorf("start %q (%q), first bar's hour %q, last %q", c.Start, c.StartHour, c.Bars[0].Hour, c.Bars[23].Hour)
	}
}

func TestDailyChart(t *testing.T) {
	at := time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)
	buckets := []store.Bucket{
		{Hour: time.Date(2026, 11, 8, 23, 0, 0, 0, time.UTC), Count: 50}, // the day before the window
		{Hour: time.Date(2026, 11, 9, 0, 0, 0, 0, time.UTC), Count: 1},
		{Hour: time.Date(2026, 11, 9, 23, 0, 0, 0, time.UTC), Count: 2},
		{Hour: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), Count: 3},
	}
	c := dailyChart(buckets, at)
	if len(c.Bars) != 14 || c.Total != 6 || c.Bars[0].Count != 3 || c.Bars[13].Count != 3 {
		t.Fatalf("bars %+v", c.Bars)
	}
	if c.Start != "Nov 9" {
		t.Errorf("start %q", c.Start)
	}
	empty := dailyChart(nil, at)
	if empty.Total != 0 || empty.Bars[5].H != 0 {
		t.Errorf("empty chart %+v", empty)
	}
}

func TestNewExceptionViewGroupsFrames(t *testing.T) {
	yes, no := ptr(true), ptr(false)
	tests := []struct {
		name   string
		frames []event.Frame
		want   []frameGroup // without the frames' details
	}{
		{"app frames between libraries", []event.Frame{{Function: "lib1", InApp: no}, {Function: "app1", InApp: yes}, {Function: "app2", InApp: yes}, {Function: "lib2", InApp: no}},
			[]frameGroup{{Library: true}, {Library: false}, {Library: true}}},
		{"nothing marked in-app shows every frame", []event.Frame{{Function: "a"}, {Function: "b", InApp: no}},
			[]frameGroup{{Library: false}}},
		{"no frames", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newExceptionView(event.Exception{Frames: tt.frames}, newBudget(RenderLimits{}))
			var got []frameGroup
			n := 0
			for _, g := range v.Groups {
				got = append(got, frameGroup{Library: g.Library})
				n += len(g.Frames)
			}
			if !reflect.DeepEqual(got, tt.want) || n != len(tt.frames) {
				t.Errorf("groups %+v (%d frames), want %+v", got, n, tt.want)
			}
			for _, g := range v.Groups {
				for _, f := range g.Frames {
					if f.InApp != (f.Function == "app1" || f.Function == "app2") {
						t.Errorf("frame %s badged app: %v", f.Function, f.InApp)
					}
				}
			}
		})
	}
	// Most recent call first: Sentry frames are oldest first.
	v := newExceptionView(event.Exception{Frames: []event.Frame{{Function: "main", InApp: yes}, {Function: "handler", InApp: yes}}}, newBudget(RenderLimits{}))
	if v.Groups[0].Frames[0].Function != "handler" {
		t.Errorf("first frame %q, want the most recent call", v.Groups[0].Frames[0].Function)
	}
}

func TestNewFrameViewContext(t *testing.T) {
	tests := []struct {
		name  string
		frame event.Frame
		want  []codeLine
	}{
		{"numbered around the line", event.Frame{Lineno: 10, PreContext: []string{"a", "b"}, ContextLine: "c", PostContext: []string{"d"}},
			[]codeLine{{8, "a", false}, {9, "b", false}, {10, "c", true}, {11, "d", false}}},
		{"no line number", event.Frame{PreContext: []string{"a"}, ContextLine: "b"},
			[]codeLine{{0, "a", false}, {0, "b", true}}},
		{"near the top of the file", event.Frame{Lineno: 1, PreContext: []string{"x"}, ContextLine: "y"},
			[]codeLine{{0, "x", false}, {1, "y", true}}},
		{"no context", event.Frame{Lineno: 3}, nil},
	}
	for _, tt := range tests {
		if got := newFrameView(tt.frame, true, newBudget(RenderLimits{})).Code; !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
	tests2 := []struct {
		frame    event.Frame
		location string
		position string
		abs      string
	}{
		{event.Frame{Filename: "app.js", AbsPath: "http://x/app.js", Lineno: 4, Colno: 2}, "app.js", "app.js:4:2", "http://x/app.js"},
		{event.Frame{Module: "pkg.mod", Lineno: 4}, "pkg.mod", "pkg.mod:4", ""},
		// sentry-go: the package as the module, the file as abs_path.
		{event.Frame{Module: "main", AbsPath: "/app/main.go", Lineno: 39}, "/app/main.go", "/app/main.go:39", ""},
		{event.Frame{AbsPath: "/srv/app.py"}, "/srv/app.py", "/srv/app.py", ""},
	}
	for _, tt := range tests2 {
		v := newFrameView(tt.frame, true, newBudget(RenderLimits{}))
		if v.Location != tt.location || v.Position() != tt.position || v.AbsPath != tt.abs {
			t.Errorf("%+v: location %q position %q abs %q", tt.frame, v.Location, v.Position(), v.AbsPath)
		}
	}
}

func TestNewEventViewUnreadablePayload(t *testing.T) {
	v := newEventView(store.EventRow{EventID: "e", Payload: []byte("{not json"), Level: "error"}, newBudget(RenderLimits{}), false)
	if !v.Unreadable || v.ID != "e" || v.Level != "error" {
		t.Errorf("%+v", v)
	}
}

func TestJSONHelpers(t *testing.T) {
	tests := []struct {
		raw             string
		compact, indent string
	}{
		{``, ``, ``},
		{`null`, ``, ``},
		{`"plain text"`, `plain text`, `"plain text"`},
		// Members stay in the order sent; numbers stay as sent.
		{`{"b": [1, 2], "a": 12345678901234567890}`, `{"b":[1,2],"a":12345678901234567890}`, "{\n  \"b\": [\n    1,\n    2\n  ],\n  \"a\": 12345678901234567890\n}"},
		{`{"e": {}, "l": [], "t": true, "n": null, "q": "a\"\\\n\u0001"}`, `{"e":{},"l":[],"t":true,"n":null,"q":"a\"\\\n\u0001"}`,
			"{\n  \"e\": {},\n  \"l\": [],\n  \"t\": true,\n  \"n\": null,\n  \"q\": \"a\\\"\\\\\\n\\u0001\"\n}"},
		{`{"m":"\u003cb\u003e \u0026"}`, `{"m":"<b> &"}`, "{\n  \"m\": \"<b> &\"\n}"},
		{`{not json`, `{not json`, `{not json`},
	}
	for _, tt := range tests {
		b := newBudget(RenderLimits{})
		if got := b.compactJSON(json.RawMessage(tt.raw)); got != tt.compact {
			t.Errorf("compactJSON(%s) = %q, want %q", tt.raw, got, tt.compact)
		}
		if got := b.indentJSON(json.RawMessage(tt.raw)); got != tt.indent {
			t.Errorf("indentJSON(%s) = %q, want %q", tt.raw, got, tt.indent)
		}
	}
}

func TestTagGroups(t *testing.T) {
	tags := []store.TagCount{
		{Key: "browser", Value: "Chrome", Count: 3}, {Key: "browser", Value: "Firefox 120", Count: 1},
		{Key: "odd/key", Value: `say "hi"`, Count: 2}, {Key: `q"k`, Value: "v", Count: 1},
	}
	got, _ := tagGroups(7, tags, newBudget(RenderLimits{}))
	if len(got) != 3 || got[0].Total != 4 || got[0].Values[0].Percent != 75 || got[0].Values[1].Percent != 25 {
		t.Fatalf("%+v", got)
	}
	if u := got[0].Values[1].SearchURL; u != "/projects/7/issues?query=browser%3A%22Firefox+120%22&status=all" {
		t.Errorf("search URL %q", u)
	}
	// A value with quotes is searched with them escaped, a key with a
	// slash as tags[key].
	want := "/projects/7/issues?" + url.Values{"query": {`tags[odd/key]:"say \"hi\""`}, "status": {"all"}}.Encode()
	if u := got[1].Values[0].SearchURL; u != want {
		t.Errorf("search URL %q, want %q", u, want)
	}
	if got[2].Values[0].SearchURL != "" {
		t.Errorf("a key the search syntax cannot express got a link")
	}
	var many []store.TagCount
	for i := range maxTagValuesShown + 3 {
		many = append(many, store.TagCount{Key: "k", Value: string(rune('a' + i)), Count: 1})
	}
	if gs, _ := tagGroups(1, many, newBudget(RenderLimits{})); len(gs) != 1 {
		t.Fatalf("%d groups of one key", len(gs))
	} else if g := gs[0]; len(g.Values) != maxTagValuesShown || g.More != 3 || g.Total != int64(maxTagValuesShown+3) {
		t.Errorf("values %d more %d total %d", len(g.Values), g.More, g.Total)
	}
	many[len(many)-1].Capped = true
	if gs, _ := tagGroups(1, many, newBudget(RenderLimits{})); !gs[0].Capped {
		t.Errorf("a key whose values are capped is not marked, though the capped value is not shown")
	}
	if got[0].Capped {
		t.Errorf("a key not capped is marked")
	}
}

func TestFormatting(t *testing.T) {
	for in, want := range map[string]string{
		"https://example.com/a?b=c":  "https://example.com/a?b=c",
		"HTTP://EXAMPLE.com/":        "http://EXAMPLE.com/",
		"javascript:alert(1)":        "",
		" JavaScript:alert(1)":       "",
		"data:text/html,x":           "",
		"/relative/path":             "",
		"//example.com/x":            "",
		"http:///nohost":             "",
		"ftp://example.com/x":        "",
		"http://[::1]:8080/x":        "http://[::1]:8080/x",
		"https://example.com/\"><x>": "https://example.com/%22%3E%3Cx%3E",
	} {
		if got := httpURL(in); got != want {
			t.Errorf("httpURL(%q) = %q, want %q", in, got, want)
		}
	}
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -4500: "-4,500"} {
		if got := formatNumber(n); got != want {
			t.Errorf("formatNumber(%d) = %q, want %q", n, got, want)
		}
	}
	d := &Dashboard{now: func() time.Time { return now }}
	for ago, want := range map[time.Duration]string{
		-time.Minute: "just now", 30 * time.Second: "just now", 5 * time.Minute: "5 min ago",
		time.Hour: "1 hour ago", 47 * time.Hour: "47 hours ago", 72 * time.Hour: "3 days ago",
		90 * 24 * time.Hour: "24 Aug 2026",
	} {
		if got := d.ago(now.Add(-ago)); got != want {
			t.Errorf("ago(%v) = %q, want %q", ago, got, want)
		}
	}
	if d.ago(time.Time{}) != "never" {
		t.Error("zero time")
	}
	for in, want := range map[string]string{"error": "error", "fatal": "fatal", "critical": "other", `x" onmouseover="y`: "other"} {
		if got := levelClass(in); got != want {
			t.Errorf("levelClass(%q) = %q", in, got)
		}
	}
}

func TestDSN(t *testing.T) {
	for _, tt := range []struct{ base, want string }{
		{"http://127.0.0.1:8080", "http://k@127.0.0.1:8080/3"},
		{"https://errors.example.com/", "https://k@errors.example.com/3"},
		{"https://example.com/flytrap", "https://k@example.com/flytrap/3"},
	} {
		if got := dsn(tt.base, "k", 3); got != tt.want {
			t.Errorf("dsn(%q) = %q, want %q", tt.base, got, tt.want)
		}
	}
}
