// Package inbound decides which events a project drops before storing
// them: Sentry's inbound data filters (Project Settings > Inbound
// Filters), with the patterns of Sentry's Relay (relay-filter:
// browser_extensions.rs, localhost.rs, legacy_browsers.rs,
// web_crawlers.rs, error_messages.rs, releases.rs). The processor applies them; see
// docs/filters.md.
package inbound

import (
	"cmp"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/getflytrap/flytrap/internal/event"
)

// Reason names the filter that dropped an event, as Sentry's outcomes
// name it (FilterStatKey).
type Reason string

// The reasons, in the order the filters run.
const (
	ReasonNone              Reason = ""
	ReasonReleaseVersion    Reason = "release-version"
	ReasonErrorMessage      Reason = "error-message"
	ReasonBrowserExtensions Reason = "browser-extensions"
	ReasonLocalhost         Reason = "localhost"
	ReasonLegacyBrowsers    Reason = "legacy-browsers"
	ReasonWebCrawlers       Reason = "web-crawlers"
)

// Reasons lists every reason, for pages that show a count of each.
var Reasons = []Reason{ReasonBrowserExtensions, ReasonLocalhost, ReasonLegacyBrowsers, ReasonWebCrawlers, ReasonErrorMessage, ReasonReleaseVersion}

// Settings are a project's inbound filters.
type Settings struct {
	// BrowserExtensions drops errors raised by browser extensions and
	// known injected scripts; on for new projects, as in Sentry.
	BrowserExtensions bool `json:"browser_extensions"`
	// Localhost drops events from 127.0.0.1, ::1, localhost and file://
	// pages; off for new projects, as in Sentry.
	Localhost bool `json:"localhost"`
	// LegacyBrowsers are the legacy browsers filter's choices (see
	// LegacyBrowsers), none when it is off; every browser for new
	// projects, as in Sentry.
	LegacyBrowsers []string `json:"legacy_browsers"`
	// WebCrawlers drops events whose User-Agent is a known crawler; on
	// for new projects, as in Sentry.
	WebCrawlers bool `json:"web_crawlers"`
	// ErrorMessages are globs (see Glob) matched against the message and
	// each exception's "Type: value".
	ErrorMessages []string `json:"error_messages"`
	// Releases are globs matched against the event's release.
	Releases []string `json:"releases"`
}

// Defaults are the filters of a new project until an admin changes them:
// Sentry's defaults for a new project (set_default_inbound_filters)
// without the transaction filter, which Flytrap does not have, and
// without legacy browsers, which Sentry turns on for every browser: a
// server's event carries the User-Agent of the request that raised it
// (the Java and ASP.NET Core samples of the SDKs' own corpus have Chrome
// 60 and 70), and a team trying Flytrap out should see every event it
// sends until it chooses to drop some.
var Defaults = Settings{BrowserExtensions: true, LegacyBrowsers: []string{}, WebCrawlers: true, ErrorMessages: []string{}, Releases: []string{}}

// Clean trims the patterns, drops empty and repeated ones, and checks
// each compiles and that there are at most MaxPatterns per list. An
// error names the list and the pattern, and wraps ErrPattern. It puts
// the legacy browsers choices in LegacyBrowsers' order, once each; an
// unknown one is an error wrapping ErrLegacyBrowser.
func (s Settings) Clean() (Settings, error) {
	var err error
	if s.LegacyBrowsers, err = cleanLegacyBrowsers(s.LegacyBrowsers); err != nil {
		return Settings{}, err
	}
	if s.ErrorMessages, err = cleanPatterns("error_messages", s.ErrorMessages); err != nil {
		return Settings{}, err
	}
	if s.Releases, err = cleanPatterns("releases", s.Releases); err != nil {
		return Settings{}, err
	}
	return s, nil
}

func cleanPatterns(list string, patterns []string) ([]string, error) {
	out := []string{}
	seen := map[string]bool{}
	size := 0
	for _, p := range patterns {
		p = strings.TrimSpace(p)
		if p == "" || seen[p] {
			continue
		}
		if len(out) == MaxPatterns {
			return nil, fmt.Errorf("%w: %s: more than %d patterns", ErrPattern, list, MaxPatterns)
		}
		g, err := CompileGlob(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", list, err)
		}
		if size += g.size; size > MaxListLen {
			return nil, fmt.Errorf("%w: %s: the patterns together are longer than %d bytes (alternatives counted once each)", ErrPattern, list, MaxListLen)
		}
		seen[p] = true
		out = append(out, p)
	}
	return out, nil
}

