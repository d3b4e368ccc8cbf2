package cmdutil

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/itchyny/gojq"
	"github.com/mattn/go-runewidth"
	"github.com/spf13/cobra"
)

// JSONFlags are the --json and --jq flags of a command that prints data.
type JSONFlags struct {
	JSON bool
	JQ   string
}

// Add registers the flags on cmd.
func (j *JSONFlags) Add(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&j.JSON, "json", false, "print JSON instead of a table")
	cmd.Flags().StringVarP(&j.JQ, "jq", "q", "", "filter the JSON with a jq expression (implies --json)")
}

// Color reports whether output may be colored: Out is a terminal and
// NO_COLOR is not set.
func (f *Factory) Color() bool { return f.IO.OutIsTTY() && !NoColor(f.Getenv) }

// Print writes v as JSON (filtered by --jq) when the flags ask for it, and
// else calls table.
func (f *Factory) Print(j JSONFlags, v any, table func(w io.Writer) error) error {
	if j.JQ != "" {
		return f.outputOnly(printJQ(f.IO.Out, j.JQ, v))
	}
	if j.JSON {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(f.IO.Out, "%s\n", EscapeJSON(b))
		return err
	}
	return table(f.IO.Out)
}

// PrintOnce is Print for v holding secret, a value the server shows only
// this once (a generated password, a new token's secret). A --jq filter
// that leaves it out, such as .email, would lose it for good, so then it
// is written to standard error after label instead.
func (f *Factory) PrintOnce(j JSONFlags, v any, secret, label string, table func(w io.Writer) error) error {
	if j.JQ == "" || secret == "" {
		return f.Print(j, v, table)
	}
	var buf bytes.Buffer
	err := printJQ(&buf, j.JQ, v)
	if _, werr := f.IO.Out.Write(buf.Bytes()); err == nil {
		err = werr
	}
	// Whether or not the filter failed: the secret is not shown again.
	if !bytes.Contains(buf.Bytes(), []byte(secret)) {
		if _, werr := fmt.Fprintf(f.IO.ErrOut, "%s: %s\n", label, secret); err == nil {
			err = werr
		}
	}
	return f.outputOnly(err)
}

// outputOnly words a --jq expression's failure on the answer to a change
// (issues resolve, tokens create) as what it is: the change stands and
// only its output failed, exit code ExitOutput, so that a script neither
// takes it for a refusal nor repeats the change. Any other error, and a
// filter's failure where nothing was changed, are err.
func (f *Factory) outputOnly(err error) error {
	var re *JQRunError
	if !errors.As(err, &re) || !f.changed.Load() {
		return err
	}
	return &Error{Msg: "the change was made, but printing the server's answer failed: " + re.Error(), Code: ExitOutput,
		Hint: "do not repeat the command: fix the --jq expression (--json shows the answer), and read the change back with the matching list or view command"}
}

// JQRunError is a --jq expression that failed on the value it ran on,
// such as .[0] on an object.
type JQRunError struct{ Err error }

func (e *JQRunError) Error() string { return "--jq: " + e.Err.Error() }

func (e *JQRunError) Unwrap() error { return e.Err }

// printJQ runs the jq expression expr on v's JSON: strings print raw, as
// gh and jq -r do, everything else as compact JSON, one result a line.
func printJQ(w io.Writer, expr string, v any) error {
	q, err := CompileJQ(expr)
	if err != nil {
		return err
	}
	return q.Print(w, v)
}

// JQ is a --jq expression, compiled once for a command that prints value
// after value (tail), so a mistake in it is a usage error before anything
// is fetched.
type JQ struct{ code *gojq.Code }

// CompileJQ parses and compiles the --jq expression expr.
func CompileJQ(expr string) (*JQ, error) {
	q, err := gojq.Parse(expr)
	if err != nil {
		return nil, UsageError("--jq: "+err.Error(), "see https://jqlang.org/manual/ for the syntax")
	}
	code, err := gojq.Compile(q)
	if err != nil {
		return nil, UsageError("--jq: "+err.Error(), "")
	}
	return &JQ{code: code}, nil
}

// Print runs the expression on v's JSON and writes its results: strings
// raw, as gh and jq -r do, everything else as compact JSON, one result a
// line.
func (q *JQ) Print(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var in any
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	iter := q.code.Run(in)
	for {
		r, ok := iter.Next()
		if !ok {
			return nil
		}
		if err, ok := r.(error); ok {
			return &JQRunError{Err: err}
		}
		if s, ok := r.(string); ok {
			if _, err := fmt.Fprintln(w, s); err != nil {
				return err
			}
			continue
		}
		out, err := gojq.Marshal(r)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintln(w, string(EscapeJSON(out))); err != nil {
			return err
		}
	}
}

