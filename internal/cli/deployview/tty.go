// Package deployview is the terminal side of internal/deploy: the live
// progress view of Terraform runs, the choice between it and plain lines,
// and the flags that name a deployment. The deploy package itself writes
// plain text to an io.Writer and knows no terminal.
package deployview

import (
	"fmt"
	"io"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/colorprofile"

	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
	"github.com/getflytrap/flytrap/internal/deploy"
	"github.com/getflytrap/flytrap/internal/tf"
)

// ProgressFor returns how Terraform runs are shown on w: the live view on
// a terminal, plain lines otherwise. NO_COLOR (any value) drops colors.
func ProgressFor(w io.Writer, getenv func(string) string) func(title string, p *deploy.Progress) deploy.Renderer {
	if !cmdutil.IsTerminal(w) {
		return func(_ string, p *deploy.Progress) deploy.Renderer {
			return &deploy.PlainRenderer{W: w, Progress: p, Indent: "    "}
		}
	}
	noColor := cmdutil.NoColor(getenv)
	return func(title string, p *deploy.Progress) deploy.Renderer {
		return NewTTYRenderer(w, title, p, noColor, time.Now)
	}
}

// TTYRenderer shows a live progress view on a terminal: a bar with done /
// total and elapsed time, and the resources being changed now. Finished
// resources scroll above it as plain lines, so the terminal keeps a log.
type TTYRenderer struct {
	prog *tea.Program
	done chan struct{}
}

// NewTTYRenderer starts the view on w. noColor drops colors (NO_COLOR).
func NewTTYRenderer(w io.Writer, title string, p *deploy.Progress, noColor bool, now func() time.Time) *TTYRenderer {
	opts := []tea.ProgramOption{
		tea.WithOutput(w),
		// No keyboard: Ctrl-C reaches the process as SIGINT and cancels
		// Terraform gracefully through the command's context.
		tea.WithInput(nil),
		tea.WithoutSignalHandler(),
	}
	if noColor {
		opts = append(opts, tea.WithColorProfile(colorprofile.Ascii))
	}
	r := &TTYRenderer{
		prog: tea.NewProgram(newProgressModel(title, p, now), opts...),
		done: make(chan struct{}),
	}
	go func() {
		defer close(r.done)
		_, _ = r.prog.Run()
	}()
	return r
}

// Handle implements deploy.Renderer.
func (r *TTYRenderer) Handle(m tf.Message) { r.prog.Send(streamMsg(m)) }

// Close implements deploy.Renderer: it prints the last lines and stops the view.
func (r *TTYRenderer) Close() {
	r.prog.Send(doneMsg{})
	<-r.done
}

type (
	streamMsg  tf.Message
	doneMsg    struct{}
	tickMsg    time.Time
	printedMsg struct{}
)

// progressModel is the bubbletea model of the live view.
//
// Lines above the view go out one print command at a time: bubbletea runs
// commands concurrently, so a print per message could reorder lines, and a
// print still in flight at tea.Quit would be lost (the summary line last
// of all).
type progressModel struct {
	title   string
	p       *deploy.Progress
	now     func() time.Time
	started time.Time
	// pending lines wait while a print is in flight.
	pending  []string
	printing bool
	// quitting: the stream ended; quit once everything is printed.
	quitting bool
	done     bool
}

func newProgressModel(title string, p *deploy.Progress, now func() time.Time) progressModel {
	if now == nil {
		now = time.Now
	}
	return progressModel{title: title, p: p, now: now, started: now()}
}

func tick() tea.Cmd {
	return tea.Tick(time.Second, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// Init implements tea.Model.
func (m progressModel) Init() tea.Cmd { return tick() }

// Update implements tea.Model.
func (m progressModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case streamMsg:
		lines := m.p.Update(tf.Message(msg))
		// apply_progress lines are for logs; the live view shows the
		// running resources instead.
		if msg.Type == tf.TypeApplyProgress || len(lines) == 0 {
			return m, nil
		}
		m.pending = append(m.pending, lines...)
		return m.flush()
	case printedMsg:
		m.printing = false
		return m.flush()
	case tickMsg:
		if m.done {
			return m, nil
		}
		return m, tick()
	case doneMsg:
		m.quitting = true
		return m.flush()
	}
	return m, nil
}

// flush prints the pending lines unless a print is in flight (its
// printedMsg flushes again), and quits once the stream has ended and
// nothing is left to print.
func (m progressModel) flush() (tea.Model, tea.Cmd) {
	switch {
	case m.printing:
		return m, nil
	case len(m.pending) > 0:
		lines := m.pending
		m.pending, m.printing = nil, true
		return m, tea.Sequence(tea.Println(styleLines(lines)), func() tea.Msg { return printedMsg{} })
	case m.quitting:
		m.done = true
		return m, tea.Quit
	}
	return m, nil
}

var (
	barDone  = lipgloss.NewStyle().Foreground(lipgloss.Color("2"))
	barTodo  = lipgloss.NewStyle().Foreground(lipgloss.Color("8"))
	errStyle = lipgloss.NewStyle().Foreground(lipgloss.Color("1")).Bold(true)
	okStyle  = lipgloss.NewStyle().Foreground(lipgloss.Color("2"))
	dimStyle = lipgloss.NewStyle().Faint(true)
)

func styleLines(lines []string) string {
	out := make([]string, len(lines))
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "Error: ") || strings.Contains(l, " failed after "):
			out[i] = errStyle.Render(l)
		case strings.HasPrefix(l, "Apply complete") || strings.HasPrefix(l, "Destroy complete") || strings.HasPrefix(l, "Plan: "):
			out[i] = okStyle.Render(l)
		default:
			out[i] = l
		}
	}
	return strings.Join(out, "\n")
}

// View implements tea.Model.
func (m progressModel) View() tea.View {
	if m.done {
		return tea.NewView("")
	}
	return tea.NewView(m.render(m.now().Sub(m.started)))
}

// render draws the view for a given elapsed time (separate from View so
// tests need no clock).
func (m progressModel) render(elapsed time.Duration) string {
	const width = 30
	p := m.p
	filled := 0
	if p.Total > 0 {
		filled = min(width, width*(p.Done+p.Failed)/p.Total)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s%s ", m.title, barDone.Render(strings.Repeat("━", filled)), barTodo.Render(strings.Repeat("─", width-filled)))
	if p.Total > 0 {
		fmt.Fprintf(&b, "%d/%d", p.Done+p.Failed, p.Total)
	} else {
		fmt.Fprintf(&b, "%d", p.Done+p.Failed)
	}
	fmt.Fprintf(&b, "  %s", elapsed.Round(time.Second))
	run := p.Running()
	for i, r := range run {
		if i == 3 {
			fmt.Fprintf(&b, "\n  %s", dimStyle.Render(fmt.Sprintf("and %d more", len(run)-3)))
			break
		}
		fmt.Fprintf(&b, "\n  %s %s %s", r.Doing(), r.Addr, dimStyle.Render("("+r.For.Round(time.Second).String()+")"))
	}
	return b.String()
}
