package inbound

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/useragent"
)

// The legacy browsers filter's choices, as Sentry's settings and Relay's
// LegacyBrowser name them (legacy_browsers.rs).
const (
	LegacyIE        = "ie"
	LegacySafari    = "safari"
	LegacyOpera     = "opera"
	LegacyOperaMini = "opera_mini"
	LegacyAndroid   = "android"
	LegacyEdge      = "edge"
	LegacyFirefox   = "firefox"
	LegacyChrome    = "chrome"
	// LegacyDefault is Relay's first set: IE before 10, Safari before 6,
	// Opera before 15, Opera Mini before 8 and Android before 4.
	LegacyDefault = "default"
)

// legacyBelow is, for each choice, the browsers (uap-core's family, as
// useragent.Parse names it) and the major version from which they are
// kept. The per-browser bounds are those of Relay's update of November
// 2025 (relay#5326, after the browsers Next.js supports), as Sentry's
// settings page gives them: Chrome, Edge and Firefox "Version 110 and
// lower", Safari 15, Opera 99, Opera Mini 34, Android 3, IE 11. The
// family is compared exactly, as every version of Relay's
// legacy_browsers.rs read for this did (the latest was not at hand):
// Mobile Safari, Chrome Mobile and the other mobile families are no
// choice's.
var legacyBelow = map[string]map[string]int{
	LegacyIE:        {"IE": 12},
	LegacySafari:    {"Safari": 16},
	LegacyOpera:     {"Opera": 100},
	LegacyOperaMini: {"Opera Mini": 35},
	LegacyAndroid:   {"Android": 4},
	LegacyEdge:      {"Edge": 111},
	LegacyFirefox:   {"Firefox": 111},
	LegacyChrome:    {"Chrome": 111},
	LegacyDefault:   {"IE": 10, "Safari": 6, "Opera": 15, "Opera Mini": 8, "Android": 4},
}

// LegacyBrowsers lists the choices in the order the settings show them.
var LegacyBrowsers = []string{LegacyChrome, LegacyEdge, LegacyFirefox, LegacySafari, LegacyOpera, LegacyOperaMini, LegacyAndroid, LegacyIE, LegacyDefault}

// ErrLegacyBrowser is wrapped by the error of a legacy browsers choice
// that is not one of LegacyBrowsers.
var ErrLegacyBrowser = errors.New("unknown legacy browser")

// cleanLegacyBrowsers checks each choice is known and returns them in
// LegacyBrowsers' order, once each.
func cleanLegacyBrowsers(choices []string) ([]string, error) {
	for _, c := range choices {
		if _, ok := legacyBelow[c]; !ok {
			return nil, fmt.Errorf("%w: legacy_browsers: %.40q is not one of %s", ErrLegacyBrowser, c, strings.Join(LegacyBrowsers, ", "))
		}
	}
	out := []string{}
	for _, c := range LegacyBrowsers {
		if slices.Contains(choices, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// compileLegacy merges the choices into one bound per browser: the
// highest version any of them keeps from.
func compileLegacy(choices []string) map[string]int {
	if len(choices) == 0 {
		return nil
	}
	below := map[string]int{}
	for _, c := range choices {
		for family, v := range legacyBelow[c] {
			below[family] = max(below[family], v)
		}
	}
	return below
}

// legacyBrowser reports whether the request's User-Agent is a browser
// older than below keeps, as Relay's legacy_browsers filter decides: the
// browser is uap-core's (IE Mobile counted as IE) and its major version
// is below the browser's bound. A header that names no version, or that
// useragent.Parse leaves unparsed (too long, or new while its budget of
// new headers is spent), is kept.
func legacyBrowser(ev *event.Event, below map[string]int) bool {
	if len(below) == 0 || ev.Request == nil {
		return false
	}
	ua := header(ev.Request, "User-Agent")
	if ua == "" {
		return false
	}
	info, ok := useragent.Parse(ua)
	if !ok {
		return false
	}
	family := info.Browser.Name
	if family == "IE Mobile" {
		family = "IE"
	}
	bound, ok := below[family]
	if !ok {
		return false
	}
	majorText, _, _ := strings.Cut(info.Browser.Version, ".")
	major, err := strconv.Atoi(majorText)
	return err == nil && major < bound
}
