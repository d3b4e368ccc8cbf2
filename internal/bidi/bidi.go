// Package bidi makes Unicode's direction controls visible in text that
// people read. An SDK, or another user, can put U+202E RIGHT-TO-LEFT
// OVERRIDE in a title, tag, file name or address and have it read as
// something else: "invoice_\u202egnp.exe" shows as "invoice_exe.png", and
// "Mallory \u202emoc.rekcatta@..." as an attacker's address. The dashboard,
// alert e-mail and Slack messages, and the CLI therefore write every
// control out as "<U+202E>", the way editors flag Trojan Source.
package bidi

import (
	"bytes"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Control reports whether r is a direction control: Unicode's Bidi_Control
// set (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069).
func Control(r rune) bool { return unicode.Is(unicode.Bidi_Control, r) }

// Show returns s with each direction control written as "<U+202E>"; s
// itself when it holds none.
func Show(s string) string {
	if !strings.ContainsFunc(s, Control) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for _, r := range s {
		if Control(r) {
			fmt.Fprintf(&b, "<U+%04X>", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ShowHTML returns an HTML document with each direction control written as
// "&lt;U+202E&gt;": escaped, so it reads the same in text and in attribute
// values, and is inert text inside a script. It returns page itself when it
// holds none, and leaves every other byte as it is, invalid UTF-8 included.
//
// Form values are left as they are: a value="…" attribute (html/template
// quotes every attribute with ") and a <textarea>'s text are what the form
// sends back, and written out, a search for a tag holding U+202E, sent
// again, would search for the text "<U+202E>" and find nothing.
func ShowHTML(page []byte) []byte {
	if !bytes.ContainsFunc(page, Control) {
		return page
	}
	out := make([]byte, 0, len(page)+64)
	for len(page) > 0 {
		if n := formValue(page); n > 0 {
			out = append(out, page[:n]...)
			page = page[n:]
			continue
		}
		r, n := utf8.DecodeRune(page)
		if Control(r) {
			out = fmt.Appendf(out, "&lt;U+%04X&gt;", r)
		} else {
			out = append(out, page[:n]...)
		}
		page = page[n:]
	}
	return out
}

var (
	valueAttr   = []byte(` value="`)
	textareaTag = []byte(`<textarea`)
	textareaEnd = []byte(`</textarea>`)
)

// formValue returns the length of the form value page starts with, a
// value attribute or a textarea up to its end tag, or 0.
func formValue(page []byte) int {
	var start, end []byte
	switch {
	case bytes.HasPrefix(page, valueAttr):
		start, end = valueAttr, []byte(`"`)
	case bytes.HasPrefix(page, textareaTag):
		start, end = textareaTag, textareaEnd
	default:
		return 0
	}
	i := bytes.Index(page[len(start):], end)
	if i < 0 {
		return 0
	}
	return len(start) + i + len(end)
}
