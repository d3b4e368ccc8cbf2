package event

import (
	"strings"
	"testing"
)

func TestReleaseProblem(t *testing.T) {
	for _, c := range []struct {
		version string
		ok      bool
	}{
		{"1.0.0", true},
		{"shop@4.0.1+build.7", true},
		{"e386dfd", true},
		{"io.sentry.sample-1.0", true},
		{"release with spaces", true},
		{"", false},
		{"   ", false},
		{".", false},
		{"..", false},
		{"Latest", false},
		{"web/1.0", false},
		{`web\1.0`, false},
		{"1.0\n", false},
		{"1.0\t2", false},
		{"r\x1b]52;c;cHduZWQ=\x07", false},
		{"r\u009b31m", false},
		{"r\x7f", false},
		{"r\u202eevil", false},
		{"r1\u200b", false},
		{"r1\u2060", false},
		{"r1\ufeff", false},
		{"r\u00ad1", false},
		{"\u200dr1", false},
		{"shop@1.0 ✓", true},
		{"версия-1", true},
	} {
		got := ReleaseProblem(c.version)
		if (got == "") != c.ok {
			t.Errorf("ReleaseProblem(%q) = %q, want valid %v", c.version, got, c.ok)
		}
	}
}

func TestEnvironmentProblem(t *testing.T) {
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"production", true},
		{"", true}, // no environment
		{"staging eu", true},
		{"staging/eu", false},
		{"prod\r\n", false},
		{"prod\x1b[2J", false},
		{"prod\u2066", false},
	} {
		got := EnvironmentProblem(c.name)
		if (got == "") != c.ok {
			t.Errorf("EnvironmentProblem(%q) = %q, want valid %v", c.name, got, c.ok)
		}
	}
}

func TestCutName(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"short", "shop@1.0", "shop@1.0"},
		{"spaces around", "  shop@1.0\t", "shop@1.0"},
		{"200 characters", strings.Repeat("r", 200), strings.Repeat("r", 200)},
		{"250 characters", strings.Repeat("r", 250), strings.Repeat("r", 200)},
		{"wide characters", strings.Repeat("é", 300), strings.Repeat("é", 200)},
		{"cut before a space", strings.Repeat("r", 199) + " tail", strings.Repeat("r", 199)},
	} {
		if got := CutName(c.in); got != c.want {
			t.Errorf("%s: CutName = %q (%d characters), want %q", c.name, got, len([]rune(got)), c.want)
		}
	}
}
