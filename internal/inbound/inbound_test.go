package inbound

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
)

func exceptionAt(value string, paths ...string) *event.Event {
	ex := event.Exception{Type: "TypeError", Value: value}
	for _, p := range paths {
		ex.Frames = append(ex.Frames, event.Frame{AbsPath: p, Function: "f"})
	}
	return &event.Event{Exceptions: []event.Exception{ex}}
}

func withUA(ua string) *event.Event {
	return &event.Event{Request: &event.Request{URL: "https://shop.example/", Headers: [][2]string{{"user-agent", ua}}}}
}

func withURL(u string) *event.Event {
	return &event.Event{Request: &event.Request{URL: u}}
}

func withHeader(k, v string) *event.Event {
	return &event.Event{Request: &event.Request{Headers: [][2]string{{k, v}}}}
}

func TestBrowserExtension(t *testing.T) {
	for _, tc := range []struct {
		name string
		ev   *event.Event
		want bool
	}{
		{"filename alone, as @sentry/browser sends it", &event.Event{Exceptions: []event.Exception{{Value: "x", Frames: []event.Frame{{Filename: "chrome-extension://hijdif/inject.js"}}}}}, true},
		{"chrome-extension top frame", exceptionAt("x is undefined", "https://shop.example/app.js", "chrome-extension://abcdefgh/content.js"), true},
		{"anonymous frames above the extension", exceptionAt("x", "https://shop.example/app.js", "moz-extension://1234/inject.js", "<anonymous>", "[native code]"), true},
		{"safari-web-extension", exceptionAt("x", "safari-web-extension://E5A3/script.js"), true},
		{"chrome://", exceptionAt("x", "chrome://new-tab-page/x.js"), true},
		{"kaspersky", exceptionAt("x", "https://gc.kis.v2.scr.kaspersky-labs.com/FD126C42/main.js"), true},
		{"extension lower in the stack only", exceptionAt("x", "chrome-extension://abc/content.js", "https://shop.example/app.js"), false},
		{"top frame without abs_path", exceptionAt("x", "chrome-extension://abc/content.js", ""), false},
		{"app's own frame", exceptionAt("x is undefined", "https://shop.example/app.js"), false},
		{"extension URL in the middle", exceptionAt("x", "https://shop.example/chrome-extension://x"), false},
		{"known value", exceptionAt("Extension context invalidated."), true},
		{"known value, other case", exceptionAt("TypeError: CAN'T ACCESS DEAD OBJECT"), true},
		{"gCrWeb", exceptionAt("undefined is not an object (evaluating '__gCrWeb.edgeTranslate')"), true},
		{"plain value", exceptionAt("Cannot read properties of undefined (reading 'id')"), false},
		{"no exception", &event.Event{Message: "Extension context invalidated"}, false},
	} {
		if got := BrowserExtension(tc.ev); got != tc.want {
			t.Errorf("%s: BrowserExtension = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestLocalhost(t *testing.T) {
	for _, tc := range []struct {
		name string
		ev   *event.Event
		want bool
	}{
		{"loopback user IP", &event.Event{LoopbackIP: true}, true},
		{"localhost URL", withURL("http://localhost:3000/cart"), true},
		{"127.0.0.1 URL", withURL("http://127.0.0.1:8080/"), true},
		{"subdomain of localhost", withURL("http://app.localhost/"), true},
		{"LOCALHOST", withURL("http://LOCALHOST/"), true},
		{"file URL", withURL("file:///Users/me/site/index.html"), true},
		{"Host without URL", withHeader("Host", "localhost:3000"), true},
		{"X-Forwarded-Host without URL", withHeader("X-Forwarded-Host", "127.0.0.1:3000"), true},
		{"localhost.com", withURL("http://localhost.com/"), false},
		{"foolocalhost", withURL("http://foolocalhost/"), false},
		{"public site", withURL("https://shop.example/"), false},
		{"localhost subdomain of a site in Host", withHeader("Host", "localhost.sentry.io:3000"), false},
		{"nothing", &event.Event{}, false},
	} {
		if got := Localhost(tc.ev); got != tc.want {
			t.Errorf("%s: Localhost = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestWebCrawler(t *testing.T) {
	for _, tc := range []struct {
		ua   string
		want bool
	}{
		{"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", true},
		{"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36", true},
		{"Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; Bytespider; spider-feedback@bytedance.com)", true},
		{"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", true},
		{"Twitterbot/1.0", true},
		{"Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", true},
		{"Slackbot 1.0(+https://api.slack.com/robots)", false},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", false},
		{"APIs-Google (+https://developers.google.com/webmasters/APIs-Google.html)", false},
		{"", false},
	} {
		if got := WebCrawler(withUA(tc.ua)); got != tc.want {
			t.Errorf("WebCrawler(%q) = %v, want %v", tc.ua, got, tc.want)
		}
	}
}

func TestGlob(t *testing.T) {
	for _, tc := range []struct {
		pattern, text string
		want          bool
	}{
		{"foo", "foo", true},
		{"foo", "FOO", true},
		{"foo", "foobar", false},
		{"foo*", "foobarblub", true},
		{"*blub", "foobarblub", true},
		{"*bar*", "foobarblub", true},
		{"foo*bar", "foo\nbar", true},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"1.18.[0-4].*", "1.18.4.2153-2aa83397b", true},
		{"1.18.[0-4].*", "1.18.5.2153-2aa83397b", false},
		{"1.18.[!0-4].*", "1.18.5.2153-2aa83397b", true},
		{"!1.18.4.*", "1.18.4.2153", false},
		{`/api/\{slug\}/event*`, "/api/{slug}/event/x", true},
		{"*invariant={418,419,422}*", "Minified React error #419; visit https://reactjs.org/docs/error-decoder.html?invariant=419 for", true},
		{"*invariant={418,419,422}*", "invariant=420", false},
		{"ChunkLoadError: Loading chunk *", "ChunkLoadError: Loading chunk 175 failed.", true},
		{"a.b", "axb", false},
		{"(x)+", "(x)+", true},
		{"*", "", false},
	} {
		g, err := CompileGlob(tc.pattern)
		if err != nil {
			t.Fatalf("CompileGlob(%q): %v", tc.pattern, err)
		}
		if got := g.Match(tc.text); got != tc.want {
			t.Errorf("%q matches %q = %v, want %v", tc.pattern, tc.text, got, tc.want)
		}
	}
}

func TestGlobRefusesBrokenAndHugePatterns(t *testing.T) {
	for _, p := range []string{"[abc", "{a,b", "a}", "{a,{b,c}}", `a\`, "[z-a]", strings.Repeat("a", MaxPatternLen+1), "\xff"} {
		if _, err := CompileGlob(p); !errors.Is(err, ErrPattern) {
			t.Errorf("CompileGlob(%.30q) = %v, want ErrPattern", p, err)
		}
	}
}

// TestPathologicalPatternsAreBounded checks that the patterns that make
// a naive glob matcher slow cost little against the event that makes them
// slowest: a list at its bounds, against as many exceptions as ingest
// keeps, each with a long text of the character the patterns repeat.
func TestPathologicalPatternsAreBounded(t *testing.T) {
	var list []string
	size := 0
	for i := 0; size+MaxPatternLen <= MaxListLen; i++ {
		// Backtracking matchers take exponential time on these; a
		// segment of many a's then b makes each place of the text cost
		// the whole segment.
		p := strings.Repeat("*a", 20) + "*" + strings.Repeat("a", MaxPatternLen-43-len(strconv.Itoa(i))) + "b" + strconv.Itoa(i)
		list = append(list, p)
		size += len(p)
	}
	s, err := Settings{ErrorMessages: list}.Clean()
	if err != nil {
		t.Fatal(err)
	}
	f := Compile(s)
	ev := &event.Event{Message: strings.Repeat("a", 1<<20)}
	for range 25 {
		ev.Exceptions = append(ev.Exceptions, event.Exception{Type: strings.Repeat("a", 1<<10), Value: strings.Repeat("a", 1<<20)})
	}
	start := time.Now()
	if got := f.Match(ev); got != ReasonNone {
		t.Fatalf("Match = %q", got)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("%d pathological patterns took %v on one event", len(list), d)
	}
	t.Logf("%d patterns, %d bytes: %v", len(list), size, time.Since(start))
	if _, err := (Settings{Releases: append(list, "one too many")}).Clean(); !errors.Is(err, ErrPattern) {
		t.Errorf("more than %d bytes of patterns: %v, want ErrPattern", MaxListLen, err)
	}
	many := make([]string, MaxPatterns+1)
	for i := range many {
		many[i] = strconv.Itoa(i)
	}
	if _, err := (Settings{Releases: many}).Clean(); !errors.Is(err, ErrPattern) {
		t.Errorf("%d patterns: %v, want ErrPattern", len(many), err)
	}
	if _, err := CompileGlob("{a,b}{c,d}{e,f}{g,h}{i,j}{k,l}{m,n}"); !errors.Is(err, ErrPattern) {
		t.Errorf("128 expansions: %v, want ErrPattern", err)
	}
}

func TestCleanTrimsAndDropsRepeats(t *testing.T) {
	s, err := Settings{ErrorMessages: []string{" a* ", "", "a*", "b"}, Releases: nil}.Clean()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(s.ErrorMessages, "|") != "a*|b" || s.Releases == nil || len(s.Releases) != 0 {
		t.Errorf("Clean = %q %q", s.ErrorMessages, s.Releases)
	}
}

func TestErrorMessagesAndReleases(t *testing.T) {
	f := Compile(Settings{
		ErrorMessages: []string{"*ResizeObserver loop*", "FilteredException", "*this is a filtered exception."},
		Releases:      []string{"1.2.*", "old-*"},
	})
	for _, tc := range []struct {
		name string
		ev   event.Event
		want Reason
	}{
		{"message", event.Event{Message: "ResizeObserver loop completed with undelivered notifications."}, ReasonErrorMessage},
		{"formatted message", event.Event{Message: "user %s failed", MessageFormatted: "FilteredException"}, ReasonErrorMessage},
		{"type alone", event.Event{Exceptions: []event.Exception{{Type: "FilteredException"}}}, ReasonErrorMessage},
		{"type and value", event.Event{Exceptions: []event.Exception{{Type: "Error", Value: "This is a filtered exception."}}}, ReasonErrorMessage},
		{"type: value is matched whole", event.Event{Exceptions: []event.Exception{{Type: "FilteredException", Value: "other"}}}, ReasonNone},
		{"second exception", event.Event{Exceptions: []event.Exception{{Type: "A", Value: "b"}, {Type: "FilteredException"}}}, ReasonErrorMessage},
		{"release", event.Event{Release: "1.2.3", Message: "boom"}, ReasonReleaseVersion},
		{"release, other case", event.Event{Release: "OLD-build"}, ReasonReleaseVersion},
		{"other release", event.Event{Release: "1.3.0", Message: "boom"}, ReasonNone},
	} {
		if got := f.Match(&tc.ev); got != tc.want {
			t.Errorf("%s: Match = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestDisabledFiltersKeepEvents(t *testing.T) {
	ev := exceptionAt("x", "chrome-extension://abc/content.js")
	ev.Request = &event.Request{URL: "http://localhost/", Headers: [][2]string{{"User-Agent", "Googlebot/2.1"}}}
	if got := Compile(Settings{}).Match(ev); got != ReasonNone {
		t.Errorf("no filters on: %q", got)
	}
	for s, want := range map[*Settings]Reason{
		{BrowserExtensions: true}: ReasonBrowserExtensions,
		{Localhost: true}:         ReasonLocalhost,
		{WebCrawlers: true}:       ReasonWebCrawlers,
	} {
		if got := Compile(*s).Match(ev); got != want {
			t.Errorf("%+v: %q, want %q", *s, got, want)
		}
	}
}
