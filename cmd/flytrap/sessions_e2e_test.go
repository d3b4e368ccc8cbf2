package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type releaseHealth struct {
	Sessions          int64    `json:"sessions"`
	Healthy           int64    `json:"healthy"`
	Errored           int64    `json:"errored"`
	Crashed           int64    `json:"crashed"`
	Users             int64    `json:"users"`
	CrashedUsers      int64    `json:"crashed_users"`
	CrashFreeSessions *float64 `json:"crash_free_sessions"`
	CrashFreeUsers    *float64 `json:"crash_free_users"`
}

// releaseHealth polls a release's health over the REST API until it
// counts n sessions, and returns it.
func (p *devProc) releaseHealth(t *testing.T, version string, n int64) releaseHealth {
	t.Helper()
	var rel struct {
		Health *releaseHealth `json:"health"`
	}
	path := fmt.Sprintf("/api/v1/projects/%d/releases/%s", p.info.ProjectID, version)
	deadline := time.Now().Add(15 * time.Second)
	for {
		code := p.api(t, "GET", path, nil, &rel)
		if code == 200 && rel.Health != nil && rel.Health.Sessions >= n {
			return *rel.Health
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: HTTP %d, health %+v; want %d sessions\nstderr:\n%s", path, code, rel.Health, n, p.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestNodeSDKReleaseHealth runs a Node app with the official @sentry/node
// SDK and a release four times, as four users: two runs exit normally, one
// captures a handled error, one crashes on an uncaught error. The SDK
// reports each process as a session; the release's crash-free sessions and
// users are 75%, over the REST API and on the dashboard's pages. Then an
// HTTP server with the SDK reports its requests as session aggregates.
func TestNodeSDKReleaseHealth(t *testing.T) {
	dir := requireJSSDK(t)
	p := startDev(t, t.TempDir(), []string{"FLYTRAP_ADMIN_EMAIL=ops@example.com", "FLYTRAP_ADMIN_PASSWORD=s3cret-passw0rd"})
	const release = "compat-node@2.0.0"
	for i, mode := range []string{"ok", "ok", "errored", "crashed"} {
		cmd := exec.Command("node", filepath.Join(dir, "sessions.js"), p.info.DSN, release, mode)
		cmd.Env = append(os.Environ(), fmt.Sprintf("SESSION_USER=user-%d", i))
		out, err := cmd.CombinedOutput()
		if mode == "crashed" {
			// The SDK exits with 1 after reporting the crash.
			if !strings.Contains(string(out), "node session compat crash") {
				t.Fatalf("node sessions.js crashed: %v\n%s", err, out)
			}
		} else if err != nil {
			t.Fatalf("node sessions.js %s: %v\n%s", mode, err, out)
		}
	}
	h := p.releaseHealth(t, release, 4)
	if h.Sessions != 4 || h.Healthy != 2 || h.Errored != 1 || h.Crashed != 1 || h.Users != 4 || h.CrashedUsers != 1 ||
		h.CrashFreeSessions == nil || *h.CrashFreeSessions != 75 || h.CrashFreeUsers == nil || *h.CrashFreeUsers != 75 {
		t.Errorf("release health %+v, want 4 sessions of 4 users: 2 healthy, 1 errored, 1 crashed, 75%% crash-free", h)
	}

	// In a server, the SDK counts requests as sessions and sends their
	// aggregates: four requests, one of which captured an error.
	const server = "compat-node-server@2.0.0"
	if out, err := exec.Command("node", filepath.Join(dir, "sessions.js"), p.info.DSN, server, "server").CombinedOutput(); err != nil {
		t.Fatalf("node sessions.js server: %v\n%s", err, out)
	}
	h = p.releaseHealth(t, server, 4)
	if h.Sessions != 4 || h.Healthy != 3 || h.Errored != 1 || h.Crashed != 0 || h.CrashFreeSessions == nil || *h.CrashFreeSessions != 100 {
		t.Errorf("server release health %+v, want 4 sessions: 3 healthy, 1 errored, 100%% crash-free", h)
	}

	dashboard := p.login(t, "ops@example.com", "s3cret-passw0rd")
	for _, page := range []struct{ path, want string }{
		{fmt.Sprintf("/projects/%d/releases", p.info.ProjectID), `title="4 sessions, 1 crashed">75.00%</td>`},
		{fmt.Sprintf("/projects/%d/releases/%s", p.info.ProjectID, release), "<td>compat</td>"},
	} {
		resp, err := dashboard.Get(p.base + page.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), page.want) {
			t.Errorf("%s: HTTP %d, lacks %q", page.path, resp.StatusCode, page.want)
		}
	}
}