// Clip is s through Clean, shortened to n columns of a terminal, ending
// in …: a CJK character or an emoji takes two. Cleaned first, each control
// character counts as the space it prints as, and a bidi control as its
// <U+202E>.
func Clip(s string, n int) string {
	return runewidth.Truncate(Clean(s), n, "…")
}

// Table prints rows: on a terminal aligned under a header, elsewhere one
// tab-separated line a row without the header, for cut and awk.
type Table struct {
	tty    bool
	color  bool
	width  int
	flex   []int
	header []string
	rows   [][]string
}

// NewTable starts a table with the column names header.
func (f *Factory) NewTable(header ...string) *Table {
	t := &Table{tty: f.IO.OutIsTTY(), color: f.Color(), header: header}
	if t.tty {
		t.width = f.TermWidth()
	}
	return t
}

// Flex names the columns (by index) of free text, such as titles and
// culprits, that are narrowed, the widest first, when a row would be
// wider than the terminal: a wider row wrapped onto the next line and
// the columns no longer lined up. IDs, counts, statuses and versions are
// never cut.
func (t *Table) Flex(columns ...int) { t.flex = append(t.flex, columns...) }

// minClip is the narrowest a flexible column is cut to: a title cut to
// less says too little, and a row may then wrap.
const minClip = 8

// fit narrows the flexible columns, one column at a time, the widest
// first, until a line takes at most t.width columns or each is minClip
// or its header wide.
func (t *Table) fit(widths []int) {
	if t.width <= 0 || len(t.flex) == 0 {
		return
	}
	total := 2 * (len(widths) - 1)
	for _, w := range widths {
		total += w
	}
	for ; total > t.width; total-- {
		widest := -1
		for _, i := range t.flex {
			if i < len(widths) && widths[i] > max(minClip, runewidth.StringWidth(t.header[i])) && (widest < 0 || widths[i] > widths[widest]) {
				widest = i
			}
		}
		if widest < 0 {
			return
		}
		widths[widest]--
	}
}

// Row adds a row; each cell goes through Clean, as titles come from SDKs
// and a tab or line break would break the layout besides.
func (t *Table) Row(cells ...string) {
	clean := make([]string, len(cells))
	for i, c := range cells {
		clean[i] = Clean(c)
	}
	t.rows = append(t.rows, clean)
}

// Render writes the table to w.
func (t *Table) Render(w io.Writer) error {
	if !t.tty {
		for _, r := range t.rows {
			if _, err := fmt.Fprintln(w, strings.Join(r, "\t")); err != nil {
				return err
			}
		}
		return nil
	}
	header := make([]string, len(t.header))
	for i, h := range t.header {
		header[i] = strings.ToUpper(h)
	}
	lines := append([][]string{header}, t.rows...)
	// Columns are as wide as their widest cell as a terminal shows it (a
	// CJK character or an emoji takes two columns), where text/tabwriter
	// counts runes and pushed the next columns right.
	var widths []int
	for _, l := range lines {
		for i, c := range l {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], runewidth.StringWidth(c))
		}
	}
	t.fit(widths)
	var buf strings.Builder
	for _, l := range lines {
		for i, c := range l {
			if runewidth.StringWidth(c) > widths[i] {
				c = runewidth.Truncate(c, widths[i], "…")
			}
			buf.WriteString(c)
			if i < len(l)-1 {
				buf.WriteString(strings.Repeat(" ", widths[i]-runewidth.StringWidth(c)+2))
			}
		}
		buf.WriteByte('\n')
	}
	out := buf.String()
	if t.color {
		// Bold is added after alignment, which would count the escapes
		// as width.
		header, rest, _ := strings.Cut(out, "\n")
		out = "\x1b[1m" + strings.TrimRight(header, " ") + "\x1b[0m\n" + rest
	}
	_, err := io.WriteString(w, out)
	return err
}

// Confirm asks question unless yes is set. Without a terminal to ask on
// it refuses, naming the flag, rather than take silence for consent. The
// question goes through Clean: callers build it from names and titles the
// server sent.
func (f *Factory) Confirm(ctx context.Context, yes bool, question string) error {
	if yes {
		return nil
	}
	question = Clean(question)
	if !f.IO.Interactive() {
		return UsageError("refusing to "+question+" without confirmation", "pass --yes to confirm without a terminal")
	}
	lr := &LineReader{In: f.IO.In, Out: f.IO.ErrOut, Flag: "--yes"}
	ok, err := lr.YesNo(ctx, strings.ToUpper(question[:1])+question[1:]+"?")
	if err != nil {
		return err
	}
	if !ok {
		return &Error{Msg: "cancelled", Code: ExitError}
	}
	return nil
}
