package cmdutil

import (
	"fmt"

	"github.com/getflytrap/flytrap/internal/apitypes"
)

// CheckScope refuses a --scope the server has not, as a usage error before
// anything is sent or a password asked for: the server would refuse it
// only after the password.
func CheckScope(scope string) error {
	if scope == apitypes.ScopeFull || scope == apitypes.ScopeReadOnly {
		return nil
	}
	return UsageError(fmt.Sprintf("--scope is full or read, not %q", scope),
		"full: the token may do what you may; read: it may only read (GET)")
}
