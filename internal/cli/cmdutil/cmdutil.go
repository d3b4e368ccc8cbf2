// Package cmdutil holds what every command shares: IO streams and their
// terminal checks, prompts, the environment, and the one mapping from
// errors (this package's and the layers' below) to hints and exit codes.
package cmdutil

import (
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/charmbracelet/x/term"

	"github.com/getflytrap/flytrap/internal/deploy"
)

// IOStreams are the streams a command reads and writes; tests substitute
// buffers so no command needs a terminal.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// TTY makes tests see Out as a terminal (tables with headers,
	// colors unless NO_COLOR).
	TTY bool
	// Width, when not 0, is the terminal's width in columns for tests;
	// else it is asked of Out.
	Width int
}

// TermWidth is the width of the terminal Out is, in columns: COLUMNS
// when set (as shells export it and a user may), else the terminal's own;
// 0 when unknown.
func (f *Factory) TermWidth() int {
	if f.IO.Width > 0 {
		return f.IO.Width
	}
	if n, err := strconv.Atoi(f.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	if fd, ok := fdOf(f.IO.Out); ok {
		if w, _, err := term.GetSize(fd); err == nil {
			return w
		}
	}
	return 0
}

// System returns the process's standard streams.
func System() *IOStreams {
	return &IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
}

// IsTerminal reports whether stream (a reader or writer) is a terminal.
func IsTerminal(stream any) bool {
	f, ok := stream.(*os.File)
	return ok && term.IsTerminal(f.Fd())
}

// fdOf is the file descriptor of a terminal stream.
func fdOf(stream any) (uintptr, bool) {
	f, ok := stream.(*os.File)
	if !ok || !term.IsTerminal(f.Fd()) {
		return 0, false
	}
	return f.Fd(), true
}

// OutIsTTY reports whether Out is a terminal (or a test says so).
func (s *IOStreams) OutIsTTY() bool { return s.TTY || IsTerminal(s.Out) }

// Interactive reports whether the command can ask questions: both In and
// Out are terminals.
func (s *IOStreams) Interactive() bool {
	return IsTerminal(s.In) && IsTerminal(s.Out)
}

// NoColor reports whether the user turned colors off (NO_COLOR, any
// value; https://no-color.org).
func NoColor(getenv func(string) string) bool {
	return getenv("NO_COLOR") != ""
}

// Factory carries the dependencies commands are built from.
type Factory struct {
	IO *IOStreams
	// Getenv reads the environment; tests pass a map lookup.
	Getenv func(string) string
	// HTTPClient, when set, carries the API client's requests.
	HTTPClient *http.Client
	// Now is the clock of relative times in tables; nil is time.Now.
	Now func() time.Time
	// changed is set once the server answered a request that changes
	// something: from then on, a failure to print is not the command's.
	changed atomic.Bool
}

// Clock returns the current time from f.Now.
func (f *Factory) Clock() time.Time {
	if f.Now == nil {
		return time.Now()
	}
	return f.Now()
}

// Env returns the environment variable k, or def when it is unset or
// empty: the default of a flag that an environment variable may set.
func (f *Factory) Env(k, def string) string {
	if v := f.Getenv(k); v != "" {
		return v
	}
	return def
}

// Exit codes, in one place so scripts can rely on them.
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
	// ExitOutput: the change was made, but the --jq filter failed on
	// the server's answer to it.
	ExitOutput      = 7
	ExitInterrupted = 130
)

// Error is a failure with an actionable suggestion and an exit code.
type Error struct {
	Msg  string
	Hint string
	Code int
	Err  error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// UsageError is a mistake in flags or arguments.
func UsageError(msg, hint string) error {
	return &Error{Msg: msg, Hint: hint, Code: ExitUsage}
}

// ExitCode returns the code for err and the hint to print, if any. It is
// where the errors of lower layers, which know nothing of exit codes, get
// theirs: a *deploy.Error marked Usage exits with ExitUsage.
func ExitCode(err error) (int, string) {
	code, hint := exitCode(err)
	var pe *PartialError
	if errors.As(err, &pe) && len(pe.NotSent) > 0 {
		// The failure's hint is of its own request; the changes after it
		// are still to make.
		const more = "run the command on those not sent only: they were never made"
		if hint == "" {
			return code, more
		}
		hint += "; then " + more
	}
	return code, hint
}

// exitCode is ExitCode of the failure itself.
func exitCode(err error) (int, string) {
	if err == nil {
		return ExitOK, ""
	}
	var (
		e  *Error
		de *deploy.Error
	)
	switch {
	case errors.As(err, &e):
		code := e.Code
		if code == 0 {
			code = ExitError
		}
		return code, e.Hint
	case errors.As(err, &de) && de.Usage:
		return ExitUsage, de.Hint
	case errors.As(err, &de):
		return ExitError, de.Hint
	}
	if code, hint, ok := apiExit(err); ok {
		return code, hint
	}
	return ExitError, ""
}
