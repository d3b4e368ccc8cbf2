package dev

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/internal/testutil/syncbuf"
)

// TestRunReportsAKeptLog: a stop that cannot fold the write-ahead log into
// flytrap.db (here a reader holds it; a full disk does the same) fails
// with what to keep, instead of saying it stopped cleanly.
func TestRunReportsAKeptLog(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncbuf.Buffer
	done := make(chan error, 1)
	go func() { done <- runDev(ctx, &stdout, &stderr, "--addr", "127.0.0.1:0", "--data-dir", dir) }()
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(stdout.String(), "Flytrap is running."); {
		if time.Now().After(deadline) {
			t.Fatalf("dev not running after 30s:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	path := filepath.Join(dir, "flytrap.db")
	// Waits its turn: dev writes too (its jobs run at start).
	other, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRow(`SELECT COUNT(*) FROM projects`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Exec(`CREATE TABLE written_after_the_reader (x)`); err != nil {
		t.Fatal(err)
	}

	cancel()
	err = <-done
	code, hint := cmdutil.ExitCode(err)
	if code == cmdutil.ExitOK || !errors.Is(err, store.ErrWALKept) {
		t.Fatalf("dev stopped with %v (exit %d), want ErrWALKept", err, code)
	}
	for _, want := range []string{"write-ahead log could not be folded into " + path} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	for _, want := range []string{"keep flytrap.db-wal and flytrap.db-shm with it", "start and stop flytrap dev again"} {
		if !strings.Contains(hint, want) {
			t.Errorf("hint lacks %q: %s", want, hint)
		}
	}
	if strings.Contains(stderr.String(), "stopped cleanly") {
		t.Errorf("the log says it stopped cleanly:\n%s", stderr.String())
	}
}
