package grouping

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var maskCases = []struct {
	name, in, want string
}{
	{"integer", "user 123 not found", "user <int> not found"},
	{"no variable part", "user not found", "user not found"},
	{"negative and decimal", "balance -12.50 below 0", "balance -<int>.<int> below <int>"},
	{"number with unit", "took 1500ms (limit 30s)", "took <int>ms (limit <int>s)"},
	{"digits glued to a name stay", "utf8 decode failed in sha256 for user123", "utf8 decode failed in sha256 for user123"},
	{"underscore separates", "row user_123 missing", "row user_<int> missing"},
	{"prefixed hex", "segfault at 0x7ffd5e8c3a10", "segfault at <hex>"},
	{"bare hex", "object 507f1f77bcf86cd799439011 gone; commit 3f9a1c2", "object <hex> gone; commit <hex>"},
	{"hex letters only is a word", "decade facade deadbeef", "decade facade deadbeef"},
	{"uuid", "job 550e8400-e29b-41d4-a716-446655440000 failed", "job <uuid> failed"},
	{"upper-case uuid", "{550E8400-E29B-41D4-A716-446655440000}", "{<uuid>}"},
	{"uuid after underscore", "job_550e8400-e29b-41d4-a716-446655440000", "job_<uuid>"},
	{"ipv4 with port", "connect ECONNREFUSED 127.0.0.1:5432", "connect ECONNREFUSED <ip>:<int>"},
	{"version is not an ip", "requires 1.2.3.4.5", "requires <int>.<int>.<int>.<int>.<int>"},
	{"octet over 255 is not an ip", "300.1.1.1", "<int>.<int>.<int>.<int>"},
	{"ipv6", "from 2001:db8::8a2e:370:7334 denied", "from <ip> denied"},
	{"ipv6 loopback in brackets", "listen [::1]:8080 failed", "listen [<ip>]:<int> failed"},
	{"ipv6 with zone", "fe80::1%eth0 unreachable", "<ip> unreachable"},
	{"ipv6 full form", "2001:0db8:0000:0000:0000:ff00:0042:8329.", "<ip>."},
	{"ipv6 with ipv4 tail", "::ffff:192.0.2.128: refused", "<ip>: refused"},
	{"time is not an ip", "at 10:30:45", "at <int>:<int>:<int>"},
	{"scope operator is not an ip", "std::vector failed", "std::vector failed"},
	{"email", "mail to jane.doe+shop@example.co.uk.", "mail to <email>."},
	{"not an email", "user@localhost rejected", "user@localhost rejected"},
	{"iso date", "expired on 2026-11-21", "expired on <date>"},
	{"iso timestamp", "at 2026-11-21T10:00:00.123456Z: timeout", "at <date>: timeout"},
	{"iso timestamp with offset", "2026-11-21 10:00:00+02:00 slow", "<date> slow"},
	{"date-like with bad month", "2026-13-01", "<int>-<int>-<int>"},
	{"quoted id", "KeyError: 'order_42'", "KeyError: '<id>'"},
	{"quoted name stays", `column "email" does not exist`, `column "email" does not exist`},
	{"quoted path stays with inner numbers masked", "module './v2/routes' missing", "module './v2/routes' missing"},
	{"unterminated quote", "it's 5", "it's <int>"},
	{"non-ascii word keeps its digits", "größe3 ist 7", "größe3 ist <int>"},
	{"empty", "", ""},
}

func TestMaskMessage(t *testing.T) {
	for _, tc := range maskCases {
		t.Run(tc.name, func(t *testing.T) {
			if got := MaskMessage(tc.in); got != tc.want {
				t.Errorf("MaskMessage(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestMaskMessageGroups(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{"user 123 not found", "user 456 not found", true},
		{"user not found", "order not found", false},
		{"timeout after 30s connecting to 10.0.0.7:5432", "timeout after 45s connecting to 10.0.3.9:5433", true},
		{"invalid token for jane@example.com", "invalid token for bob@example.org", true},
		{"lock 0x1f held", "lock 0xFFA0 held", true},
		{"request 3f9a1c2b4d5e failed", "request 8e7d6c5b4a39 failed", true},
		{"KeyError 'user_1'", "KeyError 'user_22'", true},
		{"missing column 'email'", "missing column 'name'", false},
	}
	for _, tc := range tests {
		a, b := MaskMessage(tc.a), MaskMessage(tc.b)
		if (a == b) != tc.same {
			t.Errorf("%q -> %q and %q -> %q: same = %v, want %v", tc.a, a, tc.b, b, a == b, tc.same)
		}
	}
}

// TestMaskMessageLinearTime feeds inputs that make naive matchers rescan the
// same bytes from every position; at a megabyte each, quadratic work would
// take far longer than the limit.
func TestMaskMessageLinearTime(t *testing.T) {
	const size = 1 << 20
	inputs := map[string]string{
		"email local part without @": strings.Repeat("a.", size/2),
		"email without domain dot":   "a@" + strings.Repeat("b-", size/2),
		"many at signs":              strings.Repeat("a@", size/2),
		"digits":                     strings.Repeat("1", size),
		"hex and colons":             strings.Repeat("a:", size/2),
		"colons":                     strings.Repeat(":", size),
		"dotted digits":              strings.Repeat("1.", size/2),
		"quotes":                     strings.Repeat("'1", size/2),
		"dashes":                     strings.Repeat("2026-", size/5),
	}
	for name, in := range inputs {
		start := time.Now()
		MaskMessage(in)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: %v for %d bytes", name, d, len(in))
		}
	}
}

func FuzzMaskMessage(f *testing.F) {
	for _, tc := range maskCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := MaskMessage(s)
		if again := MaskMessage(s); again != got {
			t.Fatalf("not deterministic: %q then %q", got, again)
		}
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("valid UTF-8 %q masked to invalid %q", s, got)
		}
		// Every number is masked: no word of the result starts with a digit.
		for i := 0; i < len(got); i++ {
			if isDigit(got[i]) && (i == 0 || !isWordByte(got[i-1])) {
				t.Fatalf("unmasked number at %d: %q -> %q", i, s, got)
			}
		}
	})
}
