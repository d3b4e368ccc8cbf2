// Package useragent derives the browser, operating system and device of an
// HTTP User-Agent header as Sentry's Relay does (normalize_user_agent), so
// that the contexts and tags Flytrap derives read as Sentry's: "Mobile
// Safari" on an iPhone, "Chrome Mobile" on Android, "Mac OS X >=10.15.7".
//
// Parsing uses uap-go, the Go port of ua-parser's uap-core: the same
// regular expressions Relay parses with (through uap-rs), hence the same
// names and versions. Go's regexp runs in time linear in its input, and
// Parse bounds the input and how many new headers it parses a second, so
// hostile headers cost a bounded amount of CPU.
package useragent

import (
	"runtime/debug"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/ua-parser/uap-go/uaparser"
	"golang.org/x/time/rate"
)

// MaxLength is the longest header parsed, in bytes. Browsers send 100 to
// 300 bytes (in-app browsers of social apps the most); anything longer was
// not written by a browser, and parsing costs time in proportion to the
// length, so such a header derives nothing.
const MaxLength = 512

// maxValue bounds a derived value in bytes, as Sentry bounds a tag value:
// a device model is copied from the header, whatever it holds.
const maxValue = 200

// cacheSize is how many distinct headers Parse remembers. A site's
// visitors send few distinct User-Agents, and a header seen before costs
// well under a microsecond where a new one costs a millisecond or more:
// every one of uap-core's hundreds of expressions that does not match is
// run over it (all of the device expressions, for a desktop browser).
const cacheSize = 4096

// The budget of new headers: newPerSecond on average, in bursts of up to
// newBurst (a restart meets a site's whole mix of browsers at once). New
// headers beyond it are not parsed, so that events crafted with a new
// header each cost the processor little more than other events do; such
// an event gets no derived browser, OS or device.
const (
	newPerSecond = 50
	newBurst     = 500
)

// releaseQuiet is how long the compiled expressions are kept after the
// last header that needed them. They take 18 MiB, half again what an idle
// `flytrap dev` holds in all: a site's few browsers are soon all in the
// cache, and from then on the expressions only sit in memory. Dropped,
// they are compiled again (a quarter of a second) for the next new header.
const releaseQuiet = time.Minute

// defaultParser is made on first use; its expressions are compiled when a
// header first needs them, which only a process that sees User-Agents
// pays, not every command of the binary.
var defaultParser = sync.OnceValue(func() *parser {
	return newParser(time.Now, releaseQuiet, debug.FreeOSMemory)
})

// parser is uap-go's parser behind a cache and the budget of new headers,
// compiled while headers need it.
type parser struct {
	cache *lru.Cache[string, Info]
	now   func() time.Time
	limit *rate.Limiter
	// quiet and release: after quiet without a new header, the compiled
	// expressions are dropped and release (debug.FreeOSMemory) gives
	// their pages back, as an idle process would otherwise keep them.
	quiet   time.Duration
	release func()

	mu   sync.Mutex
	uap  *uaparser.Parser // nil until needed, and once dropped
	used time.Time        // when uap last parsed a header
}

func newParser(now func() time.Time, quiet time.Duration, release func()) *parser {
	cache, err := lru.New[string, Info](cacheSize)
	if err != nil {
		panic("useragent: " + err.Error())
	}
	return &parser{cache: cache, now: now, limit: rate.NewLimiter(newPerSecond, newBurst), quiet: quiet, release: release}
}

// expressions returns the compiled parser, compiling it if it was not or
// was dropped; a timer drops it once quiet has passed since its last use.
func (p *parser) expressions() *uaparser.Parser {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.used = time.Now()
	if p.uap == nil {
		// uap-go's own caches would hold each header a second time:
		// Parse's cache is in front of them, so theirs are kept at
		// their minimum.
		uap, err := uaparser.New(uaparser.WithCacheSize(1))
		if err != nil {
			// New only fails on options this package does not pass.
			panic("useragent: " + err.Error())
		}
		p.uap = uap
		time.AfterFunc(p.quiet, p.dropIfQuiet)
	}
	return p.uap
}

