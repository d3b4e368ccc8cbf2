//go:build unix

package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
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

// TestSQLiteReadOnlyLeftovers: a start while the database was read-only
// leaves a -shm and -wal of mode 0400 (SQLite copies the database's mode);
// once the database is writable again, the next start makes them writable
// too instead of failing with "attempt to write a readonly database".
func TestSQLiteReadOnlyLeftovers(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "flytrap.db")
	first, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	newEnv(t, first).save("fp")
	// Keep the -wal and -shm files: a closed last connection would
	// checkpoint and remove them.
	keep, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer keep.Close()
	first.Close()
	for _, f := range []string{path + "-wal", path + "-shm"} {
		if err := os.Chmod(f, 0o400); err != nil {
			t.Fatal(err)
		}
	}
	second, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("%s has mode %o after start-up, want 600", filepath.Base(f), got)
		}
	}
	if n := (&env{t: t, db: second, ctx: ctx}).count(`SELECT COUNT(*) FROM events`); n != 1 {
		t.Errorf("reopened database has %d events, want 1", n)
	}
}

// TestSQLiteReadOnlyDatabaseNamed: a read-only database file is refused
// at start with its name, not with SQLite's "attempt to write a readonly
// database" from the first statement that writes. Root is not refused
// writes by file modes, so the check runs as another user only.
func TestSQLiteReadOnlyDatabaseNamed(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("file modes do not refuse root")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "flytrap.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "not writable") {
		t.Fatalf("Open of a read-only database: %v, want an error naming %s as not writable", err, path)
	}
}
