//go:build linux

package pgtest

import (
	"bufio"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// helperEnv makes the test binary act as a test process that starts a
// cluster and then dies.
const helperEnv = "PGTEST_CLUSTER_HELPER"

func TestClusterStopsWithProcess(t *testing.T) {
	if os.Getenv(helperEnv) == "1" {
		dsn, err := startCluster()
		if err != nil {
			os.Stdout.WriteString("error: " + err.Error() + "\n")
			os.Exit(1)
		}
		u, _ := url.Parse(dsn)
		os.Stdout.WriteString("cluster-dir: " + u.Query().Get("host") + "\n")
		time.Sleep(time.Hour) // until killed
	}
	if _, err := binDir(); err != nil {
		unavailable(t, os.Getenv("CI"), err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestClusterStopsWithProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var dir string
	for sc := bufio.NewScanner(out); sc.Scan(); {
		line := sc.Text()
		if d, ok := strings.CutPrefix(line, "cluster-dir: "); ok {
			dir = d
			break
		}
		if strings.HasPrefix(line, "error: ") {
			t.Fatal(line)
		}
	}
	if dir == "" {
		t.Fatal("helper printed no cluster directory")
	}
	b, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(first)
	if err != nil || !processAlive(pid) {
		t.Fatalf("postmaster %q not running", first)
	}

	// SIGKILL: the harshest way a test process ends, with no chance to
	// clean up.
	cmd.Process.Kill()
	cmd.Wait()
	for deadline := time.Now().Add(30 * time.Second); processAlive(pid); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("postmaster %d still running 30s after its test process was killed", pid)
		}
	}
	sweep()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("stale cluster directory %s not swept: %v", dir, err)
	}
}

func TestURLCluster(t *testing.T) {
	t.Setenv(EnvMode, "cluster")
	dsn := checkFreshDatabase(t)
	u, _ := url.Parse(dsn)
	host := u.Query().Get("host")
	if !strings.HasPrefix(host, filepath.Join(os.TempDir(), dirPrefix)) {
		t.Errorf("DSN %s does not use a socket in a throwaway cluster directory", dsn)
	}
}
