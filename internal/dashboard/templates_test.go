package dashboard

import (
	"runtime"
	"testing"
)

// TestTemplatesParse parses every page and the snippets, which New leaves
// to their first use: a template that does not parse must fail here, not
// as a 500 on the page a user opens.
func TestTemplatesParse(t *testing.T) {
	d := New(Config{})
	for _, name := range pageNames {
		if _, err := d.pages[name](); err != nil {
			t.Errorf("page %s: %v", name, err)
		}
	}
	if _, err := d.snippets(); err != nil {
		t.Errorf("snippets: %v", err)
	}
}

// TestNewDefersTemplates: building the dashboard does not parse its
// templates (about 1.4 MB allocated, 1 MB kept, when it did), so an idle
// server that nobody has opened the dashboard of does not hold them.
func TestNewDefersTemplates(t *testing.T) {
	New(Config{}) // package-level work done once, outside the measurement
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	New(Config{})
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 400<<10 {
		t.Errorf("New allocated %d bytes; parsing the templates eagerly allocates about 1.4 MB", got)
	}
}

// TestBreakable: tag keys and release names may break after their
// punctuation, and stay escaped.
func TestBreakable(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"os", "os"},
		{"browser.name", "browser.<wbr>name"},
		{"memory_limit_in_mb", "memory_<wbr>limit_<wbr>in_<wbr>mb"},
		{"shop@1.2.3+build", "shop@<wbr>1.<wbr>2.<wbr>3+<wbr>build"},
		{"feature/x:y", "feature/<wbr>x:<wbr>y"},
		{"a.<b>", "a.<wbr>&lt;b&gt;"},
		{`<script>.x"'&`, "&lt;script&gt;.<wbr>x&#34;&#39;&amp;"},
		{"ключ.значение", "ключ.<wbr>значение"},
	} {
		if got := string(breakable(tc.in)); got != tc.want {
			t.Errorf("breakable(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
