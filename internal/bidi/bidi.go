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

// leads are the first bytes of the direction controls' UTF-8 (0xD8 and
// 0xE2), taken from the table Control reads.
var leads = func() []byte {
	var b []byte
	add := func(lo, hi, stride uint32) {
		for r := lo; r <= hi; r += stride {
			if lead := utf8.AppendRune(nil, rune(r))[0]; bytes.IndexByte(b, lead) < 0 {
				b = append(b, lead)
			}
		}
	}
	for _, rg := range unicode.Bidi_Control.R16 {
		add(uint32(rg.Lo), uint32(rg.Hi), uint32(rg.Stride))
	}
	for _, rg := range unicode.Bidi_Control.R32 {
		add(rg.Lo, rg.Hi, rg.Stride)
	}
	return b
}()

// containsControl is bytes.ContainsFunc(p, Control) that decodes only the
// runes starting with a lead byte, found with bytes.IndexByte: every page
// the dashboard serves is checked, and decoding every rune of a 450 KB
// page took 7% of its time.
func containsControl(p []byte) bool {
	for _, lead := range leads {
		for q := p; ; {
			i := bytes.IndexByte(q, lead)
			if i < 0 {
				break
			}
			if r, _ := utf8.DecodeRune(q[i:]); Control(r) {
				return true
			}
			q = q[i+1:]
		}
	}
	return false
}

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
	if !containsControl(page) {
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
