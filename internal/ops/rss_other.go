//go:build !linux

package ops

import "errors"

// ResidentBytes is not implemented off Linux; it returns
// errors.ErrUnsupported and /metrics leaves the figure out.
func ResidentBytes() (uint64, error) { return 0, errors.ErrUnsupported }
