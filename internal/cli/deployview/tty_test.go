package deployview

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

	"github.com/getflytrap/flytrap/internal/deploy"
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

// readStream reads a recorded Terraform stream from internal/deploy's
// test data, which describes how each was made.
func readStream(t *testing.T, name string) []tf.Message {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "deploy", "testdata", name))
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

// TestMidwayFrame draws the live view of the whole stack's apply at the
// point where the database has been creating for five minutes.
func TestMidwayFrame(t *testing.T) {
	p := deploy.NewProgress(74)
	found := false
	for _, m := range readStream(t, "synthetic-stack-apply.jsonl") {
		if m.Type == tf.TypeApplyProgress && m.Hook.Resource.Addr == "module.database.aws_db_instance.this" && m.Hook.ElapsedSeconds == 300 {
			p.Update(m)
			found = true
			break
		}
		p.Update(m)
	}
	if !found {
		t.Fatal("the synthetic stream has no 300 s progress of the database")
	}
	m := newProgressModel("Applying", p, func() time.Time { return time.Time{} })
	golden(t, "stack-apply-midway.view.golden", []byte(stripANSI(m.render(5*time.Minute+3*time.Second))+"\n"))
}

// TestTTYView runs the bubbletea model under teatest: finished resources
// are printed above the view, and the final output holds the summary.
func TestTTYView(t *testing.T) {
	p := deploy.NewProgress(5)
	m := newProgressModel("Applying", p, time.Now)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 20))
	for _, msg := range readStream(t, "fixture-apply.jsonl") {
		tm.Send(streamMsg(msg))
	}
	tm.Send(doneMsg{})
	out := readAll(t, tm.FinalOutput(t, teatest.WithFinalTimeout(10*time.Second)))
	plain := stripANSI(out)
	// Every line, in the stream's order, the summary last: prints must
	// neither overtake each other nor be cut off by the quit.
	at := -1
	for _, want := range []string{"[1/5] terraform_data.base: created (0s)", "[2/5]", "[3/5]", "[4/5]", "[5/5]", "Apply complete: 5 added, 0 changed, 0 destroyed"} {
		i := strings.Index(plain, want)
		if i <= at {
			t.Errorf("TTY output lacks %q after the lines before it:\n%s", want, plain)
		}
		at = max(at, i)
	}
	final := tm.FinalModel(t).(progressModel)
	if final.p.Done != 5 || !final.done {
		t.Errorf("final model: done %d, finished %v", final.p.Done, final.done)
	}
	var _ tea.Model = final
}

// TestProgressForPipe: output that is not a terminal gets plain lines,
// whatever the color settings.
func TestProgressForPipe(t *testing.T) {
	for _, env := range []map[string]string{nil, {"NO_COLOR": "1"}} {
		var buf bytes.Buffer
		r := ProgressFor(&buf, func(k string) string { return env[k] })("Applying", deploy.NewProgress(5))
		if _, ok := r.(*deploy.PlainRenderer); !ok {
			t.Errorf("env %v: renderer %T, want *deploy.PlainRenderer", env, r)
		}
	}
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
