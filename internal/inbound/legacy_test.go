package inbound

import (
	"errors"
	"reflect"
	"testing"

	"github.com/getflytrap/flytrap/internal/event"
)

// everyBrowser are the choices Sentry turns on for a new project
// (set_default_inbound_filters): every browser, not the "default" set,
// which they cover.
var everyBrowser = []string{LegacyChrome, LegacyEdge, LegacyFirefox, LegacySafari, LegacyOpera, LegacyOperaMini, LegacyAndroid, LegacyIE}

// Headers real browsers sent, on both sides of each choice's bound;
// Relay's own test headers where it has them.
const (
	chrome110    = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/110.0.0.0 Safari/537.36"
	chrome111    = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/111.0.0.0 Safari/537.36"
	chromeMobile = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/90.0.4430.210 Mobile Safari/537.36"
	edge18       = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19582"
	edge110      = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/110.0.0.0 Safari/537.36 Edg/110.0.1587.63"
	edge111      = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/111.0.0.0 Safari/537.36 Edg/111.0.1661.41"
	firefox110   = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:110.0) Gecko/20100101 Firefox/110.0"
	firefox111   = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:111.0) Gecko/20100101 Firefox/111.0"
	safari5      = "Mozilla/5.0 (Macintosh; U; Intel Mac OS X 1063; tr-DE) AppleWebKit/533.16 (KHTML like Gecko) Version/5.0 Safari/533.16"
	safari6      = "Mozilla/5.0 (Macintosh; U; Intel Mac OS X 10.17.4; en-GB) AppleWebKit/605.1.5 (KHTML, like Gecko) Version/6.0 Safari/605.1.5"
	safari15     = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/15.6.1 Safari/605.1.15"
	safari16     = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.0 Safari/605.1.15"
	mobileSafari = "Mozilla/5.0 (iPhone; CPU iPhone OS 12_5_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/12.1.2 Mobile/15E148 Safari/604.1"
	opera12      = "Opera/9.80 (X11; Linux i686; Ubuntu/14.10) Presto/2.12.388 Version/12.16"
	opera15      = "Mozilla/5.0 (Windows NT 6.1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/28.0.1500.45 Safari/537.36 OPR/15.0.1147.61 (Edition Next)"
	opera99      = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/113.0.0.0 Safari/537.36 OPR/99.0.0.0"
	opera100     = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/114.0.0.0 Safari/537.36 OPR/100.0.0.0"
	operaMini7   = "Opera/9.80 (J2ME/MIDP; Opera Mini/7.0.32796/59.323; U; fr) Presto/2.12.423 Version/12.16"
	operaMini8   = "Opera/9.80 (J2ME/MIDP; Opera Mini/8.0.35158/36.2534; U; en) Presto/2.12.423 Version/12.16"
	operaMini36  = "Opera/9.80 (Android; Opera Mini/36.2.2254/119.132; U; id) Presto/2.12.423 Version/12.16"
	android3     = "Mozilla/5.0 (Linux; U; Android 3.2; nl-nl; GT-P6800 Build/HTJ85B) AppleWebKit/534.13 (KHTML, like Gecko) Version/4.0 Safari/534.13"
	android4     = "Mozilla/5.0 (Linux; U; Android 4.1.1; en-gb; Build/KLP) AppleWebKit/534.30 (KHTML, like Gecko) Version/4.0 Safari/534.30"
	ie8          = "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.0; Trident/4.0)"
	ie9          = "Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 7.1; Trident/5.0)"
	ieMobile9    = "Mozilla/5.0 (compatible; MSIE 9.0; Windows Phone OS 7.5; Trident/5.0; IEMobile/9.0; NOKIA; Lumia 710)"
	ie10         = "Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.1; Trident/6.0)"
	ie11         = "Mozilla/5.0 (Windows NT 6.3; Trident/7.0; rv:11.0) like Gecko"
)

