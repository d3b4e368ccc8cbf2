package tf

import (
	"bufio"
	"encoding/json"
	"io"
	"time"
)

// Message types of Terraform's machine-readable UI
// (https://developer.hashicorp.com/terraform/internals/machine-readable-ui)
// that the progress views use. terraform-json decodes init and log
// messages but not these, so the few fields needed are declared here.
const (
	TypeVersion        = "version"
	TypeDiagnostic     = "diagnostic"
	TypePlannedChange  = "planned_change"
	TypeChangeSummary  = "change_summary"
	TypeApplyStart     = "apply_start"
	TypeApplyProgress  = "apply_progress"
	TypeApplyComplete  = "apply_complete"
	TypeApplyErrored   = "apply_errored"
	TypeRefreshStart   = "refresh_start"
	TypeRefreshDone    = "refresh_complete"
	TypeResourceDrift  = "resource_drift"
	TypeOutputs        = "outputs"
	TypeProvisionStart = "provision_start"
)

// Message is one line of the stream.
type Message struct {
	Level     string    `json:"@level"`
	Text      string    `json:"@message"`
	Timestamp time.Time `json:"@timestamp"`
	Type      string    `json:"type"`

	Hook       *Hook          `json:"hook,omitempty"`
	Change     *Change        `json:"change,omitempty"`
	Changes    *ChangeSummary `json:"changes,omitempty"`
	Diagnostic *Diagnostic    `json:"diagnostic,omitempty"`
}

// Resource identifies a resource instance.
type Resource struct {
	Addr         string `json:"addr"`
	Module       string `json:"module"`
	ResourceType string `json:"resource_type"`
	ResourceName string `json:"resource_name"`
}

// Hook is the payload of apply_* and refresh_* messages.
type Hook struct {
	Resource       Resource `json:"resource"`
	Action         string   `json:"action"`
	IDKey          string   `json:"id_key,omitempty"`
	IDValue        string   `json:"id_value,omitempty"`
	ElapsedSeconds float64  `json:"elapsed_seconds,omitempty"`
}

// Change is the payload of planned_change and resource_drift messages.
type Change struct {
	Resource Resource `json:"resource"`
	// Action: create, read, update, delete, replace, move, remove, import,
	// noop.
	Action string `json:"action"`
	Reason string `json:"reason,omitempty"`
}

// ChangeSummary is the payload of change_summary: counts for a plan
// (Operation "plan") or what an apply did ("apply", "destroy").
type ChangeSummary struct {
	Add       int    `json:"add"`
	Change    int    `json:"change"`
	Import    int    `json:"import"`
	Remove    int    `json:"remove"`
	Operation string `json:"operation"`
}

// Operations is the number of resource operations an apply of this plan
// runs (a replacement counts as a remove and an add).
func (c ChangeSummary) Operations() int { return c.Add + c.Change + c.Remove }

// Diagnostic is a warning or error.
type Diagnostic struct {
	Severity string `json:"severity"`
	Summary  string `json:"summary"`
	Detail   string `json:"detail"`
	Address  string `json:"address,omitempty"`
	Range    *struct {
		Filename string `json:"filename"`
		Start    struct {
			Line int `json:"line"`
		} `json:"start"`
	} `json:"range,omitempty"`
}

// Decode reads r line by line and calls fn for every message. Lines that
// are not JSON (a crash message, output of an old Terraform) become a
// message of Type "" with the line as Text, so nothing is lost.
func Decode(r io.Reader, fn func(Message)) error {
	sc := bufio.NewScanner(r)
	// Diagnostics can carry long details (a policy document, a plan diff).
	sc.Buffer(make([]byte, 0, 64<<10), 8<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			continue
		}
		var m Message
		if err := json.Unmarshal(line, &m); err != nil {
			fn(Message{Text: string(line)})
			continue
		}
		fn(m)
	}
	return sc.Err()
}

// StreamWriter returns a writer to hand to Runner.Plan/Apply/Destroy; every
// complete line written to it is decoded and passed to fn in order. Close
// it after the command returns to flush a last unterminated line and wait
// for fn to finish.
func StreamWriter(fn func(Message)) io.WriteCloser {
	pr, pw := io.Pipe()
	s := &stream{pw: pw, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		// Decode returns on the pipe's close; a read error cannot happen
		// otherwise. Drain so a writer is never blocked.
		_ = Decode(pr, fn)
		_, _ = io.Copy(io.Discard, pr)
	}()
	return s
}

type stream struct {
	pw   *io.PipeWriter
	done chan struct{}
}

func (s *stream) Write(p []byte) (int, error) { return s.pw.Write(p) }

func (s *stream) Close() error {
	err := s.pw.Close()
	<-s.done
	return err
}