// Filter is a project's compiled Settings, safe for concurrent use.
type Filter struct {
	s                      Settings
	messageGlobs, relGlobs []*Glob
	// legacyBelow is the major version from which each browser the
	// legacy browsers choices name is kept.
	legacyBelow map[string]int
}

// Compile compiles the settings' patterns. A pattern that does not
// compile (stored before a bound was lowered) is skipped, as Relay skips
// one: the project's other filters still apply.
func Compile(s Settings) *Filter {
	f := &Filter{s: s, legacyBelow: compileLegacy(s.LegacyBrowsers)}
	for _, p := range s.ErrorMessages {
		if g, err := CompileGlob(p); err == nil {
			f.messageGlobs = append(f.messageGlobs, g)
		}
	}
	for _, p := range s.Releases {
		if g, err := CompileGlob(p); err == nil {
			f.relGlobs = append(f.relGlobs, g)
		}
	}
	return f
}

// Match returns why ev is dropped, or ReasonNone to keep it. The filters
// run in Relay's order, and the first that matches names the reason.
func (f *Filter) Match(ev *event.Event) Reason {
	switch {
	case f.release(ev):
		return ReasonReleaseVersion
	case f.errorMessage(ev):
		return ReasonErrorMessage
	case f.s.BrowserExtensions && BrowserExtension(ev):
		return ReasonBrowserExtensions
	case f.s.Localhost && Localhost(ev):
		return ReasonLocalhost
	case legacyBrowser(ev, f.legacyBelow):
		return ReasonLegacyBrowsers
	case f.s.WebCrawlers && WebCrawler(ev):
		return ReasonWebCrawlers
	}
	return ReasonNone
}

func (f *Filter) release(ev *event.Event) bool {
	return anyMatch(f.relGlobs, ev.Release)
}

// errorMessage matches the log message (the formatted one when there is
// one) and each exception as "Type: value", or whichever of the two it
// has, as Relay's error_messages filter does.
func (f *Filter) errorMessage(ev *event.Event) bool {
	if len(f.messageGlobs) == 0 {
		return false
	}
	msg := ev.MessageFormatted
	if msg == "" {
		msg = ev.Message
	}
	if anyMatch(f.messageGlobs, msg) {
		return true
	}
	for _, ex := range ev.Exceptions {
		text := ex.Type + ": " + ex.Value
		switch {
		case ex.Type == "":
			text = ex.Value
		case ex.Value == "":
			text = ex.Type
		}
		if anyMatch(f.messageGlobs, text) {
			return true
		}
	}
	return false
}

func anyMatch(globs []*Glob, s string) bool {
	if len(globs) == 0 || s == "" {
		return false
	}
	text := prepare(s)
	for _, g := range globs {
		if g.match(text) {
			return true
		}
	}
	return false
}

// Relay's browser extension patterns (browser_extensions.rs): exception
// values that extensions and injected scripts raise, and the sources of
// the frame that raised them.
var (
	extensionValues = newCaseless(
		`top\.GLOBALS`,
		`originalCreateNotification`,
		`canvas.contentDocument`,
		`MyApp_RemoveAllHighlights`,
		`http://tt\.epicplay\.com`,
		`Can't\sfind\svariable:\sZiteReader`,
		`jigsaw\sis\snot\sdefined`,
		`ComboSearch\sis\snot\sdefined`,
		`http://loading\.retry\.widdit\.com/`,
		`atomicFindClose`,
		`fb_xd_fragment`,
		`bmi_SafeAddOnload`,
		`EBCallBackMessageReceived`,
		`_gCrWeb`,
		`conduitPage`,
		`null\sis\snot\san\sobject\s\(evaluating\s'elt.parentNode'\)`,
		`plugin\.setSuspendState\sis\snot\sa\sfunction`,
		`Extension\scontext\sinvalidated`,
		`webkit-masked-url:`,
		`can't\saccess\sdead\sobject`,
	)
	extensionSources = newCaseless(
		`graph\.facebook\.com`,
		`connect\.facebook\.net`,
		`eatdifferent\.com\.woopra-ns\.com`,
		`static\.woopra\.com/js/woopra\.js`,
		`^chrome(-extension)?://`,
		`^moz-extension://`,
		`^safari(-web)?-extension://`,
		`webkit-masked-url`,
		`127\.0\.0\.1:4001/isrunning`,
		`webappstoolbarba\.texthelp\.com/`,
		`metrics\.itunes\.apple\.com\.edgesuite\.net/`,
		`kaspersky-labs\.com`,
	)
)

