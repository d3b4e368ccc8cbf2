//go:build darwin || dragonfly || freebsd || illumos || linux || netbsd || openbsd

package dev

import (
	"errors"
	"os"
	"syscall"
)

// tryLock takes an exclusive flock on f without waiting. flock, not fcntl:
// an fcntl lock belongs to the process and is dropped when any descriptor
// of the file closes, and is not exclusive between two opens within one
// process, which the tests rely on.
func tryLock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return errLocked
		default:
			return &os.PathError{Op: "flock", Path: f.Name(), Err: err}
		}
	}
}
