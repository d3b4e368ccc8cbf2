package shell

import (
	"os/exec"
	"testing"
)

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"web":                   "web",
		"shop@1.2.3+build.7":    "shop@1.2.3+build.7",
		"":                      "''",
		"my shop":               "'my shop'",
		"x; touch /tmp/pwned #": "'x; touch /tmp/pwned #'",
		"it's":                  `'it'\''s'`,
		"$(id)":                 "'$(id)'",
		"`id`":                  "'`id`'",
		"a|b":                   "'a|b'",
		"Ünïcode":               "'Ünïcode'",
		"a\nb":                  "'a\nb'",
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestArg(t *testing.T) {
	for in, want := range map[string]string{
		"web":                     "web",
		"--project=x && rm -rf ~": "-- '--project=x && rm -rf ~'",
		"--host=http://evil":      "-- --host=http://evil",
		"a-b":                     "a-b",
	} {
		if got := Arg(in); got != want {
			t.Errorf("Arg(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestQuoteRoundTrip: a real shell reads each quoted word back as the text
// it was made of, running nothing.
func TestQuoteRoundTrip(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	for _, s := range []string{"$(echo pwned)", "`echo pwned`", "a'b", "'", "x; echo pwned", "a | b", "  spaced  ", "\\n", "\"q\""} {
		out, err := exec.Command(sh, "-c", "printf %s "+Quote(s)).Output()
		if err != nil || string(out) != s {
			t.Errorf("sh read %s as %q (%v), want %q", Quote(s), out, err, s)
		}
	}
}
