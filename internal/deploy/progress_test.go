package deploy

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/getflytrap/flytrap/internal/tf"
)

// updating reports whether -update was given. teatest's golden package
// defines the flag; this package shares it.
func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if updating() {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func readStream(t *testing.T, name string) []tf.Message {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var msgs []tf.Message
	if err := tf.Decode(f, func(m tf.Message) { msgs = append(msgs, m) }); err != nil {
		t.Fatal(err)
	}
	return msgs
}

// TestPlainRendering renders recorded streams as the non-TTY view does.
func TestPlainRendering(t *testing.T) {
	tests := []struct {
		stream string
		total  int // from the plan, as deploy passes it
		done   int
		failed int
	}{
		{"fixture-plan.jsonl", 0, 0, 0},
		{"fixture-apply.jsonl", 5, 5, 0},
		{"fixture-apply-failed.jsonl", 0, 1, 1},
		{"fixture-destroy.jsonl", 0, 5, 0},
		{"stack-plan.jsonl", 0, 0, 0},
		{"synthetic-stack-apply.jsonl", 74, 74, 0},
		{"synthetic-stack-apply-failed.jsonl", 74, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.stream, func(t *testing.T) {
			var buf bytes.Buffer
			p := NewProgress(tt.total)
			r := &PlainRenderer{W: &buf, Progress: p, Indent: "    "}
			for _, m := range readStream(t, tt.stream) {
				r.Handle(m)
			}
			r.Close()
			if tt.done > 0 && p.Done != tt.done {
				t.Errorf("done = %d, want %d", p.Done, tt.done)
			}
			if p.Failed != tt.failed {
				t.Errorf("failed = %d, want %d", p.Failed, tt.failed)
			}
			golden(t, strings.TrimSuffix(tt.stream, ".jsonl")+".plain.golden", buf.Bytes())
		})
	}
}

func TestProgressCounts(t *testing.T) {
	p := NewProgress(0)
	for _, m := range readStream(t, "stack-plan.jsonl") {
		p.Update(m)
	}
	if p.Total != 74 || len(p.Planned) != 74 || p.Summary == nil || p.Summary.Add != 74 {
		t.Fatalf("plan: total %d, planned %d, summary %+v", p.Total, len(p.Planned), p.Summary)
	}
	groups := GroupChanges(p.Planned)
	var n int
	for _, g := range groups {
		n += g.Count
		if g.Action != "create" {
			t.Errorf("group %+v: only creates expected", g)
		}
	}
	if n != 74 {
		t.Errorf("groups hold %d changes", n)
	}

	// Mid-apply: the database is still running after 5 minutes.
	p = NewProgress(74)
	msgs := readStream(t, "synthetic-stack-apply.jsonl")
	var last tf.Message
	for _, m := range msgs {
		if m.Type == tf.TypeApplyProgress && m.Hook.Resource.Addr == "module.database.aws_db_instance.this" && m.Hook.ElapsedSeconds == 300 {
			last = m
			break
		}
		p.Update(m)
	}
	if last.Type == "" {
		t.Fatal("the synthetic stream has no 300 s progress of the database")
	}
	p.Update(last)
	run := p.Running()
	if len(run) == 0 || run[0].Addr != "module.database.aws_db_instance.this" || run[0].For < 299*time.Second {
		t.Errorf("running = %+v, want the database first at ~300s", run)
	}
	if p.Done == 0 || p.Done >= 74 || p.Elapsed() < 300*time.Second {
		t.Errorf("done %d, elapsed %s", p.Done, p.Elapsed())
	}
	// The live view's frame at that point, without colors.
	m := newProgressModel("Applying", p, func() time.Time { return time.Time{} })
	golden(t, "stack-apply-midway.view.golden", []byte(stripANSI(m.render(5*time.Minute+3*time.Second))+"\n"))
}

// TestTTYView runs the bubbletea model under teatest: finished resources
// are printed above the view, and the final output holds the summary.
func TestTTYView(t *testing.T) {
	p := NewProgress(5)
	m := newProgressModel("Applying", p, time.Now)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 20))
	for _, msg := range readStream(t, "fixture-apply.jsonl") {
		tm.Send(streamMsg(msg))
	}
	tm.Send(doneMsg{})
	out := readAll(t, tm.FinalOutput(t, teatest.WithFinalTimeout(10*time.Second)))
	plain := stripANSI(out)
	for _, want := range []string{"terraform_data.base: created (0s)", "Apply complete: 5 added, 0 changed, 0 destroyed"} {
		if !strings.Contains(plain, want) {
			t.Errorf("TTY output lacks %q:\n%s", want, plain)
		}
	}
	final := tm.FinalModel(t).(progressModel)
	if final.p.Done != 5 || !final.done {
		t.Errorf("final model: done %d, finished %v", final.p.Done, final.done)
	}
	var _ tea.Model = final
}

func readAll(t *testing.T, r interface{ Read([]byte) (int, error) }) string {
	t.Helper()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(r); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// stripANSI removes escape sequences (colors, cursor movement).
func stripANSI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != 0x1b {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && (s[j] < 0x40 || s[j] > 0x7e) {
				j++
			}
			i = j
			continue
		}
		if i+1 < len(s) && s[i+1] == ']' { // OSC, ends with BEL or ST
			j := i + 2
			for j < len(s) && s[j] != 0x07 && !(s[j] == 0x1b && j+1 < len(s) && s[j+1] == '\\') {
				j++
			}
			if j < len(s) && s[j] == 0x1b {
				j++
			}
			i = j
			continue
		}
		i++
	}
	return b.String()
}
