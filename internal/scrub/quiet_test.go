package scrub

import (
	"bytes"
	"maps"
	"strings"
	"testing"
)

// quietCases are JSON values raw is given, each with whether quiet may keep
// it without building its tree.
var quietCases = []struct {
	name  string
	in    string
	quiet bool
}{
	{"plain object", `{"order_id":12,"note":"retry after decline","rows":[{"id":1,"ok":true,"x":null}]}`, true},
	{"plain list", `["token","x",1.50,false]`, true},
	{"sensitive key", `{"password":"hunter2"}`, false},
	{"sensitive key, nested object", `{"a":{"api_key":{"v":1}}}`, false},
	{"sensitive key, null", `{"password":null}`, true},
	{"sensitive key, empty", `{"password":""}`, true},
	{"sensitive key, filtered", `{"password":"[Filtered]"}`, true},
	{"sensitive key, number", `{"secret":7}`, false},
	{"cookie jar", `{"cookies":"sid=1"}`, false},
	{"cookie jar, null", `{"cookie":null}`, true},
	{"pair list", `[["Accept","*/*"],["Authorization","Bearer x"]]`, false},
	{"pair list, null value", `[["Authorization",null]]`, true},
	{"pair list, filtered value", `{"h":[["token","[Filtered]"],["a","b"]]}`, true},
	{"pair list, cookie name", `[["cookie","a=1"]]`, false},
	{"pair list, number name", `[[4111111111111111,"x"]]`, false},
	{"card in text", `{"note":"paid with 4111 1111 1111 1111"}`, false},
	{"card as number", `{"n":4111111111111111}`, false},
	{"address in text", `["from 10.0.0.1"]`, false},
	{"URL query", `{"u":"https://h/p?token=abc&page=2"}`, false},
	{"URL password", `{"u":"postgres://app:pw@db/shop"}`, false},
	{"form body", `"a=1&session=2"`, false},
	{"embedded JSON", `{"body":"{\"secret\":\"x\"}"}`, false},
	{"embedded JSON, plain", `{"body":" {\"a\":[1,2]} "}`, true},
	{"repeated name, first kept", `{"a":"4111111111111111","a":"x"}`, false},
	{"repeated name, last kept", `{"a":"x","a":"4111111111111111"}`, false},
	{"deep", strings.Repeat(`[`, maxDepth+1) + strings.Repeat(`]`, maxDepth+1), false},
	{"deep, at the cap", strings.Repeat(`[`, maxDepth) + `"x"` + strings.Repeat(`]`, maxDepth), true},
	{"escaped names", `{"pass\u0077ord":"x"}`, false},
	{"escaped card", `["\u0034111 1111 1111 1111"]`, false},
	{"escaped words", `{"a":"tab\tand \"quotes\""}`, true},
	{"pair list, number name", `[[1.5,"x"],[2,null]]`, true},
	{"invalid UTF-8", "{\"a\":\"\xff\"}", true},
	{"not JSON", `not json ::1`, false},
	{"trailing data", `{"a":1} {"b":2}`, false},
	{"cut short", `{"a":[1,`, false},
}

// TestQuiet checks which values quiet keeps, and that raw returns what
// scrubbing their tree returns, with the same counts.
func TestQuiet(t *testing.T) {
	for _, tt := range quietCases {
		t.Run(tt.name, func(t *testing.T) {
			s := &scrubber{m: newMatcher(on), counts: map[string]int{LocExtra: 2}, loc: LocExtra}
			if got := s.quiet([]byte(tt.in)); got != tt.quiet {
				t.Errorf("quiet = %v, want %v", got, tt.quiet)
			}
			if s.counts[LocExtra] != 2 || len(s.counts) != 1 {
				t.Errorf("counts after quiet = %v, want them as they were", s.counts)
			}
			checkRawMatchesTree(t, on, []byte(tt.in))
		})
	}
}

// checkRawMatchesTree fails t unless raw returns the bytes and counts that
// scrubbing data's tree does under c, and unless a value quiet keeps is
// one the tree would keep as it is.
func checkRawMatchesTree(t *testing.T, c Config, data []byte) {
	t.Helper()
	fast := &scrubber{m: newMatcher(c), counts: map[string]int{}, loc: LocExtra}
	tree := &scrubber{m: newMatcher(c), counts: map[string]int{}, loc: LocExtra}
	got, want := fast.raw(data), tree.rawTree(data)
	if !bytes.Equal(got, want) || !maps.Equal(fast.counts, tree.counts) {
		t.Fatalf("raw(%q) = %q %v, its tree scrubs to %q %v", data, got, fast.counts, want, tree.counts)
	}
	q := &scrubber{m: newMatcher(c), counts: map[string]int{}, loc: LocExtra}
	quiet := q.quiet(data)
	if quiet && (!bytes.Equal(want, data) || len(tree.counts) != 0) {
		t.Fatalf("quiet kept %q, which its tree scrubs to %q %v", data, want, tree.counts)
	}
	if len(data) > 0 && fast.loud == quiet {
		t.Fatalf("raw(%q) left loud %v where quiet is %v: the event's next values go to the tree only after one quiet could not keep", data, fast.loud, quiet)
	}
}

// FuzzQuietMatchesTree holds raw's token read (quiet) to scrubbing the tree,
// with a project's extra and safe fields.
func FuzzQuietMatchesTree(f *testing.F) {
	for _, tt := range quietCases {
		f.Add([]byte(tt.in), "", "")
	}
	f.Add([]byte(`{"theme":"x","order":[["theme","4111111111111111"]]}`), "order", "theme")
	f.Add([]byte(`[["sku",null],["sku","a"]]`), "sku", "")
	f.Fuzz(func(t *testing.T, data []byte, extra, safe string) {
		c := Config{Enabled: true}
		if extra != "" {
			c.ExtraFields = []string{extra}
		}
		if safe != "" {
			c.SafeFields = []string{safe}
		}
		checkRawMatchesTree(t, c, data)
	})
}

// FuzzMayScrub holds mayScrub to embedded: text it lets quiet keep unread
// is text embedded keeps, counting nothing.
func FuzzMayScrub(f *testing.F) {
	for _, s := range []string{"started invoice query", "4111 1111 1111 1111", "a=1", "{}", " [1]", "x?y", "#a",
		"u://p:w@h", "-----BEGIN RSA PRIVATE KEY-----", "2001:db8::1", "10.0.0.1", "ｆｏｒｍ＝1", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if mayScrub([]byte(text)) {
			return
		}
		s := &scrubber{m: newMatcher(on), counts: map[string]int{}, loc: LocExtra}
		if out := s.embedded(text, 0); out != text || len(s.counts) != 0 {
			t.Fatalf("embedded(%q) = %q %v, but mayScrub is false", text, out, s.counts)
		}
	})
}
