package deploy

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/getflytrap/flytrap/internal/tf"
)

// Progress follows one Terraform plan, apply or destroy from its JSON
// stream: how many resource operations are done of how many, which are
// running, the diagnostics, and the final summary. Times come from the
// messages' timestamps, so replaying a recorded stream renders the same
// lines (golden tests) as the live run did.
type Progress struct {
	// Total is the number of operations expected (from the plan's change
	// summary, or counted planned changes); 0 while unknown.
	Total int
	// Done counts completed operations, Failed errored ones.
	Done, Failed int
	// Planned are the changes a plan announced.
	Planned []tf.Change
	// Summary is the last change_summary seen.
	Summary *tf.ChangeSummary
	// Diagnostics are the warnings and errors, in order.
	Diagnostics []tf.Diagnostic

	start, last time.Time
	running     map[string]running
	// lastNotice limits "still running" lines to one per resource and
	// minute in the plain view.
	lastNotice map[string]time.Duration
	// totalFromSummary keeps a known total from being overwritten by
	// counting planned changes.
	totalFromSummary bool
}

type running struct {
	action  string
	started time.Time
}

// NewProgress returns a tracker expecting total operations (0: unknown,
// learnt from the stream).
func NewProgress(total int) *Progress {
	return &Progress{Total: total, totalFromSummary: total > 0, running: map[string]running{}, lastNotice: map[string]time.Duration{}}
}

// Elapsed is the time between the first and the last message.
func (p *Progress) Elapsed() time.Duration {
	if p.start.IsZero() {
		return 0
	}
	return p.last.Sub(p.start)
}

// Running lists the resources being changed now, longest-running first,
// with how long each has been running.
func (p *Progress) Running() []RunningResource {
	out := make([]RunningResource, 0, len(p.running))
	for addr, r := range p.running {
		out = append(out, RunningResource{Addr: addr, Action: r.action, For: p.last.Sub(r.started)})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].For != out[j].For {
			return out[i].For > out[j].For
		}
		return out[i].Addr < out[j].Addr
	})
	return out
}

// RunningResource is one resource operation in progress.
type RunningResource struct {
	Addr   string
	Action string
	For    time.Duration
}

// Doing is the action in progress, as a view shows it: "creating".
func (r RunningResource) Doing() string { return ing(r.Action) }

// Errors returns the error diagnostics.
func (p *Progress) Errors() []tf.Diagnostic {
	var out []tf.Diagnostic
	for _, d := range p.Diagnostics {
		if d.Severity == "error" {
			out = append(out, d)
		}
	}
	return out
}

// Update records m and returns the lines a plain (non-TTY) view prints for
// it, if any.
func (p *Progress) Update(m tf.Message) []string {
	if !m.Timestamp.IsZero() {
		if p.start.IsZero() {
			p.start = m.Timestamp
		}
		if m.Timestamp.After(p.last) {
			p.last = m.Timestamp
		}
	}
	switch m.Type {
	case tf.TypePlannedChange:
		if m.Change != nil && m.Change.Action != "noop" && m.Change.Action != "read" {
			p.Planned = append(p.Planned, *m.Change)
			if !p.totalFromSummary {
				p.Total += operations(m.Change.Action)
			}
		}
	case tf.TypeChangeSummary:
		if m.Changes == nil {
			return nil
		}
		c := *m.Changes
		p.Summary = &c
		if c.Operation == "plan" {
			p.Total = c.Operations()
			p.totalFromSummary = true
		}
		return []string{p.summaryLine(c)}
	case tf.TypeApplyStart:
		if m.Hook != nil {
			p.running[m.Hook.Resource.Addr] = running{action: m.Hook.Action, started: m.Timestamp}
		}
	case tf.TypeApplyProgress:
		if m.Hook == nil {
			return nil
		}
		// Terraform reports every 10 s; a line a minute is enough for logs.
		addr := m.Hook.Resource.Addr
		el := time.Duration(m.Hook.ElapsedSeconds) * time.Second
		if el/time.Minute > p.lastNotice[addr]/time.Minute {
			p.lastNotice[addr] = el
			return []string{fmt.Sprintf("%s %s: still %s (%s)", p.blankCounter(), addr, ing(m.Hook.Action), el)}
		}
	case tf.TypeApplyComplete, tf.TypeApplyErrored:
		if m.Hook == nil {
			return nil
		}
		addr := m.Hook.Resource.Addr
		delete(p.running, addr)
		delete(p.lastNotice, addr)
		el := time.Duration(m.Hook.ElapsedSeconds) * time.Second
		if m.Type == tf.TypeApplyErrored {
			p.Failed++
			return []string{fmt.Sprintf("%s %s: %s failed after %s", p.counter(p.Done+p.Failed), addr, noun(m.Hook.Action), el)}
		}
		p.Done++
		return []string{fmt.Sprintf("%s %s: %s (%s)", p.counter(p.Done+p.Failed), addr, past(m.Hook.Action), el)}
	case tf.TypeDiagnostic:
		if m.Diagnostic == nil {
			return nil
		}
		p.Diagnostics = append(p.Diagnostics, *m.Diagnostic)
		return diagnosticLines(*m.Diagnostic)
	case "":
		// Not JSON: a crash or a message from an old Terraform.
		if s := strings.TrimSpace(m.Text); s != "" {
			return []string{s}
		}
	}
	return nil
}

