package main

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// maxIdleAnonKB bounds the anonymous memory (Go heap, stacks, runtime
// metadata, SQLite's allocator) of a flytrap dev that has just started on
// an empty data directory. It is about 10 MB (docs/benchmarks.md, "Idle
// footprint"); the bound leaves room for a noisy machine, not for a
// regression such as the 64 MiB of Argon2 blocks the first start once
// kept (77 MB anonymous). The binary's own pages (RssFile) are not
// bounded: how many of them a process maps depends on how the file came
// into the page cache (a binary the linker has just written maps 10 MB
// more than the same file read from disk), not on the code.
const maxIdleAnonKB = 24 << 10

// TestIdleFootprint starts flytrap dev on an empty data directory, so the
// admin user is created and its password hashed, and checks that the
// resident anonymous memory settles under maxIdleAnonKB; then again after
// a dashboard sign-in, which hashes with Argon2 too. Argon2's blocks are
// given back a second after the last hash (auth.ReleaseQuiet), so each
// stage allows a few seconds.
func TestIdleFootprint(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/PID/status")
	}
	const password = "correct horse battery staple"
	p := startDev(t, t.TempDir(), []string{"FLYTRAP_ADMIN_PASSWORD=" + password}, "--rate-limit", "-1")
	settles := func(stage string) {
		t.Helper()
		var st map[string]int64
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			st = procStatus(t, p.cmd.Process.Pid)
			if st["RssAnon"] <= maxIdleAnonKB || time.Now().After(deadline) {
				break
			}
		}
		t.Logf("%s: VmRSS %d kB = RssAnon %d kB + RssFile %d kB + RssShmem %d kB",
			stage, st["VmRSS"], st["RssAnon"], st["RssFile"], st["RssShmem"])
		if st["RssAnon"] > maxIdleAnonKB {
			t.Errorf("%s, idle flytrap dev holds %d kB of anonymous memory, over %d kB; see docs/benchmarks.md, \"Idle footprint\", for how to find where it goes",
				stage, st["RssAnon"], maxIdleAnonKB)
		}
	}
	settles("after the first start")
	p.login(t, "admin@flytrap.local", password)
	settles("after a dashboard sign-in")
}

// procStatus returns the kB figures of /proc/PID/status.
func procStatus(t *testing.T, pid int) map[string]int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	st := map[string]int64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		f := strings.Fields(rest)
		if !ok || len(f) != 2 || f[1] != "kB" {
			continue
		}
		if n, err := strconv.ParseInt(f[0], 10, 64); err == nil {
			st[name] = n
		}
	}
	if _, ok := st["RssAnon"]; !ok {
		t.Fatalf("no RssAnon in /proc/%d/status:\n%s", pid, b)
	}
	return st
}
