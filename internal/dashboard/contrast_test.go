package dashboard

import (
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// TestSmallTextContrast: the small text of a stack trace, the "app"
// badge on in-app frames and the source lines' numbers, on the backgrounds
// app.css gives it, has the 4.5:1 contrast WCAG 2 asks of text under 18pt
// (the badge's was 4.36:1, the line numbers' 3.75:1, and 3.11:1 on the
// highlighted line).
func TestSmallTextContrast(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "templates", "static", "app.css"))
	if err != nil {
		t.Fatal(err)
	}
	css := string(b)
	vars := map[string]string{}
	for _, m := range regexp.MustCompile(`(--[a-z-]+):\s*(#[0-9a-fA-F]{6})`).FindAllStringSubmatch(css, -1) {
		vars["var("+m[1]+")"] = m[2]
	}
	// prop is the colour a rule (selector exactly as written) gives prop.
	prop := func(selector, prop string) string {
		t.Helper()
		re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(selector) + `\s*\{[^}]*?[\s;{]` + prop + `:\s*(#[0-9a-fA-F]{6}|var\(--[a-z-]+\))`)
		m := re.FindStringSubmatch(css)
		if m == nil {
			t.Fatalf("app.css has no %s in %s", prop, selector)
		}
		if v, ok := vars[m[1]]; ok {
			return v
		}
		return m[1]
	}
	for _, tt := range []struct{ name, fg, bg string }{
		{"app badge", prop(".badge", "color"), prop(".badge", "background")},
		{"line numbers", prop("ol.code .ln", "color"), prop("ol.code", "background")},
		{"the highlighted line's number", prop("ol.code .ln", "color"), prop("ol.code li.current", "background")},
	} {
		if r := contrast(tt.fg, tt.bg); r < 4.5 {
			t.Errorf("%s: %s on %s is %.2f:1, want at least 4.5:1", tt.name, tt.fg, tt.bg, r)
		}
	}
}

// contrast is WCAG 2's contrast ratio of two #rrggbb colours.
func contrast(a, b string) float64 {
	lum := func(hex string) float64 {
		var l float64
		for i, w := range []float64{0.2126, 0.7152, 0.0722} {
			v, _ := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
			c := float64(v) / 255
			if c <= 0.03928 {
				c /= 12.92
			} else {
				c = math.Pow((c+0.055)/1.055, 2.4)
			}
			l += w * c
		}
		return l
	}
	la, lb := lum(a), lum(b)
	return (math.Max(la, lb) + 0.05) / (math.Min(la, lb) + 0.05)
}
