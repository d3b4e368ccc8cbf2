package cmdutil

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/getflytrap/flytrap/internal/event"
)

// Level checks a --level flag against the levels events are stored with
// (event.Levels, which the REST API's level filter accepts) and returns it
// in lower case, the form the API and the live stream compare; "" (any
// level) stays "". `issues list` and `tail` both use it, so they accept,
// refuse and spell the same values.
func Level(flag string) (string, error) {
	l := strings.ToLower(flag)
	if l == "" || event.ValidLevel(l) {
		return l, nil
	}
	return "", UsageError(fmt.Sprintf("--level must be one of %s, not %q", strings.Join(event.Levels, ", "), flag), "")
}

// CompleteLevel completes --level with the values Level accepts.
var CompleteLevel = cobra.FixedCompletions(event.Levels, cobra.ShellCompDirectiveNoFileComp)
