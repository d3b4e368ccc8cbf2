package scrub

import (
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	m := newMatcher(Config{})
	for _, tt := range []struct {
		key  string
		want class
	}{
		{"url", plain},
		{"status_code", plain},
		{"User-Agent", plain},
		{"password", sensitive},
		{"X-Api-Key", sensitive},
		{"csrftoken", sensitive},
		{"ssn", sensitive},
		{"user_ssn", sensitive},
		{"userSSN_hash", sensitive},
		{"cardCvv", sensitive},
		{"Card", sensitive},
		{"classname", plain}, // "ssn" inside a word
		{"discard", plain},   // "card" inside a word
		// Session cookies' names, as plain keys.
		{"sid", sensitive},
		{"connect.sid", sensitive},
		{"userSid", sensitive},
		{"PHPSESSID", sensitive},
		{"JSESSIONID", sensitive},
		{"_gh_sess", sensitive},
		{"express:sess", sensitive},
		{"ASP.NET_SessionId", sensitive},
		{"_vercel_jwt", sensitive},
		{"csrftoken", sensitive},
		{"auth", sensitive},
		{"inside", plain},  // "sid" inside a word
		{"sidebar", plain}, // "sid" starting a word
		{"assess", plain},  // "sess" inside a word
		{"process_id", plain},
		{"processId", plain},
		{"Cookie", cookies},
		{"cookies", cookies},
		{"Set-Cookie", sensitive},
		{"set_cookie", sensitive},
		{"mycookie", sensitive},
		{"", plain},
		{"Ünïcode", plain},
		// Compatibility forms read as the letters they stand for
		// (NFKC): fullwidth, mathematical, ligatures, circled.
		{"ｃｏｏｋｉｅ", cookies},
		{"Ｃｏｏｋｉｅｓ", cookies},
		{"ｐａｓｓｗｏｒｄ", sensitive},
		{"Ｓｅｔ－Ｃｏｏｋｉｅ", sensitive},
		{"ＡＰＩ＿ＫＥＹ", sensitive},
		{"user_ｓｓｎ", sensitive},
		{"ｓｉｄ", sensitive},
		{"𝐭𝐨𝐤𝐞𝐧", sensitive},
		{"ⓐⓤⓣⓗ", sensitive},
		{"ﬁeld", plain},
		{"ｔｈｅｍｅ", plain},
		{"ｉｎｓｉｄｅ", plain},
	} {
		if got := m.classify(tt.key); got != tt.want {
			t.Errorf("classify(%q) = %d, want %d", tt.key, got, tt.want)
		}
	}
}

// TestFoldASCII holds fold's fast path: an ASCII key is returned as it is,
// with no allocation, and a fullwidth one as ASCII.
func TestFoldASCII(t *testing.T) {
	for _, k := range []string{"", "url", "User-Agent", "X-Api-Key", "a b\t~"} {
		if got := fold(k); got != k {
			t.Errorf("fold(%q) = %q", k, got)
		}
	}
	if n := testing.AllocsPerRun(100, func() { fold("Accept-Language") }); n != 0 {
		t.Errorf("fold of an ASCII key allocates %v times", n)
	}
	if got := fold("Ｓｅｔ－Ｃｏｏｋｉｅ"); got != "Set-Cookie" {
		t.Errorf("fold(fullwidth Set-Cookie) = %q", got)
	}
}

// A fullwidth safe or extra field matches as its ASCII form does.
func TestFoldedFields(t *testing.T) {
	m := newMatcher(Config{SafeFields: []string{"ｓｅｓｓｉｏｎ＿ｉｄ"}, ExtraFields: []string{"ｏｒｄｅｒ"}})
	if got := m.classify("session_id"); got != safe {
		t.Errorf("session_id = %d, want safe", got)
	}
	if got := m.classify("order_ref"); got != sensitive {
		t.Errorf("order_ref = %d, want sensitive", got)
	}
}

// FuzzWordsInNormal holds the premise of holdsWord: every word of a key is
// a substring of its normal form, so a normal form without a sensitive
// word needs no split.
func FuzzWordsInNormal(f *testing.F) {
	for _, s := range []string{"userSSN_hash", "X-Api-Key", "ÀbcDÉf", "a1B2", "ǅungla", "İstanbul", "ꞫǈΣσς"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		n := normalize(key)
		for _, w := range words(key) {
			if !strings.Contains(n, w) {
				t.Fatalf("word %q of %q is not in its normal form %q", w, key, n)
			}
		}
	})
}

// BenchmarkClassify classifies the distinct keys of a typical browser
// event with a new matcher, as scrubbing each event does.
func BenchmarkClassify(b *testing.B) {
	keys := []string{"browser", "name", "version", "os", "trace", "trace_id", "span_id", "op", "status",
		"device", "family", "model", "url", "method", "status_code", "User-Agent", "Accept-Language",
		"Referer", "cart_items", "ab_test", "release_channel", "component", "data", "category"}
	b.ReportAllocs()
	for b.Loop() {
		m := newMatcher(Config{})
		for _, k := range keys {
			m.classify(k)
		}
	}
}
