package cmdutil

import (
	"errors"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/getflytrap/flytrap/internal/client"
	"github.com/getflytrap/flytrap/internal/shell"
)

// CheckWith is the annotation of a command that changes something: the
// command that reads the change back, for the hint of a change the
// server may or may not have made. {1}, {2}... stand for the command's
// arguments, {project} for --project or else its first argument. A
// command without it is pointed to the list command beside it.
const CheckWith = "flytrap/check-with"

// changeError is a command's error for a change whose outcome is unknown
// or whose answer was lost, carrying the command that reads it back.
type changeError struct {
	err   error
	check string
}

func (e *changeError) Error() string { return e.err.Error() }

func (e *changeError) Unwrap() error { return e.err }

// withCheck gives err, when it is a request that changed something or
// may have, the command that tells what the server holds now.
func withCheck(cmd *cobra.Command, args []string, err error) error {
	if _, ok := changeOutcome(err); !ok {
		return err
	}
	return &changeError{err: err, check: checkCommand(cmd, args)}
}

// changeOutcome reports whether err is a request that asked for a change
// and got no answer that tells what became of it (ok), and whether the
// change is known to be made (applied): sent and never answered, its 2xx
// answer cut off, or a proxy's 502 or 504 after passing it on.
func changeOutcome(err error) (applied, ok bool) {
	var (
		ue *client.UnreachableError
		ce *client.Error
	)
	switch {
	case errors.As(err, &ue):
		return ue.Applied, ue.Unknown() || ue.Applied
	case errors.As(err, &ce):
		return false, ce.Unknown()
	}
	return false, false
}

// checkCommand is the command that reads back what cmd, run with args,
// changed: its CheckWith filled in, else its group's list command, else
// empty.
func checkCommand(cmd *cobra.Command, args []string) string {
	tmpl, ok := cmd.Annotations[CheckWith]
	if !ok {
		if p := cmd.Parent(); p != nil {
			for _, sib := range p.Commands() {
				if sib.Name() == "list" {
					return sib.CommandPath()
				}
			}
		}
		return ""
	}
	project := ""
	if f := cmd.Flags().Lookup("project"); f != nil && f.Changed {
		project = f.Value.String()
	} else if len(args) > 0 {
		project = args[0]
	}
	words := strings.Fields(tmpl)
	for i, w := range words {
		switch {
		case w == "{project}":
			words[i] = shell.Arg(project)
		case len(w) == 3 && w[0] == '{' && w[2] == '}' && w[1] >= '1' && w[1] <= '9':
			n := int(w[1] - '1')
			words[i] = ""
			if n < len(args) {
				words[i] = shell.Arg(args[n])
			}
		}
	}
	return strings.Join(strings.Fields(strings.Join(words, " ")), " ")
}

// changeHint is the hint of an unanswered change: read it back before
// running the command again, which may make it twice.
func changeHint(applied bool, check string) string {
	how := "the matching `list` or `view` command"
	if check != "" {
		how = "`" + check + "`"
	}
	if applied {
		return "do not run the command again; read the change back with " + how
	}
	return "check with " + how + " before running the command again: if the change was made, running it again may make it twice"
}

// changeUnknown reports whether err is a change whose outcome the answer
// does not tell (see changeOutcome).
func changeUnknown(err error) bool {
	_, ok := changeOutcome(err)
	return ok
}

// PartialError is the error of a command that makes several changes, a
// request each or a batch a request, and stopped part way: it names the
// changes made, those of the request that failed (made, not made or
// unknown, as its error tells), and those never sent, so that a user
// knows which to check and which to send again. Its exit code and hint
// are Err's.
type PartialError struct {
	// Made are the changes the server made before the failure.
	Made []string
	// Failed are the changes of the request that failed; empty when what
	// failed changed nothing (reading a change back).
	Failed []string
	// NotSent are the changes after the failure, never sent.
	NotSent []string
	// Err is the failure.
	Err error
}

func (e *PartialError) Error() string {
	var ue *client.UnreachableError
	cause := e.Err.Error()
	if errors.As(e.Err, &ue) {
		// Its "nothing was changed" is of its own request only; the
		// lines below say what it means for each change.
		cause = strings.Replace(cause, ue.Error(), ue.Reason(), 1)
	}
	lines := []string{cause}
	add := func(label string, changes []string) {
		if len(changes) > 0 {
			lines = append(lines, label+": "+strings.Join(changes, ", "))
		}
	}
	made := e.Made
	failed := "not made, the server refused them"
	applied, unknown := changeOutcome(e.Err)
	switch {
	case applied:
		made = append(slices.Clone(made), e.Failed...)
		failed = ""
	case unknown:
		failed = "may or may not have been made (check before sending them again)"
	case ue != nil:
		failed = "not made, the request did not reach the server"
	}
	add("made", made)
	if failed != "" {
		add(failed, e.Failed)
	}
	add("not sent", e.NotSent)
	return strings.Join(lines, "\n")
}

func (e *PartialError) Unwrap() error { return e.Err }
