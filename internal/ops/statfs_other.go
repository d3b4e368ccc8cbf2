//go:build !unix

package ops

import "errors"

// FreeBytes is not implemented off Unix; it returns errors.ErrUnsupported,
// which DiskSpace treats as passing.
func FreeBytes(string) (uint64, error) { return 0, errors.ErrUnsupported }
