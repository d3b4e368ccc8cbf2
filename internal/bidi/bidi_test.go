package bidi

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// every lists all of Bidi_Control, so a change of Unicode's table shows here.
const every = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"

func TestShow(t *testing.T) {
	for _, tc := range []struct{ in, want, html string }{
		{"", "", ""},
		{"plain <b>text</b>", "plain <b>text</b>", "plain <b>text</b>"},
		{"שלום עולם", "שלום עולם", "שלום עולם"},
		{"invoice_\u202egnp.exe", "invoice_<U+202E>gnp.exe", "invoice_&lt;U+202E&gt;gnp.exe"},
		{every,
			"<U+061C><U+200E><U+200F><U+202A><U+202B><U+202C><U+202D><U+202E><U+2066><U+2067><U+2068><U+2069>",
			"&lt;U+061C&gt;&lt;U+200E&gt;&lt;U+200F&gt;&lt;U+202A&gt;&lt;U+202B&gt;&lt;U+202C&gt;&lt;U+202D&gt;" +
				"&lt;U+202E&gt;&lt;U+2066&gt;&lt;U+2067&gt;&lt;U+2068&gt;&lt;U+2069&gt;"},
		{"bad \xff byte \u202e", "bad \uFFFD byte <U+202E>", "bad \xff byte &lt;U+202E&gt;"},
	} {
		if got := Show(tc.in); got != tc.want {
			t.Errorf("Show(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := string(ShowHTML([]byte(tc.in))); got != tc.html {
			t.Errorf("ShowHTML(%q) = %q, want %q", tc.in, got, tc.html)
		}
	}
	// Form values go back to the server as they came.
	const form = "<input name=\"query\" value=\"tk\u202e:v\"><p>tk\u202e</p><textarea name=\"f\">a\u2066b</textarea>\u2066"
	if got, want := string(ShowHTML([]byte(form))), "<input name=\"query\" value=\"tk\u202e:v\"><p>tk&lt;U+202E&gt;</p><textarea name=\"f\">a\u2066b</textarea>&lt;U+2066&gt;"; got != want {
		t.Errorf("ShowHTML(%q) = %q, want %q", form, got, want)
	}
	page := []byte("no controls here")
	if got := ShowHTML(page); &got[0] != &page[0] {
		t.Error("ShowHTML copied a page with nothing to write out")
	}
}

// TestContainsControl holds the lead-byte scan to decoding every rune:
// each code point alone and among others of the same lead bytes ("…",
// Arabic), and broken UTF-8.
func TestContainsControl(t *testing.T) {
	for r := rune(0); r <= utf8.MaxRune; r++ {
		p := utf8.AppendRune([]byte("a…ؠ"), r)
		if got, want := containsControl(p), Control(r); got != want {
			t.Fatalf("containsControl(%q) = %v, want %v", p, got, want)
		}
	}
	for _, p := range []string{"", "\xe2", "\xe2\x80", "\xd8", "\xe2\x80\xae"[:2] + "x", "ok \xff\xe2\x80\xae"} {
		if got, want := containsControl([]byte(p)), bytes.ContainsFunc([]byte(p), Control); got != want {
			t.Errorf("containsControl(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestControl(t *testing.T) {
	n := 0
	for r := rune(0); r <= 0x10ffff; r++ {
		if Control(r) {
			n++
		}
	}
	if n != len([]rune(every)) {
		t.Errorf("Control holds %d code points, want the %d of Bidi_Control", n, len([]rune(every)))
	}
	for _, r := range every {
		if !Control(r) {
			t.Errorf("Control(%U) = false", r)
		}
	}
}

// BenchmarkShowHTML checks a 435 KB page without controls, the size of an
// issue page showing a 1 MB event, with "…" marks among its lines.
func BenchmarkShowHTML(b *testing.B) {
	page := []byte(strings.Repeat("<td class=\"wrap\"><code>value 3 of frame 7 &lt;b&gt;&amp;amp; </code></td>… truncated\n", 5000))
	b.SetBytes(int64(len(page)))
	for b.Loop() {
		ShowHTML(page)
	}
}
