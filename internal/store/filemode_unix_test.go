//go:build unix

package store

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestSQLiteFileModes: the database and the files SQLite keeps beside it
// hold every event and password hash, so only their owner may read them,
// whatever the umask, and files left 0644 by older versions are tightened.
func TestSQLiteFileModes(t *testing.T) {
	ctx := context.Background()
	old := syscall.Umask(0o022) // the common default, under which SQLite alone creates 0644
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "flytrap.db")
	// Another process (an older version) keeps the database open, so its
	// -wal and -shm files exist at the next start.
	first, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	e := newEnv(t, first)
	e.save("fp")
	files := []string{path, path + "-wal", path + "-shm"}
	checkModes := func(when string) {
		t.Helper()
		for _, f := range files {
			fi, err := os.Stat(f)
			if err != nil {
				t.Fatalf("%s: %v", when, err)
			}
			if got := fi.Mode().Perm(); got != 0o600 {
				t.Errorf("%s: %s has mode %o, want 600", when, filepath.Base(f), got)
			}
		}
	}
	checkModes("fresh database")

	for _, f := range files {
		if err := os.Chmod(f, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	second, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	checkModes("reopened 0644 files")
	if n := (&env{t: t, db: second, ctx: ctx}).count(`SELECT COUNT(*) FROM events`); n != 1 {
		t.Errorf("reopened database has %d events, want 1", n)
	}
}
