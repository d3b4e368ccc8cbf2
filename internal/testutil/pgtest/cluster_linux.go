//go:build linux

package pgtest

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// dirPrefix names cluster directories in os.TempDir, so stale ones can be
// found and removed.
const dirPrefix = "flytrap-pgtest-"

// ownerMarker is created in a cluster directory once its process holds the
// flock on the directory; a directory without it is still being set up.
const ownerMarker = "owner"

// dirLock holds the flock on this process's cluster directory for the life
// of the process; the kernel releases it however the process ends.
var dirLock *os.File

// startCluster creates a cluster with initdb in a new temporary directory
// and starts postgres on a Unix socket in that directory. TCP is off
// (listen_addresses is empty), so there is no port to collide with the
// machine's own server or with the clusters of test processes running in
// parallel. It returns the admin DSN.
//
// Stopping is best-effort, since a test process has no exit hook: postgres
// gets SIGINT (fast shutdown) as its parent-death signal, so it stops
// whenever the test process ends, even by SIGKILL. The directory outlives
// the process; the next cluster started on the machine removes directories
// whose owner is gone (no flock held, no postmaster running).
//
// initdb and postgres refuse to run as root, so as root both run as the
// user postgres, or nobody, in a directory chowned to that user.
func startCluster() (string, error) {
	bin, err := binDir()
	if err != nil {
		return "", err
	}
	sweep()
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return "", err
	}
	if dirLock, err = os.Open(dir); err != nil {
		return "", err
	}
	if err := syscall.Flock(int(dirLock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("lock %s: %w", dir, err)
	}
	if err := os.WriteFile(filepath.Join(dir, ownerMarker), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return "", err
	}
	cred, err := credential()
	if err != nil {
		return "", err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return "", err
		}
	}

	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--no-locale", "--no-sync")
	initdb.Dir = dir
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return "", fmt.Errorf("initdb: %w\n%s", err, out)
	}

	logPath := filepath.Join(dir, "postgres.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return "", err
	}
	defer logFile.Close()
	const port = 5432 // names the socket file only; TCP is off
	pg := exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-k", dir, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=", "-c", "max_connections=200",
		// Durability is worthless for a database that dies with the test.
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	pg.Dir = dir
	pg.Stdout, pg.Stderr = logFile, logFile
	pg.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGINT}
	started := make(chan error, 1)
	exited := make(chan error, 1)
	go func() {
		// The parent-death signal fires when the thread that started the
		// child exits, not the process. This thread stays locked, and so
		// alive, until postgres exits.
		runtime.LockOSThread()
		if err := pg.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		exited <- pg.Wait()
	}()
	if err := <-started; err != nil {
		return "", fmt.Errorf("start postgres: %w", err)
	}

	dsn := fmt.Sprintf("postgres://postgres@/postgres?host=%s&port=%d&sslmode=disable", url.QueryEscape(dir), port)
	deadline := time.Now().Add(time.Minute)
	for {
		select {
		case err := <-exited:
			log, _ := os.ReadFile(logPath)
			return "", fmt.Errorf("postgres exited: %v\n%s", err, log)
		case <-time.After(50 * time.Millisecond):
		}
		err := probe(dsn)
		if err == nil {
			return dsn, nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("postgres in %s not ready after a minute: %w", dir, err)
		}
	}
}

// binDir finds the directory holding initdb and postgres: initdb's on
// PATH, else the newest /usr/lib/postgresql/N/bin (Debian and Ubuntu keep
// the server binaries off PATH).
func binDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			dir := filepath.Dir(real)
			if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
				return dir, nil
			}
		}
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	version := func(p string) int {
		n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(p))))
		return n
	}
	slices.SortFunc(found, func(a, b string) int { return version(b) - version(a) })
	for _, p := range found {
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
			return dir, nil
		}
	}
	return "", errors.New("no initdb and postgres on PATH or in /usr/lib/postgresql/*/bin")
}

// credential is who runs initdb and postgres: nil (this process's user)
// unless this process is root.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	var errs []error
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			errs = append(errs, fmt.Errorf("user %s: non-numeric uid/gid", name))
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
	}
	return nil, fmt.Errorf("running as root and no user to run postgres as: %w", errors.Join(errs...))
}

// sweep removes the directories of clusters whose test process is gone.
func sweep() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, dir := range dirs {
		if _, err := os.Stat(filepath.Join(dir, ownerMarker)); err != nil {
			continue
		}
		f, err := os.Open(dir)
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil && !postmasterAlive(dir) {
			os.RemoveAll(dir)
		}
		f.Close()
	}
}

// postmasterAlive reports whether the cluster in dir still has a running
// postmaster (one told to stop by the parent-death signal may take a moment).
func postmasterAlive(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
	if err != nil {
		return false
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || pid <= 0 {
		return false
	}
	return processAlive(pid)
}

// processAlive reports whether pid runs. A zombie does not: an orphaned
// postmaster is reparented to PID 1, which in a container may never reap it.
func processAlive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses and may
	// itself contain them.
	i := strings.LastIndexByte(string(stat), ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] != 'Z' && stat[i+2] != 'X'
}
