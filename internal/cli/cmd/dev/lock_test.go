package dev

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
	"github.com/getflytrap/flytrap/internal/testutil/syncbuf"
)

// lockOrSkip takes dir's lock for a test, skipping where this platform
// cannot lock.
func lockOrSkip(t *testing.T, dir string) func() {
	t.Helper()
	var unsupported error
	release, err := lockDataDir(dir, func(err error) { unsupported = err })
	if err != nil {
		t.Fatalf("first lock: %v", err)
	}
	if unsupported != nil {
		release()
		t.Skipf("cannot lock here: %v", unsupported)
	}
	return release
}

// wantInUse checks err is the in-use error, naming pid, with its hint
// and the general failure exit code.
func wantInUse(t *testing.T, err error, dir string, pid int) {
	t.Helper()
	if err == nil {
		t.Fatal("second start on a locked data directory succeeded")
	}
	want := "data directory " + dir + " is in use by another flytrap dev (pid " + strconv.Itoa(pid) + ")"
	if err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	code, hint := cmdutil.ExitCode(err)
	if code != cmdutil.ExitError || hint != "stop it, or pass --data-dir to use another directory" {
		t.Errorf("ExitCode = %d, %q", code, hint)
	}
}

// TestLockDataDir: while one holder has the directory a second lock fails
// at once, naming the holder's pid; after release it succeeds again.
func TestLockDataDir(t *testing.T) {
	dir := t.TempDir()
	release := lockOrSkip(t, dir)
	start := time.Now()
	_, err := lockDataDir(dir, func(err error) { t.Errorf("unlocked: %v", err) })
	wantInUse(t, err, dir, os.Getpid())
	if d := time.Since(start); d > time.Second {
		t.Errorf("second lock took %s; it must not wait", d)
	}
	release()
	release2, err := lockDataDir(dir, func(err error) { t.Errorf("unlocked: %v", err) })
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	release2()
}