// BrowserExtension reports whether the first exception's value is one
// that extensions raise, or its top frame (the last one that is not
// "<anonymous>" or "[native code]") comes from an extension's URL, as
// Relay's browser_extensions filter decides. A frame's URL is its
// abs_path, else its filename: @sentry/browser sends only the filename,
// which Relay's normalization copies to abs_path before filtering.
func BrowserExtension(ev *event.Event) bool {
	if len(ev.Exceptions) == 0 {
		return false
	}
	ex := &ev.Exceptions[0]
	if ex.Value != "" && extensionValues.MatchString(ex.Value) {
		return true
	}
	for i := len(ex.Frames) - 1; i >= 0; i-- {
		path := cmp.Or(ex.Frames[i].AbsPath, ex.Frames[i].Filename)
		switch path {
		case "<anonymous>", "[native code]":
			continue
		case "":
			// Relay gives up at the first frame without a URL.
			return false
		}
		return extensionSources.MatchString(path)
	}
	return false
}

// Localhost reports whether the event came from the local machine, as
// Relay's localhost filter decides: the user's IP address or the
// request's X-Forwarded-For is 127.0.0.1 or ::1 (ingest records that as
// event.Event.LoopbackIP: it keeps the address only hashed and the header
// not at all), the request URL is a file:// URL or its host is 127.0.0.1,
// localhost or a subdomain of either, or, without a URL, Host or
// X-Forwarded-Host names localhost.
func Localhost(ev *event.Event) bool {
	if ev.LoopbackIP {
		return true
	}
	r := ev.Request
	if r == nil {
		return false
	}
	if r.URL != "" {
		if u, err := url.Parse(r.URL); err == nil {
			if u.Scheme == "file" {
				return true
			}
			host := strings.ToLower(u.Hostname())
			for _, d := range []string{"127.0.0.1", "localhost"} {
				if rest, ok := strings.CutSuffix(host, d); ok && (rest == "" || strings.HasSuffix(rest, ".")) {
					return true
				}
			}
		}
	}
	if r.URL == "" {
		for _, name := range []string{"Host", "X-Forwarded-Host"} {
			domain, _, _ := strings.Cut(header(r, name), ":")
			if domain == "127.0.0.1" || domain == "localhost" {
				return true
			}
		}
	}
	return false
}

// Relay's web crawler patterns (web_crawlers.rs), and the Slack user
// agent that is a person following a link rather than a crawler.
var (
	webCrawlers = newCaseless(
		`Mediapartners-Google`,
		`AdsBot-Google`,
		`Googlebot`,
		`FeedFetcher-Google`,
		`BingBot`,
		`BingPreview`,
		`Baiduspider`,
		`Slurp`,
		`Sogou`,
		`facebook`,
		`ia_archiver`,
		`bots?[/\s\);]`,
		`spider[/\s\);]`,
		`Slack`,
		`Calypso\sAppCrawler`,
		`pingdom`,
		`lyticsbot`,
		`AWS\sSecurity\sScanner`,
		`HubSpot\sCrawler`,
		`Bytespider`,
		`Better\sUptime`,
	)
	allowedCrawlers = regexp.MustCompile(`(?i)Slackbot\s1\.\d+`)
)

// WebCrawler reports whether the request's User-Agent is a known web
// crawler, as Relay's web_crawlers filter decides.
func WebCrawler(ev *event.Event) bool {
	if ev.Request == nil {
		return false
	}
	ua := header(ev.Request, "User-Agent")
	return ua != "" && webCrawlers.MatchString(ua) && !allowedCrawlers.MatchString(ua)
}

// header is the first value of the request's header name, whatever its
// case.
func header(r *event.Request, name string) string {
	for _, h := range r.Headers {
		if strings.EqualFold(h[0], name) {
			return h[1]
		}
	}
	return ""
}
