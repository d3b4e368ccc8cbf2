//go:build !unix

package ops

import "errors"

// CPUSeconds is not implemented outside Unix.
func CPUSeconds() (float64, error) { return 0, errors.ErrUnsupported }
