package process

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/issuefilter"
	"github.com/getflytrap/flytrap/internal/store"
)

// User-Agents as browsers send them (more in internal/useragent).
const (
	uaChromeWindows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	uaIPhone        = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1"
	uaSamsung       = "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36"
)

func withUA(ua string) *event.Request {
	return &event.Request{URL: "https://shop.example.com/cart", Headers: [][2]string{{"Accept", "*/*"}, {"user-agent", ua}}}
}

func TestClientContexts(t *testing.T) {
	tags := func(kv ...string) []event.Tag {
		var out []event.Tag
		for i := 0; i < len(kv); i += 2 {
			out = append(out, event.Tag{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	tests := []struct {
		name         string
		ev           event.Event
		wantContexts string // "" for contexts left as they were
		wantTags     []event.Tag
	}{
		{"browser event, chrome on windows",
			event.Event{Platform: "javascript", Request: withUA(uaChromeWindows)},
			`{"browser":{"name":"Chrome","version":"131.0.0","type":"browser"},"os":{"name":"Windows","version":">=10","type":"os"}}`,
			tags("browser", "Chrome 131.0.0", "browser.name", "Chrome", "os", "Windows >=10", "os.name", "Windows")},
		{"browser event, safari on iphone",
			event.Event{Platform: "javascript", Request: withUA(uaIPhone), Contexts: json.RawMessage(`{"trace":{"trace_id":"abc"}}`)},
			`{"browser":{"name":"Mobile Safari","version":"17.6","type":"browser"},"os":{"name":"iOS","version":"17.6.1","type":"os"},` +
				`"device":{"family":"iPhone","model":"iPhone","brand":"Apple","type":"device"},"trace":{"trace_id":"abc"}}`,
			tags("browser", "Mobile Safari 17.6", "browser.name", "Mobile Safari", "device", "iPhone", "device.family", "iPhone",
				"os", "iOS 17.6.1", "os.name", "iOS")},
		{"samsung internet",
			event.Event{Platform: "javascript", Request: withUA(uaSamsung)},
			`{"browser":{"name":"Samsung Internet","version":"26.0","type":"browser"},"os":{"name":"Android","version":"14","type":"os"},` +
				`"device":{"family":"Samsung SM-S918B","model":"SM-S918B","brand":"Samsung","type":"device"}}`,
			tags("browser", "Samsung Internet 26.0", "browser.name", "Samsung Internet", "device", "SM-S918B", "device.family", "Samsung SM-S918B",
				"os", "Android 14", "os.name", "Android")},
		{"the SDK's contexts win over the User-Agent",
			event.Event{Platform: "javascript", Request: withUA(uaIPhone),
				Contexts: json.RawMessage(`{"browser": {"name": "Brave", "version": "1.70"}, "device": {"model": "iPhone15,2", "family": "iOS"}}`)},
			`{"os":{"name":"iOS","version":"17.6.1","type":"os"},"browser": {"name": "Brave", "version": "1.70"}, "device": {"model": "iPhone15,2", "family": "iOS"}}`,
			tags("browser", "Brave 1.70", "browser.name", "Brave", "device", "iPhone15,2", "device.family", "iOS", "os", "iOS 17.6.1", "os.name", "iOS")},
		{"nothing left to derive",
			event.Event{Platform: "javascript", Request: withUA(uaIPhone),
				Contexts: json.RawMessage(`{"browser":{"name":"B"},"os":{"name":"O","version":"1"},"device":{"family":"F"}}`)},
			"", tags("browser", "B", "browser.name", "B", "device.family", "F", "os", "O 1", "os.name", "O")},
		// A server's contexts.os is the server's: the User-Agent's OS is
		// the client's, as in Relay.
		{"server event: client_os, and the runtime",
			event.Event{Platform: "python", Request: withUA(uaChromeWindows),
				Contexts: json.RawMessage(`{"os": {"name": "Linux", "version": "6.8.0"}, "runtime": {"name": "CPython", "version": "3.12.7"}}`)},
			`{"browser":{"name":"Chrome","version":"131.0.0","type":"browser"},"client_os":{"name":"Windows","version":">=10","type":"os"},` +
				`"os": {"name": "Linux", "version": "6.8.0"}, "runtime": {"name": "CPython", "version": "3.12.7"}}`,
			tags("browser", "Chrome 131.0.0", "browser.name", "Chrome", "client_os", "Windows >=10", "client_os.name", "Windows",
				"os", "Linux 6.8.0", "os.name", "Linux", "runtime", "CPython 3.12.7", "runtime.name", "CPython")},
		{"server event without a User-Agent",
			event.Event{Platform: "go", Contexts: json.RawMessage(`{"os":{"name":"linux"},"runtime":{"name":"go","version":"go1.26.8"},"device":{"arch":"amd64"}}`)},
			"", tags("os", "linux", "os.name", "linux", "runtime", "go go1.26.8", "runtime.name", "go")},
		// Sentry computes the runtime tag only from both parts, and takes
		// the fields Relay computed when the SDK sent them.
		{"computed fields and partial contexts",
			event.Event{Contexts: json.RawMessage(`{"runtime":{"name":"node"},"browser":{"name":"Chrome","browser":"Chrome 99"},` +
				`"os":{"os":"macOS 15.1","name":"macOS","rooted":false},"app":{"type":"runtime","runtime":"Deno 2.1","name":"Deno"}}`)},
			"", tags("app", "Deno 2.1", "app.name", "Deno", "browser", "Chrome 99", "browser.name", "Chrome",
				"os", "macOS 15.1", "os.name", "macOS", "os.rooted", "no", "runtime.name", "node")},
		// A field sent as a number or a boolean reads as event.Scalar
		// renders it, as the Lambda's fields do.
		{"numbers and booleans as text",
			event.Event{Contexts: json.RawMessage(`{"browser":{"name":"Chrome","version":1.31e2},"device":{"model":true,"family":"Pixel"}}`)},
			"", tags("browser", "Chrome 131", "browser.name", "Chrome", "device", "true", "device.family", "Pixel")},
		{"tags from contexts replace the SDK's, as in Sentry",
			event.Event{Platform: "javascript", Request: withUA(uaChromeWindows), Tags: tags("browser", "mine", "team", "web")},
			`{"browser":{"name":"Chrome","version":"131.0.0","type":"browser"},"os":{"name":"Windows","version":">=10","type":"os"}}`,
			tags("team", "web", "browser", "Chrome 131.0.0", "browser.name", "Chrome", "os", "Windows >=10", "os.name", "Windows")},
		{"a header scrubbing filtered",
			event.Event{Platform: "javascript", Request: withUA("[Filtered]")}, "", nil},
		{"an unknown agent", event.Event{Platform: "javascript", Request: withUA("a dont no")}, "", nil},
		{"contexts that are not an object are left alone",
			event.Event{Platform: "javascript", Request: withUA(uaChromeWindows), Contexts: json.RawMessage(`[1]`)}, "", nil},
		{"null contexts",
			event.Event{Platform: "javascript", Request: withUA(uaChromeWindows), Contexts: json.RawMessage(`null`)},
			`{"browser":{"name":"Chrome","version":"131.0.0","type":"browser"},"os":{"name":"Windows","version":">=10","type":"os"}}`,
			tags("browser", "Chrome 131.0.0", "browser.name", "Chrome", "os", "Windows >=10", "os.name", "Windows")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := tt.ev
			before := string(ev.Contexts)
			clientContexts(&ev)
			want := tt.wantContexts
			if want == "" {
				want = before
			}
			if string(ev.Contexts) != want {
				t.Errorf("contexts\n got %s\nwant %s", ev.Contexts, want)
			}
			if len(ev.Contexts) > 0 && !json.Valid(ev.Contexts) {
				t.Errorf("contexts are not JSON: %s", ev.Contexts)
			}
			if !reflect.DeepEqual(ev.Tags, tt.wantTags) {
				t.Errorf("tags\n got %v\nwant %v", ev.Tags, tt.wantTags)
			}
		})
	}
}

// TestContextTagsHostile: contexts are the SDK's, and anyone with the DSN
// writes them. What Sentry would refuse as a tag is left out, and a flood
// of contexts adds no more than an event's tags may hold.
func TestContextTagsHostile(t *testing.T) {
	ev := event.Event{Contexts: json.RawMessage(`{
		"my browser": {"type": "browser", "name": "spaces are not a tag key"},
		"b1": {"type": "browser", "name": "line\nbreak"},
		"b2": {"type": "browser", "name": "` + strings.Repeat("x", 201) + `"},
		"b3": {"type": "browser", "name": {"nested": "object"}, "version": ["list"]},
		"b4": {"type": "browser", "name": "<script>alert(1)</script>"},
		"b5": "not an object",
		"b6": {"type": 7, "name": "a type that is not a string"}}`)}
	clientContexts(&ev)
	want := []event.Tag{{Key: "b4", Value: "<script>alert(1)</script>"}, {Key: "b4.name", Value: "<script>alert(1)</script>"}}
	if !reflect.DeepEqual(ev.Tags, want) {
		t.Errorf("tags %q, want %q", ev.Tags, want)
	}
	// What was left out is noted, by the rules ingest applies to tags.
	wantNote := `not tagged from contexts, as Sentry does not: "b1" (the value holds a line break or another control character); ` +
		`"b1.name" (the value holds a line break or another control character); "b2" (the value is longer than 200 characters); ` +
		`"b2.name" (the value is longer than 200 characters); "my browser" (the key holds characters other than letters, digits and _.:-); ` +
		`"my browser.name" (the key holds characters other than letters, digits and _.:-)`
	if !slices.Equal(ev.Notes, []string{wantNote}) {
		t.Errorf("notes %q\nwant %q", ev.Notes, wantNote)
	}

	var b strings.Builder
	b.WriteString("{")
	for i := range 200 {
		fmt.Fprintf(&b, `"c%03d":{"type":"os","name":"n%d"},`, i, i)
	}
	b.WriteString(`"x":{}}`)
	ev = event.Event{Contexts: json.RawMessage(b.String()), Tags: []event.Tag{{Key: "team", Value: "web"}}}
	clientContexts(&ev)
	if len(ev.Tags) != maxEventTags || ev.Tags[0] != (event.Tag{Key: "team", Value: "web"}) {
		t.Errorf("%d tags, first %v; want %d, the SDK's first", len(ev.Tags), ev.Tags[0], maxEventTags)
	}
}

// TestClientContextsStored runs a browser event through the processor into
// the store and searches it as the dashboard's search box does: by the
// placeholder's own examples, browser:"..." and has:browser.
func TestClientContextsStored(t *testing.T) {
	ctx := context.Background()
	db, proj := openProject(t, sqliteFile(t), "shop")
	p := New(Config{Saver: db})
	for i, c := range []struct {
		ua, typ string
	}{{uaIPhone, "TypeError"}, {uaChromeWindows, "RangeError"}, {"", "SyntaxError"}} {
		ev := event.Event{EventID: fmt.Sprintf("b3f1c9d27e5b4f8a9c0d1e2f3a4b5c6%d", i), ProjectID: proj.ID, Source: event.SourceSentry,
			Platform: "javascript", Timestamp: time.Now(), Received: time.Now(),
			Exceptions: []event.Exception{{Type: c.typ, Value: "x is undefined"}}}
		if c.ua != "" {
			ev.Request = withUA(c.ua)
		}
		if _, err := processOne(ctx, p, body(t, ev)); err != nil {
			t.Fatal(err)
		}
	}
	for query, want := range map[string][]string{
		`browser:"Mobile Safari 17.6"`:               {"TypeError: x is undefined"},
		`browser.name:"Mobile Safari"`:               {"TypeError: x is undefined"},
		`browser:"Chrome 131.0.0" os:"Windows >=10"`: {"RangeError: x is undefined"},
		`device:iPhone os.name:iOS`:                  {"TypeError: x is undefined"},
		`has:browser`:                                {"RangeError: x is undefined", "TypeError: x is undefined"},
		`!has:browser`:                               {"SyntaxError: x is undefined"},
		`!browser.name:Chrome has:os`:                {"TypeError: x is undefined"},
	} {
		f, err := issuefilter.Parse(url.Values{"query": {query}, "sort": {"first_seen"}}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		f.ProjectID = proj.ID
		issues, _, err := db.ListIssues(ctx, store.System, f)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, is := range issues {
			got = append(got, is.Title)
		}
		if !sameSet(got, want) {
			t.Errorf("%s finds %q, want %q", query, got, want)
		}
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, s := range a {
		seen[s]++
	}
	for _, s := range b {
		if seen[s]--; seen[s] < 0 {
			return false
		}
	}
	return true
}

// BenchmarkClientContexts measures the contexts stage on a browser event
// (@sentry/browser's: a User-Agent, a trace context) and on the load
// tool's server event (internal/bench: os, runtime and trace contexts, and
// an abbreviated User-Agent), each header already in the parser's cache,
// as a site's few distinct headers soon are.
func BenchmarkClientContexts(b *testing.B) {
	for _, c := range []struct {
		name string
		ev   event.Event
	}{
		{"browser", event.Event{Platform: "javascript", Request: withUA(uaChromeWindows),
			Contexts: json.RawMessage(`{"trace":{"trace_id":"4c79f60c11214eb38604f4ae0781bfb2","span_id":"fa90fdead5f74052"}}`)}},
		{"server", event.Event{Platform: "python", Request: withUA("Mozilla/5.0 Firefox/133.0"),
			Contexts: json.RawMessage(`{"os":{"name":"Linux","version":"6.8.0"},"runtime":{"name":"CPython","version":"3.12.7"},` +
				`"trace":{"trace_id":"4c79f60c11214eb38604f4ae0781bfb2","span_id":"fa90fdead5f74052"}}`),
			Tags: []event.Tag{{Key: "region", Value: "eu-west-1"}, {Key: "customer_tier", Value: "gold"}}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			ev := c.ev
			clientContexts(&ev) // the parser built, the header cached
			b.ReportAllocs()
			for b.Loop() {
				ev := c.ev
				clientContexts(&ev)
			}
		})
	}
}

// A value sent as a string, number or boolean reads the same in a tag
// from a context and in a tag from the Lambda's invocation data.
func TestContextAndLambdaTagsAgree(t *testing.T) {
	for _, raw := range []string{`true`, `false`, `512`, `1.28e2`, `1e21`, `0.5`, `" v2 "`} {
		ev := event.Event{Contexts: json.RawMessage(`{"device":{"model":` + raw + `},"aws.lambda":{"function_version":` + raw + `}}`)}
		clientContexts(&ev)
		promoteLambdaTags(&ev)
		device, _ := ev.Tag("device")
		version, _ := ev.Tag("function_version")
		if device == "" || device != version {
			t.Errorf("%s: device tag %q, function_version tag %q; want one non-empty text", raw, device, version)
		}
	}
}
