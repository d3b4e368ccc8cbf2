package useragent

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/time/rate"
)

// TestParse reads headers real browsers, crawlers and tools send; the
// expected names and versions are Sentry's (Relay's snapshots and the tags
// sentry.io shows for these agents).
func TestParse(t *testing.T) {
	apple := func(family string) Device { return Device{Family: family, Model: family, Brand: "Apple"} }
	for _, tt := range []struct {
		name, ua string
		want     Info
	}{
		{"chrome on windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
			Info{Browser{"Chrome", "131.0.0"}, OS{"Windows", ">=10"}, Device{}}},
		{"chrome on macos", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
			Info{Browser{"Chrome", "131.0.0"}, OS{"Mac OS X", ">=10.15.7"}, apple("Mac")}},
		{"chrome on linux", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
			Info{Browser{"Chrome", "131.0.0"}, OS{"Linux", ""}, Device{}}},
		{"chrome on windows 7", "Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 Safari/537.36",
			Info{Browser{"Chrome", "109.0.0"}, OS{"Windows", "7"}, Device{}}},
		{"headless chrome", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
			Info{Browser{"HeadlessChrome", "131.0.0"}, OS{"Linux", ""}, Device{}}},
		{"edge", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
			Info{Browser{"Edge", "131.0.0"}, OS{"Windows", ">=10"}, Device{}}},
		{"opera", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0",
			Info{Browser{"Opera", "115.0.0"}, OS{"Windows", ">=10"}, Device{}}},
		{"firefox on windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
			Info{Browser{"Firefox", "133.0"}, OS{"Windows", ">=10"}, Device{}}},
		{"firefox on ubuntu", "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
			Info{Browser{"Firefox", "133.0"}, OS{"Ubuntu", ""}, Device{}}},
		{"safari on macos", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15",
			Info{Browser{"Safari", "17.6"}, OS{"Mac OS X", ">=10.15.7"}, apple("Mac")}},
		{"mobile safari on iphone", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
			Info{Browser{"Mobile Safari", "17.6"}, OS{"iOS", "17.6.1"}, apple("iPhone")}},
		{"mobile safari on ipad", "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
			Info{Browser{"Mobile Safari", "17.6"}, OS{"iOS", "17.6"}, apple("iPad")}},
		{"chrome on iphone", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
			Info{Browser{"Chrome Mobile iOS", "131.0.6778"}, OS{"iOS", "17.6"}, apple("iPhone")}},
		{"firefox on iphone", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15",
			Info{Browser{"Firefox iOS", "133.0"}, OS{"iOS", "17.6"}, apple("iPhone")}},
		// Chrome's reduced User-Agent names no model: "K" is what it sends.
		{"chrome on android", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
			Info{Browser{"Chrome Mobile", "131.0.0"}, OS{"Android", "10"}, Device{"K", "K", "Generic_Android"}}},
		{"samsung internet", "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
			Info{Browser{"Samsung Internet", "26.0"}, OS{"Android", "14"}, Device{"Samsung SM-S918B", "SM-S918B", "Samsung"}}},
		{"firefox on android", "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0",
			Info{Browser{"Firefox Mobile", "133.0"}, OS{"Android", "14"}, Device{"Generic Smartphone", "Smartphone", "Generic"}}},
		{"chromebook", "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
			Info{Browser{"Chrome", "131.0.0"}, OS{"Chrome OS", "14541.0.0"}, Device{}}},
		{"googlebot", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
			Info{Browser{"Googlebot", "2.1"}, OS{}, Device{"Spider", "Desktop", "Spider"}}},
		{"bingbot", "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
			Info{Browser{"bingbot", "2.0"}, OS{}, Device{"Spider", "Desktop", "Spider"}}},
		{"curl", "curl/8.5.0", Info{Browser: Browser{"curl", "8.5.0"}}},
		{"python requests", "python-requests/2.32.3", Info{Browser: Browser{"Python Requests", "2.32"}}},
		// The load tool's (internal/bench) abbreviated header.
		{"abbreviated firefox", "Mozilla/5.0 Firefox/133.0", Info{Browser: Browser{"Firefox", "133.0"}}},
		{"unknown", "a dont no", Info{}},
		{"empty", "", Info{}},
		{"blank", " \t ", Info{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got, ok := Parse(tt.ua); !ok || got != tt.want {
				t.Errorf("Parse(%q)\n got %#v\nwant %#v", tt.ua, got, tt.want)
			}
		})
	}
}

