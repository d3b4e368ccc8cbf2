package dev

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
)

// lockName is the lock file in the data directory. It is left in place on
// exit: removing a file that others may have opened and be waiting to lock
// would let two processes each hold a lock on a different inode.
const lockName = "dev.lock"

// errLocked is what tryLock returns when another open file holds the lock.
var errLocked = errors.New("locked by another process")

// lockDataDir takes the exclusive lock on <dir>/dev.lock that one
// `flytrap dev` holds for its whole life, so that a second one on the same
// directory fails before it opens the database or rewrites dev.json (whose
// URLs would then point at whichever started last, and live updates, which
// SQLite fans out in process, would split between the two). The lock is an
// advisory flock, which the kernel drops when the process exits however it
// exits, so a crash never leaves a stale lock behind.
//
// release closes the lock file; the caller must keep it reachable (defer
// it) until the end, since an unreachable *os.File is closed by its
// finalizer. When the file system cannot lock, lockDataDir returns a nil
// error and warns through unlocked, since refusing to start there would
// make things worse than the double start the lock guards against.
func lockDataDir(dir string, unlocked func(error)) (release func(), err error) {
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, &cmdutil.Error{Msg: "cannot create the lock file " + path, Hint: "pass a writable directory with --data-dir", Err: err}
	}
	switch err := tryLock(f); {
	case errors.Is(err, errLocked):
		pid := readPID(f)
		f.Close()
		return nil, inUseError(dir, pid)
	case err != nil:
		f.Close()
		unlocked(err)
		return func() {}, nil
	}
	// The pid only serves the message a second start prints, so a failure
	// to record it is no reason not to run.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() { f.Close() }, nil
}

// inUseError says who holds dir; pid is 0 when the holder has not written
// its pid yet (or the file was damaged).
func inUseError(dir string, pid int) error {
	who := "another flytrap dev"
	if pid > 0 {
		who += " (pid " + strconv.Itoa(pid) + ")"
	}
	return &cmdutil.Error{
		Msg:  "data directory " + dir + " is in use by " + who,
		Hint: "stop it, or pass --data-dir to use another directory",
	}
}

// readPID reads the pid the lock's holder wrote into f, or 0.
func readPID(f *os.File) int {
	b, err := io.ReadAll(io.LimitReader(f, 32))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}