func TestLegacyBrowser(t *testing.T) {
	for _, tc := range []struct {
		name, ua, choice string
		want             bool
	}{
		{"chrome 110", chrome110, LegacyChrome, true},
		{"chrome 111", chrome111, LegacyChrome, false},
		{"chrome mobile is not chrome", chromeMobile, LegacyChrome, false},
		{"edge 18, legacy", edge18, LegacyEdge, true},
		{"edge 110", edge110, LegacyEdge, true},
		{"edge 111", edge111, LegacyEdge, false},
		{"edge 110 is not chrome", edge110, LegacyChrome, false},
		{"firefox 110", firefox110, LegacyFirefox, true},
		{"firefox 111", firefox111, LegacyFirefox, false},
		{"safari 5", safari5, LegacySafari, true},
		{"safari 15", safari15, LegacySafari, true},
		{"safari 16", safari16, LegacySafari, false},
		{"mobile safari is not safari", mobileSafari, LegacySafari, false},
		{"opera 12, presto", opera12, LegacyOpera, true},
		{"opera 99", opera99, LegacyOpera, true},
		{"opera 100", opera100, LegacyOpera, false},
		{"opera 99 is not chrome", opera99, LegacyChrome, false},
		{"opera mini 8", operaMini8, LegacyOperaMini, true},
		{"opera mini 36", operaMini36, LegacyOperaMini, false},
		{"opera mini is not opera", operaMini8, LegacyOpera, false},
		{"android 3", android3, LegacyAndroid, true},
		{"android 4", android4, LegacyAndroid, false},
		{"ie 8", ie8, LegacyIE, true},
		{"ie 11", ie11, LegacyIE, true},
		{"ie mobile 9 counts as ie", ieMobile9, LegacyIE, true},
		{"ie 11 is not edge", ie11, LegacyEdge, false},

		// Relay's first set, bound by bound.
		{"default: ie 9", ie9, LegacyDefault, true},
		{"default: ie mobile 9", ieMobile9, LegacyDefault, true},
		{"default: ie 10", ie10, LegacyDefault, false},
		{"default: safari 5", safari5, LegacyDefault, true},
		{"default: safari 6", safari6, LegacyDefault, false},
		{"default: opera 12", opera12, LegacyDefault, true},
		{"default: opera 15", opera15, LegacyDefault, false},
		{"default: opera mini 7", operaMini7, LegacyDefault, true},
		{"default: opera mini 8", operaMini8, LegacyDefault, false},
		{"default: android 3", android3, LegacyDefault, true},
		{"default: android 4", android4, LegacyDefault, false},
		{"default: any chrome", chrome110, LegacyDefault, false},
		{"default: legacy edge", edge18, LegacyDefault, false},

		{"no version", "Mozilla/5.0 Chrome", LegacyChrome, false},
		{"not a browser", "curl/8.5.0", LegacyChrome, false},
	} {
		f := Compile(Settings{LegacyBrowsers: []string{tc.choice}})
		want := ReasonNone
		if tc.want {
			want = ReasonLegacyBrowsers
		}
		if got := f.Match(withUA(tc.ua)); got != want {
			t.Errorf("%s: Match with %s = %q, want %q", tc.name, tc.choice, got, want)
		}
	}
}

func TestLegacyBrowserChoices(t *testing.T) {
	all := Compile(Settings{LegacyBrowsers: everyBrowser})
	for _, ua := range []string{chrome110, edge110, firefox110, safari15, opera99, operaMini8, android3, ie11} {
		if got := all.Match(withUA(ua)); got != ReasonLegacyBrowsers {
			t.Errorf("every browser chosen: Match(%.60q) = %q, want legacy-browsers", ua, got)
		}
	}
	for _, ua := range []string{chrome111, edge111, firefox111, safari16, opera100, operaMini36, android4} {
		if got := all.Match(withUA(ua)); got != ReasonNone {
			t.Errorf("every browser chosen: Match(%.60q) = %q, want it kept", ua, got)
		}
	}
	// A choice and the default set together drop what either drops.
	both := Compile(Settings{LegacyBrowsers: []string{LegacyDefault, LegacyIE}})
	if got := both.Match(withUA(ie11)); got != ReasonLegacyBrowsers {
		t.Errorf("default and ie: Match(IE 11) = %q, want legacy-browsers", got)
	}
	for _, tc := range []struct {
		name    string
		choices []string
		ev      *event.Event
	}{
		{"off", nil, withUA(ie8)},
		{"an unknown choice stored", []string{"netscape"}, withUA(ie8)},
		{"no request", everyBrowser, &event.Event{}},
		{"no User-Agent", everyBrowser, withURL("https://shop.example/")},
	} {
		if got := Compile(Settings{LegacyBrowsers: tc.choices}).Match(tc.ev); got != ReasonNone {
			t.Errorf("%s: Match = %q, want it kept", tc.name, got)
		}
	}
	// Relay's order: the browser extensions filter names the reason of
	// an event both drop, and legacy browsers names it before crawlers.
	ext := exceptionAt("x", "chrome-extension://abc/content.js")
	ext.Request = &event.Request{Headers: [][2]string{{"User-Agent", "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.0; Trident/4.0; Slack)"}}}
	f := Compile(Settings{BrowserExtensions: true, LegacyBrowsers: []string{LegacyIE}, WebCrawlers: true})
	if got := f.Match(ext); got != ReasonBrowserExtensions {
		t.Errorf("extension in IE 8: Match = %q, want browser-extensions", got)
	}
	ext.Exceptions = nil
	if got := f.Match(ext); got != ReasonLegacyBrowsers {
		t.Errorf("crawler in IE 8: Match = %q, want legacy-browsers", got)
	}
}

func TestCleanLegacyBrowsers(t *testing.T) {
	s, err := Settings{LegacyBrowsers: []string{LegacyIE, LegacyDefault, LegacyChrome, LegacyIE}}.Clean()
	if want := []string{LegacyChrome, LegacyIE, LegacyDefault}; err != nil || !reflect.DeepEqual(s.LegacyBrowsers, want) {
		t.Errorf("Clean = %q, %v; want %q", s.LegacyBrowsers, err, want)
	}
	if s, err := (Settings{}).Clean(); err != nil || s.LegacyBrowsers == nil || len(s.LegacyBrowsers) != 0 {
		t.Errorf("Clean of none = %#v, %v; want an empty list", s.LegacyBrowsers, err)
	}
	if _, err := (Settings{LegacyBrowsers: []string{"ie_pre_9"}}).Clean(); !errors.Is(err, ErrLegacyBrowser) {
		t.Errorf("Clean of ie_pre_9 = %v, want ErrLegacyBrowser", err)
	}
}