// TestParseHostile: what a header says is copied into tags, so markup
// stays text (the dashboard escapes it), control characters and invalid
// UTF-8 go, values are bounded, and an overlong header derives nothing.
func TestParseHostile(t *testing.T) {
	android := func(model string) string {
		return "Mozilla/5.0 (Linux; Android 14; " + model + " Build/UP1A) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"
	}
	if got := must(t, android("<script>alert(1)</script>")).Device.Model; got != "<script>alert(1)</script>" {
		t.Errorf("markup in a model: %q, want it kept as text", got)
	}
	if got := must(t, android("x\x07y\x1b[31mz\xffw")).Device.Model; got != "xy[31mz\uFFFDw" {
		t.Errorf("control characters and invalid UTF-8 in a model: %q", got)
	}
	// uap-core's expressions bound what they capture themselves; clean
	// bounds it again should a future expression not.
	if long := clean(strings.Repeat("é", 150)); len(long) > maxValue || !utf8.ValidString(long) || !strings.HasSuffix(long, "…") {
		t.Errorf("a 300-byte value: %d bytes %q, want at most %d ending in …", len(long), long, maxValue)
	}
	padded := "Mozilla/5.0 (Windows NT 10.0; Win64; x64) " + strings.Repeat("A", MaxLength) + " Chrome/131.0.0.0 Safari/537.36"
	if got := must(t, padded); got != (Info{}) {
		t.Errorf("a header over MaxLength: %#v, want nothing derived", got)
	}
	for _, s := range []string{strings.Repeat("(", MaxLength), strings.Repeat("Mozilla/5.0 (", 39), "\x00\x01\x02", "\xff\xfe"} {
		info := must(t, s)
		for _, v := range []string{info.Browser.Name, info.Browser.Version, info.OS.Name, info.OS.Version, info.Device.Family, info.Device.Model, info.Device.Brand} {
			if !utf8.ValidString(v) || strings.IndexFunc(v, unicode.IsControl) >= 0 || len(v) > maxValue {
				t.Errorf("Parse(%q) derived %q", s, v)
			}
		}
	}
}

// must parses ua, which the budget of new headers must allow.
func must(t *testing.T, ua string) Info {
	t.Helper()
	info, ok := Parse(ua)
	if !ok {
		t.Fatalf("Parse(%q): over the budget of new headers", ua)
	}
	return info
}

// TestBudget: past a burst of new headers, new ones are not parsed until
// time refills the budget, while headers seen before still are.
func TestBudget(t *testing.T) {
	now := time.Unix(1e9, 0)
	p := newParser(func() time.Time { return now }, time.Hour, func() {})
	chrome := func(i int) string {
		return fmt.Sprintf("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.%d.0 Safari/537.36", i)
	}
	// A burst of two, not newBurst: each new header takes milliseconds.
	p.limit = rate.NewLimiter(newPerSecond, 2)
	p.limit.AllowN(now, 0)
	for i := range 2 {
		if info, ok := p.parse(chrome(i)); !ok || info.Browser.Name != "Chrome" {
			t.Fatalf("new header %d within the budget: %#v, %v", i, info, ok)
		}
	}
	if info, ok := p.parse(chrome(2)); ok || info != (Info{}) {
		t.Errorf("a new header over the budget: %#v, %v; want it not parsed", info, ok)
	}
	if info, ok := p.parse(chrome(0)); !ok || info.Browser.Name != "Chrome" {
		t.Errorf("a header seen before, over the budget: %#v, %v; want it from the cache", info, ok)
	}
	if _, ok := p.parse(" "); !ok {
		t.Error("an empty header costs nothing, yet was refused")
	}
	now = now.Add(time.Second / newPerSecond)
	if info, ok := p.parse(chrome(2)); !ok || info.Browser.Name != "Chrome" {
		t.Errorf("a new header once the budget refilled: %#v, %v", info, ok)
	}
}

