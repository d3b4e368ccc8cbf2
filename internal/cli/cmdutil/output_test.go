package cmdutil

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mattn/go-runewidth"
)

// The tests' widths are those of a terminal outside a CJK locale, where
// runewidth would read … and other ambiguous characters as two columns.
func init() { runewidth.DefaultCondition.EastAsianWidth = false }

// TestTableDisplayWidth: on a terminal each column starts at the same
// column of the screen whatever the cells before it hold, CJK characters
// and emoji (two columns each) included.
func TestTableDisplayWidth(t *testing.T) {
	f := &Factory{IO: &IOStreams{TTY: true}, Getenv: func(string) string { return "1" }} // NO_COLOR
	rows := [][]string{
		{"ID", "TITLE", "CULPRIT", "EVENTS"},
		{"1", "TypeError: x", "app.js", "3"},
		{"2", "決済エラー 💳🔥", "支払い.js", "12"},
		{"3", Clip("注文の保存に失敗しました", 9), "a", "1"},
	}
	tb := f.NewTable(rows[0]...)
	for _, r := range rows[1:] {
		tb.Row(r...)
	}
	var buf bytes.Buffer
	if err := tb.Render(&buf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	for col := 1; col < 4; col++ {
		at := func(row int) int {
			l := lines[row]
			return runewidth.StringWidth(l[:strings.LastIndex(l, rows[row][col])])
		}
		for row := 1; row < len(rows); row++ {
			if got, want := at(row), at(0); got != want {
				t.Errorf("row %d: column %d starts at %d, want %d:\n%s", row, col, got, want, buf.String())
			}
		}
	}
}

func TestClip(t *testing.T) {
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"eleven char", 10, "eleven ch…"},
		{"決済エラー", 10, "決済エラー"},
		{"決済エラーです", 10, "決済エラ…"},
		{"💳💳💳💳💳💳", 7, "💳💳💳…"},
		// Controls print as spaces and count as one column each.
		{"a\x1b[2Jb", 6, "a [2Jb"},
	} {
		if got := Clip(tt.in, tt.n); got != tt.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

// TestTableFitsTerminal: on a terminal narrower than a table, the free-text
// columns (Flex) are cut, the widest first, so that no line wraps; IDs and
// statuses are never cut, a column no narrower than minClip or its header,
// and COLUMNS names the width. Without a known width nothing is cut.
func TestTableFitsTerminal(t *testing.T) {
	render := func(width int, columns string) []string {
		t.Helper()
		f := &Factory{IO: &IOStreams{TTY: true, Width: width}, Getenv: func(k string) string {
			return map[string]string{"NO_COLOR": "1", "COLUMNS": columns}[k]
		}}
		tb := f.NewTable("id", "status", "title", "culprit", "events")
		tb.Flex(2, 3)
		tb.Row("12", "unresolved", "TypeError: Cannot read properties of undefined (reading 'foo')", "app.js in checkoutHandler", "1204")
		tb.Row("7", "resolved", "決済エラー 💳🔥 payment declined", "pay.js", "3")
		var buf bytes.Buffer
		if err := tb.Render(&buf); err != nil {
			t.Fatal(err)
		}
		return strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	}
	for _, width := range []int{60, 80} {
		lines := render(width, "")
		for _, l := range lines {
			if w := runewidth.StringWidth(l); w > width {
				t.Errorf("width %d: line of %d columns: %q", width, w, l)
			}
		}
		if !strings.HasPrefix(lines[1], "12  unresolved  TypeError") || !strings.Contains(lines[1], "…") || !strings.HasSuffix(lines[1], "  1204") {
			t.Errorf("width %d: %q, want the ID, status and count whole and the title cut", width, lines[1])
		}
	}
	// Too narrow for even the narrowest cut: the flexible columns stop at
	// minClip rather than vanish.
	if l := render(20, "")[1]; !strings.Contains(l, "TypeErr…") {
		t.Errorf("width 20: %q, want the title cut to %d columns", l, minClip)
	}
	if got := render(0, "60"); runewidth.StringWidth(got[1]) > 60 {
		t.Errorf("COLUMNS=60: %q", got[1])
	}
	if got := render(0, ""); !strings.Contains(got[1], "(reading 'foo')  app.js in checkoutHandler") {
		t.Errorf("unknown width: %q, want nothing cut", got[1])
	}
}
