package scrub

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The expressions the finders stand for, as the scrubber used them.
var (
	cardRE = regexp.MustCompile(`\b[2-6](?:[ -]?[0-9]){12,18}\b`)
	ipv4RE = regexp.MustCompile(`\b(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\b`)
	ipv6RE = regexp.MustCompile(`[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*`)
)

// findAll collects find's matches the way replace walks them.
func findAll(s string, find finder) [][]int {
	var out [][]int
	for from := 0; from < len(s); {
		i, j := find(s, from)
		if i < 0 {
			break
		}
		out = append(out, []int{i, j})
		from = j
	}
	return out
}

// checkFinders fails when a finder's matches in s differ from its
// expression's.
func checkFinders(t *testing.T, s string) {
	t.Helper()
	for _, f := range []struct {
		name string
		re   *regexp.Regexp
		find finder
	}{{"card", cardRE, findCard}, {"ipv4", ipv4RE, findIPv4}, {"ipv6", ipv6RE, findIPv6}} {
		want := f.re.FindAllStringIndex(s, -1)
		if got := findAll(s, f.find); !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("%s in %q: found %v, the expression %v", f.name, s, got, want)
		}
	}
}

func TestFindersMatchExpressions(t *testing.T) {
	texts := []string{
		"", "4", "charge 4111111111111111 failed", "card 4111 1111 1111 1111.", "4111 1111 1111 1111 1",
		"5500-0000-0000-0004 and 378282246310005", "id 41111111111111111111111", "x4111111111111111",
		"4111111111111111x", "4111111111111111_", "4-1-1-1-1-1-1-1-1-1-1-1-1-1", "4--111111111111111",
		"41111111111111 11111 1", "2222 2222 2222 22222 2222", "é4111111111111111é", "6011000990139424\n",
		"1234567890123", "3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3",
		"from 203.0.113.7:443", "hosts 10.0.0.1,192.168.1.254", "version 1.2.3.4.5 of 2.0.0",
		"bad quad 256.1.1.1", "1.1.1.256", "01.2.3.4", "1.2.3.04", "255.255.255.255", "249.250.199.100",
		"1.2.3.4a", "a1.2.3.4", "1.2.3.", "1..2.3.4", "1.2.3.4.", "1.2.3.45.6", "999.1.1.1 1.1.1.1",
		"Chrome/120.0.0.0", "http://10.0.0.1/health", "\xff1.2.3.4\xff",
		"peer 2001:db8::1. Retry", "[fe80::1ff:fe23:4567:890a]:80", "mapped ::ffff:192.0.2.1",
		"std::string and Foo::Bar", "at 12:30:00 on 2026-12-03T09:38:33.123Z", "::", ":", "a:b", "g::1::2",
		"uuid 9ec79c33-ec99-42ab-8353-589fcb2e04dc", strings.Repeat("1:", 50),
	}
	for _, s := range texts {
		checkFinders(t, s)
	}
}

func FuzzFinders(f *testing.F) {
	for _, s := range []string{"card 4111 1111 1111 1111 from 2001:db8::1", "v1.2.3.4 at 10.0.0.1.", "378282246310005", "255.25.2.0 ::ffff:1.2.3.4"} {
		f.Add(s)
	}
	f.Fuzz(checkFinders)
}

// BenchmarkMaskText masks a breadcrumb-like line with an address in it.
func BenchmarkMaskText(b *testing.B) {
	line := strings.Repeat("GET /api/v1/items?page=2 took 12.5 ms on worker-7 (build 2026.12.03) ", 20) + "from 10.1.2.3"
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		if _, n := maskText(line); n != 1 {
			b.Fatalf("masked %d", n)
		}
	}
}

// FuzzMaskTextGuards holds maskText to the finders run over the whole
// string: the colon and dot counts that let it skip the address finders
// must never skip a string one of them would mask.
func FuzzMaskTextGuards(f *testing.F) {
	for _, s := range []string{"from 2001:db8::1", "::1", "a:b:1", "at 10.0.0.1", "1.2.3", "12:30:45 on 1.2.3.4 and fe80::1%eth0", "4111 1111 1111 1111::1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, gotN := maskText(s)
		want, wantN := s, 0
		if strings.Contains(want, "://") {
			want = replace(want, findURLPassword, Filtered, &wantN, unless(Filtered))
		}
		if strings.Contains(want, "PRIVATE KEY-----") {
			want = replace(want, findPrivateKey, pemMask, &wantN, unless(pemMask))
		}
		if len(want) >= 3 && strings.ContainsAny(want, "0123456789") {
			want = replace(want, findCard, CardMask, &wantN, isCard)
			want = replace(want, findIPv6, IPMask, &wantN, isIPv6)
			want = replace(want, findIPv4, IPMask, &wantN, isIPv4)
		}
		if got != want || gotN != wantN {
			t.Errorf("maskText(%q) = %q, %d; the finders over all of it give %q, %d", s, got, gotN, want, wantN)
		}
	})
}