func (p *Progress) counter(n int) string {
	if p.Total > 0 {
		w := len(fmt.Sprint(p.Total))
		return fmt.Sprintf("[%*d/%d]", w, n, p.Total)
	}
	return fmt.Sprintf("[%d]", n)
}

func (p *Progress) blankCounter() string { return strings.Repeat(" ", len(p.counter(0))) }

func (p *Progress) summaryLine(c tf.ChangeSummary) string {
	switch c.Operation {
	case "plan":
		return fmt.Sprintf("Plan: %d to add, %d to change, %d to destroy.", c.Add, c.Change, c.Remove)
	case "destroy":
		return fmt.Sprintf("Destroy complete: %d destroyed in %s.", c.Remove, p.Elapsed().Round(time.Second))
	default:
		return fmt.Sprintf("Apply complete: %d added, %d changed, %d destroyed in %s.", c.Add, c.Change, c.Remove, p.Elapsed().Round(time.Second))
	}
}

func diagnosticLines(d tf.Diagnostic) []string {
	head := "Warning: "
	if d.Severity == "error" {
		head = "Error: "
	}
	l := head + d.Summary
	if d.Address != "" {
		l += " (" + d.Address + ")"
	} else if d.Range != nil && d.Range.Filename != "" {
		l += fmt.Sprintf(" (%s line %d)", d.Range.Filename, d.Range.Start.Line)
	}
	lines := []string{l}
	for _, s := range strings.Split(strings.TrimSpace(d.Detail), "\n") {
		if s = strings.TrimRight(s, " "); s != "" {
			lines = append(lines, "  "+s)
		}
	}
	return lines
}

// operations is how many apply hooks a planned action produces.
func operations(action string) int {
	switch action {
	case "replace":
		return 2
	case "create", "update", "delete":
		return 1
	}
	return 0
}

func past(action string) string {
	switch action {
	case "create":
		return "created"
	case "update":
		return "updated"
	case "delete":
		return "destroyed"
	case "read":
		return "read"
	}
	return action + " done"
}

func ing(action string) string {
	switch action {
	case "create":
		return "creating"
	case "update":
		return "updating"
	case "delete":
		return "destroying"
	}
	return action + "ing"
}

func noun(action string) string {
	switch action {
	case "create":
		return "creation"
	case "update":
		return "update"
	case "delete":
		return "destruction"
	}
	return action
}

// Renderer shows a Terraform run as it streams. Handle is called for
// every message in order; Close once the command has returned.
type Renderer interface {
	Handle(tf.Message)
	Close()
}

// PlainRenderer prints one line per event, for logs, CI and pipes.
type PlainRenderer struct {
	W        io.Writer
	Progress *Progress
	// Indent prefixes every line.
	Indent string
}

// Handle implements Renderer.
func (r *PlainRenderer) Handle(m tf.Message) {
	for _, l := range r.Progress.Update(m) {
		fmt.Fprintln(r.W, r.Indent+l)
	}
}

// Close implements Renderer.
func (r *PlainRenderer) Close() {}
