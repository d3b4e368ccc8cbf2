//go:build !(darwin || dragonfly || freebsd || illumos || linux || netbsd || openbsd)

package dev

import (
	"errors"
	"os"
)

// tryLock is not implemented where the syscall package has no flock
// (Windows, AIX, Solaris, Plan 9, js, wasip1); releases are built for Linux
// and macOS only. lockDataDir then warns and runs unlocked, as before.
func tryLock(*os.File) error { return errors.ErrUnsupported }