// dropIfQuiet drops the compiled parser if it has not been used for quiet,
// or looks again when it will have been.
func (p *parser) dropIfQuiet() {
	p.mu.Lock()
	if wait := p.quiet - time.Since(p.used); wait > 0 {
		time.AfterFunc(wait, p.dropIfQuiet)
		p.mu.Unlock()
		return
	}
	p.uap = nil
	p.mu.Unlock()
	p.release()
}

// Browser is a web browser, as Sentry's browser context holds it.
type Browser struct {
	Name    string // "Chrome", "Mobile Safari", "Samsung Internet"
	Version string // "131.0.0", "17.6": major, .minor and .patch as known
}

// OS is an operating system, as Sentry's os context holds it.
type OS struct {
	Name    string // "Windows", "Mac OS X", "iOS", "Android"
	Version string // "17.6.1"; ">=10" where browsers freeze it (see Parse)
}

// Device is the hardware, as Sentry's device context holds it.
type Device struct {
	Family string // "iPhone", "Samsung SM-S918B", "Mac", "Spider" (a crawler)
	Model  string // "iPhone", "SM-S918B"; may be empty
	Brand  string // "Apple", "Samsung"; may be empty
}

// Info is what a User-Agent says; a part is its zero value when the header
// does not tell it (uap-core's "Other").
type Info struct {
	Browser Browser
	OS      OS
	Device  Device
}

// Parse reads a User-Agent header. A header that is empty or longer than
// MaxLength gives the zero Info. Each value is valid UTF-8 without control
// characters, at most 200 bytes. ok is false, with the zero Info, when the
// header is new and the budget of new headers is spent (see newBurst).
//
// As in Relay, a version is the major version, then ".minor" if known,
// then ".patch" if the minor version is known; and since browsers freeze
// the OS version they report at Windows 10 and Mac OS X 10.15.7, those two
// read ">=10" and ">=10.15.7".
func Parse(ua string) (info Info, ok bool) {
	return defaultParser().parse(ua)
}

func (p *parser) parse(ua string) (Info, bool) {
	ua = strings.TrimSpace(ua)
	if ua == "" || len(ua) > MaxLength {
		return Info{}, true
	}
	if info, ok := p.cache.Get(ua); ok {
		return info, true
	}
	if !p.limit.AllowN(p.now(), 1) {
		return Info{}, false
	}
	uap := p.expressions()
	var info Info
	if b := uap.ParseUserAgent(ua); known(b.Family) {
		info.Browser = Browser{Name: clean(b.Family), Version: clean(version(b.Major, b.Minor, b.Patch))}
	}
	if o := uap.ParseOs(ua); known(o.Family) {
		v := version(o.Major, o.Minor, o.Patch)
		if (o.Family == "Windows" && v == "10") || (o.Family == "Mac OS X" && v == "10.15.7") {
			v = ">=" + v
		}
		info.OS = OS{Name: clean(o.Family), Version: clean(v)}
	}
	if d := uap.ParseDevice(ua); known(d.Family) {
		info.Device = Device{Family: clean(d.Family), Model: clean(d.Model), Brand: clean(d.Brand)}
	}
	p.cache.Add(ua, info)
	return info, true
}

// known is false for uap-core's name for what no expression matched.
func known(family string) bool {
	return family != "" && family != "Other"
}

// version joins the parts as Relay's get_version does: no major version,
// no version; a patch without a minor version is left out.
func version(major, minor, patch string) string {
	if major == "" {
		return ""
	}
	v := major
	if minor != "" {
		v += "." + minor
		if patch != "" {
			v += "." + patch
		}
	}
	return v
}

// clean makes a value copied out of the header safe to keep as a tag:
// valid UTF-8, no control characters (a newline would end a log line or a
// header it is written into), trimmed, at most maxValue bytes.
func clean(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		s = strings.Map(func(r rune) rune {
			if unicode.IsControl(r) {
				return -1
			}
			return r
		}, s)
	}
	s = strings.TrimSpace(s)
	if len(s) > maxValue {
		cut := maxValue - len("…")
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
