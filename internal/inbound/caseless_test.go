package inbound

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestNeedle(t *testing.T) {
	tests := []struct{ pattern, want string }{
		{`top\.GLOBALS`, "top.globals"},
		{`Can't\sfind\svariable:\sZiteReader`, "zitereader"},
		{`^chrome(-extension)?://`, "chrome"},
		{`^safari(-web)?-extension://`, "-extension://"},
		{`bots?[/\s\);]`, "bot"},
		{`Slackbot\s1\.\d+`, "slackbot"},
		{`[ab]+`, ""},
	}
	for _, tt := range tests {
		if got := needle(tt.pattern); got != tt.want {
			t.Errorf("needle(%q) = %q, want %q", tt.pattern, got, tt.want)
		}
	}
}

// TestCaselessAgreesWithTheRegexp: the needles only skip texts that the
// patterns' regexp would not match, for texts near each pattern (its
// matches in other cases, cut, or with a byte changed), non-ASCII
// spellings that only Unicode case folding matches, and everyday texts.
func TestCaselessAgreesWithTheRegexp(t *testing.T) {
	texts := []string{
		"", "TypeError: x is undefined", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0 Safari/537.36",
		"https://shop.example/static/app.min.js", "CHROME-EXTENSION://abc/inject.js", "chrome://settings",
		"Googlebot/2.1 (+http://www.google.com/bot.html)", "robots;", "mybot)", "Slackbot 1.0", "SLACKBOT-LinkExpanding 1.0",
		"Can't find variable: ZiteReader", "can't\tfind\nvariable:\fzitereader", "ſlack", "KASPERSKY-LABS.COM/x", // ſ and K fold to s and k
		"safari-web-extension://x", "Safari-Extension://x", "moz-extension://", "webkit-masked-url://hidden/",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []*caseless{extensionValues, extensionSources, webCrawlers} {
		for _, n := range c.needles {
			texts = append(texts, n, strings.ToUpper(n), "x "+n+" y", n[:len(n)/2])
		}
	}
	for range 2000 {
		base := []byte(texts[rng.IntN(len(texts))])
		if len(base) > 0 {
			base[rng.IntN(len(base))] = " /);.:AbZz"[rng.IntN(10)]
		}
		texts = append(texts, string(base))
	}
	for _, c := range []*caseless{extensionValues, extensionSources, webCrawlers} {
		for _, s := range texts {
			if got, want := c.MatchString(s), c.re.MatchString(s); got != want {
				t.Errorf("%q: caseless %v, regexp %v (%s)", s, got, want, c.re)
			}
		}
	}
	if !webCrawlers.MatchString("ſlack") {
		t.Error("ſlack: only the regexp's Unicode folding matches it, and MatchString did not reach the regexp")
	}
}
