// Package cmdutil holds what every command shares: IO streams, the
// environment, and errors that carry a hint and an exit code.
package cmdutil

import (
	"errors"
	"io"
	"os"
)

// IOStreams are the streams a command reads and writes; tests substitute
// buffers so no command needs a terminal.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
}

// System returns the process's standard streams.
func System() *IOStreams {
	return &IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
}

// Factory carries the dependencies commands are built from.
type Factory struct {
	IO *IOStreams
	// Getenv reads the environment; tests pass a map lookup.
	Getenv func(string) string
}

// Exit codes, in one place so scripts can rely on them.
const (
	ExitOK          = 0
	ExitError       = 1
	ExitUsage       = 2
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

// ExitCode returns the code for err and the hint to print, if any.
func ExitCode(err error) (int, string) {
	if err == nil {
		return ExitOK, ""
	}
	var e *Error
	if errors.As(err, &e) {
		code := e.Code
		if code == 0 {
			code = ExitError
		}
		return code, e.Hint
	}
	return ExitError, ""
}