func TestVersion(t *testing.T) {
	for _, tt := range []struct{ major, minor, patch, want string }{
		{"", "", "", ""}, {"", "1", "2", ""}, {"X", "", "", "X"}, {"X", "Y", "", "X.Y"}, {"X", "Y", "Z", "X.Y.Z"}, {"X", "", "Z", "X"},
	} {
		if got := version(tt.major, tt.minor, tt.patch); got != tt.want {
			t.Errorf("version(%q, %q, %q) = %q, want %q", tt.major, tt.minor, tt.patch, got, tt.want)
		}
	}
}

// BenchmarkParse measures a header seen before (the parser's cache) and
// one never seen: every expression of uap-core is tried.
func BenchmarkParse(b *testing.B) {
	const chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	Parse(chrome) // build the parser outside the timing
	p := defaultParser()
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Parse(chrome)
		}
	})
	p.limit = rate.NewLimiter(rate.Inf, 0) // measure the parse, not the budget
	b.Run("new", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			p.parse(fmt.Sprintf("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.%d.0 Safari/537.36", i))
		}
	})
	b.Run("longest", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			s := fmt.Sprintf("%d ", i)
			p.parse(s + strings.Repeat("Mozilla/5.0 (", (MaxLength-len(s))/13))
		}
	})
}

// compiled reports whether the expressions are in memory.
func (p *parser) compiled() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.uap != nil
}

// TestExpressionsDroppedWhenQuiet: the compiled expressions (18 MiB) are
// dropped, and their memory given back, once no new header has needed
// them for the quiet period; headers seen before are still answered from
// the cache, and a new one compiles them again.
func TestExpressionsDroppedWhenQuiet(t *testing.T) {
	var released atomic.Int32
	p := newParser(time.Now, 50*time.Millisecond, func() { released.Add(1) })
	const firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
	if p.compiled() {
		t.Fatal("compiled before any header needed it")
	}
	if info, ok := p.parse(firefox); !ok || info.Browser.Name != "Firefox" || !p.compiled() {
		t.Fatalf("parse = %#v, %v; compiled %v", info, ok, p.compiled())
	}
	deadline := time.Now().Add(5 * time.Second)
	for p.compiled() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if p.compiled() || released.Load() != 1 {
		t.Fatalf("after the quiet period: compiled %v, released %d times; want dropped and released once", p.compiled(), released.Load())
	}
	if info, ok := p.parse(firefox); !ok || info.Browser.Name != "Firefox" || p.compiled() {
		t.Errorf("a header seen before: %#v, %v, compiled %v; want it from the cache, nothing compiled", info, ok, p.compiled())
	}
	if info, ok := p.parse(strings.Replace(firefox, "133.0", "134.0", 2)); !ok || info.Browser.Version != "134.0" || !p.compiled() {
		t.Errorf("a new header after the drop: %#v, %v, compiled %v; want it parsed by expressions compiled again", info, ok, p.compiled())
	}
}

// TestParseConcurrent: the processor's workers share one parser, its
// cache and its budget (run with -race).
func TestParseConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 5 {
				ua := fmt.Sprintf("Mozilla/5.0 (X11; Linux x86_64; rv:%d.0) Gecko/20100101 Firefox/%d.0", 100+g, 100+i)
				if info, ok := Parse(ua); ok && info.Browser.Name != "Firefox" {
					t.Errorf("Parse(%q) = %#v", ua, info)
				}
			}
		})
	}
	wg.Wait()
}
