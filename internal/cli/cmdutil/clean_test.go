package cmdutil

import "testing"

func TestClean(t *testing.T) {
	for _, tt := range []struct{ name, in, want string }{
		{"plain", "TypeError: x is undefined", "TypeError: x is undefined"},
		{"non-ASCII kept", "Zahlung fehlgeschlagen: ü, 日本, emoji 🪰", "Zahlung fehlgeschlagen: ü, 日本, emoji 🪰"},
		{"tab and line breaks", "a\tb\nc\r\nd", "a b c  d"},
		{"line and paragraph separators", "a\u2028b\u2029c", "a b c"},
		{"SGR color", "\x1b[31mred\x1b[0m", " [31mred [0m"},
		{"clear screen", "x\x1b[2Jy", "x [2Jy"},
		{"OSC window title", "\x1b]0;pwned\x07title", " ]0;pwned title"},
		{"OSC 8 hyperlink", "\x1b]8;;https://evil.test\x1b\\click\x1b]8;;\x1b\\", " ]8;;https://evil.test \\click ]8;; \\"},
		{"DEL", "a\x7fb", "a b"},
		{"C1 CSI", "a\u009b31mb", "a 31mb"},
		{"C1 NEL and OSC", "a\u0085b\u009d0;x\u009c", "a b 0;x "},
		{"raw 8-bit CSI byte", "a\x9b31mb", "a\uFFFD31mb"},
		{"right-to-left override", "bidi\u202eevil@qa.test", "bidi<U+202E>evil@qa.test"},
		{"isolates", "\u2066a\u2067b\u2068c\u2069", "<U+2066>a<U+2067>b<U+2068>c<U+2069>"},
		{"embeddings and marks", "\u202a\u202b\u202c\u202d\u200e\u200f\u061c", "<U+202A><U+202B><U+202C><U+202D><U+200E><U+200F><U+061C>"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Clean(tt.in); got != tt.want {
				t.Errorf("Clean(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestShellArg(t *testing.T) {
	for in, want := range map[string]string{
		"web":                     "web",
		"shop-2.eu":               "shop-2.eu",
		"":                        "''",
		"my shop":                 "'my shop'",
		"x; touch /tmp/pwned #":   "'x; touch /tmp/pwned #'",
		"it's":                    `'it'\''s'`,
		"$(id)":                   "'$(id)'",
		"`id`":                    "'`id`'",
		"Ünïcode":                 "'Ünïcode'",
		"a\nb":                    "'a\nb'",
		"--project=x && rm -rf ~": "-- '--project=x && rm -rf ~'",
		"--host=http://evil":      "-- --host=http://evil",
		"a-b":                     "a-b",
	} {
		if got := ShellArg(in); got != want {
			t.Errorf("ShellArg(%q) = %s, want %s", in, got, want)
		}
	}
}
