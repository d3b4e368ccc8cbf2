//go:build unix

package ops

import "syscall"

// FreeBytes returns the bytes available to unprivileged processes on the
// file system that holds dir (statfs f_bavail, not f_bfree: the blocks
// reserved for root do not help a server that runs as a service user).
func FreeBytes(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil
}