// TestInUseErrorWithoutPID: a holder that has not written its pid yet (or
// a damaged file) still gives the message, without a pid.
func TestInUseErrorWithoutPID(t *testing.T) {
	err := inUseError(".flytrap", 0)
	if want := "data directory .flytrap is in use by another flytrap dev"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

// TestLockHelperProcess is not a test: TestLockReleasedWhenHolderDies runs
// the test binary as a process that holds the lock until it is killed.
func TestLockHelperProcess(t *testing.T) {
	dir := os.Getenv("FLYTRAP_DEV_LOCK_HELPER_DIR")
	if dir == "" {
		t.Skip("helper process only")
	}
	if _, err := lockDataDir(dir, func(error) {}); err != nil {
		os.Stdout.WriteString("error: " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Stdout.WriteString("locked\n")
	time.Sleep(time.Minute)
	os.Exit(0)
}

// TestLockReleasedWhenHolderDies: a process killed without a chance to
// clean up leaves no stale lock; the kernel drops it.
func TestLockReleasedWhenHolderDies(t *testing.T) {
	dir := t.TempDir()
	lockOrSkip(t, dir)() // skip where locking is unsupported
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHelperProcess$")
	cmd.Env = append(os.Environ(), "FLYTRAP_DEV_LOCK_HELPER_DIR="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if line != "locked\n" {
		t.Fatalf("helper: %q, %v", line, err)
	}

	_, err = lockDataDir(dir, func(err error) { t.Errorf("unlocked: %v", err) })
	wantInUse(t, err, dir, cmd.Process.Pid)

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	release, err := lockDataDir(dir, func(err error) { t.Errorf("unlocked: %v", err) })
	if err != nil {
		t.Fatalf("lock after the holder was killed: %v", err)
	}
	release()
}

// runDev runs `flytrap dev` with flags' defaults and args.
func runDev(ctx context.Context, out, errOut *syncbuf.Buffer, args ...string) error {
	f := &cmdutil.Factory{
		IO:     &cmdutil.IOStreams{In: strings.NewReader(""), Out: out, ErrOut: errOut},
		Getenv: func(string) string { return "" },
	}
	cmd := NewCmd(f)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	cmd.SetArgs(args)
	return cmd.ExecuteContext(ctx)
}

// startDev runs `flytrap dev` in the background until ctx is done and
// waits for its banner; done receives what it returned.
func startDev(ctx context.Context, t *testing.T, args ...string) (out *syncbuf.Buffer, done <-chan error) {
	t.Helper()
	var stdout, stderr syncbuf.Buffer
	ch := make(chan error, 1)
	go func() { ch <- runDev(ctx, &stdout, &stderr, args...) }()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stdout.String(), "Flytrap is running.") {
		select {
		case err := <-ch:
			t.Fatalf("dev stopped: %v\n%s", err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("dev not running after 30s:\n%s", stderr.String())
		}
	}
	return &stdout, ch
}

// wantNoFiles fails if any of names exists in dir: a refused start must
// leave the data directory as it found it.
func wantNoFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, name := range names {
		if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s exists after a refused start (%v)", name, err)
		}
	}
}

// TestRunRefusesLockedDataDir: with the directory held, dev fails before it
// creates the database or dev.json.
func TestRunRefusesLockedDataDir(t *testing.T) {
	dir := t.TempDir()
	defer lockOrSkip(t, dir)()
	var out, errOut syncbuf.Buffer
	err := runDev(context.Background(), &out, &errOut, "--addr", "127.0.0.1:0", "--data-dir", dir)
	wantInUse(t, err, dir, os.Getpid())
	wantNoFiles(t, dir, "flytrap.db", "dev.json")
}

// TestRunSecondStartOnSameDataDir: a second dev on a running one's data
// directory fails and leaves its dev.json alone; once the first stops, the
// directory is free again.
func TestRunSecondStartOnSameDataDir(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	dir := t.TempDir()
	lockOrSkip(t, dir)()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, done := startDev(ctx, t, "--addr", "127.0.0.1:0", "--data-dir", dir)

	infoPath := filepath.Join(dir, "dev.json")
	before, err := os.ReadFile(infoPath)
	if err != nil {
		t.Fatal(err)
	}

	var out2, err2 syncbuf.Buffer
	err = runDev(context.Background(), &out2, &err2, "--addr", "127.0.0.1:0", "--data-dir", dir)
	wantInUse(t, err, dir, os.Getpid())
	if after, _ := os.ReadFile(infoPath); !bytes.Equal(after, before) {
		t.Errorf("second start rewrote dev.json:\n%s\nwas:\n%s", after, before)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("first dev: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("first dev did not stop within 30s")
	}
	release, err := lockDataDir(dir, func(err error) { t.Errorf("unlocked: %v", err) })
	if err != nil {
		t.Fatalf("lock after the first dev stopped: %v", err)
	}
	release()
}

// TestRunPortTaken: a start whose port is taken fails before it creates
// the database.
func TestRunPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	var out, errOut syncbuf.Buffer
	err = runDev(context.Background(), &out, &errOut, "--addr", ln.Addr().String(), "--data-dir", dir)
	if err == nil || !strings.HasPrefix(err.Error(), "cannot listen on "+ln.Addr().String()) {
		t.Fatalf("error %v, want cannot listen on %s", err, ln.Addr())
	}
	if _, hint := cmdutil.ExitCode(err); !strings.Contains(hint, "another flytrap dev") {
		t.Errorf("hint %q, want one asking about another flytrap dev", hint)
	}
	wantNoFiles(t, dir, "flytrap.db", "dev.json")
	wantUnlocked(t, dir)
}

// wantUnlocked fails unless dir's lock is free: a failed start releases
// it.
func wantUnlocked(t *testing.T, dir string) {
	t.Helper()
	release, err := lockDataDir(dir, func(err error) { t.Skipf("cannot lock here: %v", err) })
	if err != nil {
		t.Fatalf("lock after a failed start: %v", err)
	}
	release()
}

// TestRunBadAddr: an --addr that is no host and port is a usage error
// that says so, before the data directory is created or locked; one
// that is not this machine's fails without blaming another flytrap dev,
// and releases the lock.
func TestRunBadAddr(t *testing.T) {
	for _, addr := range []string{"bogus", "127.0.0.1", "127.0.0.1:x", "127.0.0.1:65536", "[::1]:-1"} {
		dir := filepath.Join(t.TempDir(), "d2")
		var out, errOut syncbuf.Buffer
		err := runDev(context.Background(), &out, &errOut, "--addr", addr, "--data-dir", dir)
		code, hint := cmdutil.ExitCode(err)
		if code != cmdutil.ExitUsage || !strings.HasPrefix(fmt.Sprint(err), "--addr \""+addr+"\"") || !strings.Contains(hint, "--addr 127.0.0.1:8080") {
			t.Errorf("--addr %s: %v (exit %d, hint %q), want a usage error naming it", addr, err, code, hint)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("--addr %s: the data directory was created (%v)", addr, err)
		}
	}

	// 192.0.2.1 (TEST-NET-1) is no address of this machine.
	dir := t.TempDir()
	var out, errOut syncbuf.Buffer
	err := runDev(context.Background(), &out, &errOut, "--addr", "192.0.2.1:0", "--data-dir", dir)
	if _, hint := cmdutil.ExitCode(err); err == nil || strings.Contains(hint, "another flytrap dev") || !strings.Contains(hint, "this machine's addresses") {
		t.Errorf("--addr 192.0.2.1:0: %v, hint %q; want a hint about the host", err, hint)
	}
	wantUnlocked(t, dir)
}
