//go:build unix

package ops

import (
	"syscall"
	"time"
)

// CPUSeconds returns the user and system CPU time the process has used.
func CPUSeconds() (float64, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	d := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return d.Seconds(), nil
}
