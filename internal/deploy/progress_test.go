package deploy

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/testutil/golden"
	"github.com/getflytrap/flytrap/internal/tf"
)

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
			golden.Check(t, strings.TrimSuffix(tt.stream, ".jsonl")+".plain.golden", buf.Bytes())
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
}
