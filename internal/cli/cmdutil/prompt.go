package cmdutil

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// LineReader answers prompts from a stream, one line each. It works the
// same on a terminal and on a pipe (`yes | flytrap deploy`); an empty
// stream is an error that points at the flag.
type LineReader struct {
	In  io.Reader
	Out io.Writer
	// Flag is the flag that answers without a prompt, for the error.
	Flag string
	r    *bufio.Reader
}

// Line prints prompt and reads one line.
func (l *LineReader) Line(ctx context.Context, prompt string) (string, error) {
	if l.r == nil {
		l.r = bufio.NewReader(l.In)
	}
	fmt.Fprint(l.Out, prompt)
	type result struct {
		s   string
		err error
	}
	ch := make(chan result, 1)
	go func() {
		s, err := l.r.ReadString('\n')
		ch <- result{s, err}
	}()
	select {
	case <-ctx.Done():
		fmt.Fprintln(l.Out)
		return "", ctx.Err()
	case res := <-ch:
		if res.err != nil && (res.s == "" || !errors.Is(res.err, io.EOF)) {
			fmt.Fprintln(l.Out)
			return "", &Error{
				Msg:  "no answer on standard input",
				Hint: "answer in a terminal, or pass " + l.Flag,
				Code: ExitUsage,
				Err:  res.err,
			}
		}
		return strings.TrimSpace(res.s), nil
	}
}

// YesNo asks a yes/no question; only y or yes means yes.
func (l *LineReader) YesNo(ctx context.Context, question string) (bool, error) {
	s, err := l.Line(ctx, question+" [y/N] ")
	if err != nil {
		return false, err
	}
	s = strings.ToLower(s)
	return s == "y" || s == "yes", nil
}

// ReadSecretLine reads one line holding a secret (a token, a password)
// from r, standard input; flag is the flag that asked for it.
func ReadSecretLine(r io.Reader, flag string) (string, error) {
	s, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	s = strings.TrimRight(s, "\r\n")
	if strings.TrimSpace(s) == "" {
		return "", UsageError(flag+" read nothing from standard input", "pipe it in: printf '%s\\n' \"$SECRET\" | flytrap ... "+flag)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return s, nil
}
