// Package fulldisk makes the errors SQLite gives on a full disk for tests:
// real ones, since the driver's errors cannot be made by hand.
package fulldisk

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/getflytrap/flytrap/internal/store"
)

// ShmSizeError returns the error of opening an SQLite database on a full
// tmpfs, where sizing flytrap.db-shm fails with SQLITE_IOERR_SHMSIZE, not
// SQLITE_FULL: an I/O error that only the free space tells from a failing
// disk's. It returns nil when the test cannot mount a tmpfs (not root).
func ShmSizeError(t testing.TB) error {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Logf("cannot mount a tmpfs: %v: %s", err, out)
		return nil
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	path := filepath.Join(dir, "flytrap.db")
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Fill what is left of the disk.
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	for err == nil {
		_, err = f.Write(make([]byte, 4096))
	}
	f.Close()
	db, err = store.Open(context.Background(), path)
	if err == nil {
		db.Close()
		t.Fatal("a database opened on a full disk")
	}
	if !store.WriteIOError(err) {
		t.Fatalf("opening a database on a full tmpfs: %v, want an SQLite write I/O error", err)
	}
	return err
}
