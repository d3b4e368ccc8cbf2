package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/getflytrap/flytrap/internal/cli"
	"github.com/getflytrap/flytrap/internal/testutil/syncbuf"
)

// flytrapBin is the binary under test, built once by TestMain.
var flytrapBin string

// TestMain builds the real binary for the end-to-end tests (which need a
// process they can SIGKILL) and registers flytrap as a testscript command.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "flytrap-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	flytrapBin = filepath.Join(dir, "flytrap")
	if os.Getenv("FLYTRAP_TESTSCRIPT_CHILD") == "" {
		build := exec.Command("go", "build", "-o", flytrapBin, ".")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building flytrap:", err)
			os.Exit(1)
		}
	}
	testscript.Main(cleanupM{m, dir}, map[string]func(){
		"flytrap": func() { os.Exit(cli.Main()) },
	})
}

// cleanupM removes the build directory after the tests, since
// testscript.Main exits the process itself.
type cleanupM struct {
	m   *testing.M
	dir string
}

func (c cleanupM) Run() int {
	defer os.RemoveAll(c.dir)
	return c.m.Run()
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("FLYTRAP_TESTSCRIPT_CHILD", "1")
			return scriptSetup(env)
		},
		Cmds: scriptCmds(),
	})
}

// devInfo mirrors dev.json.
type devInfo struct {
	DashboardURL string `json:"dashboard_url"`
	ProjectID    int64  `json:"project_id"`
	DSN          string `json:"dsn"`
	APIKey       string `json:"api_key"`
	APIToken     string `json:"api_token"`
	AdminEmail   string `json:"admin_email"`
}

// devProc is a running `flytrap dev`.
type devProc struct {
	cmd    *exec.Cmd
	info   devInfo
	base   string
	stdout *syncbuf.Buffer
	stderr *syncbuf.Buffer
	done   chan error
}

var dashboardLine = regexp.MustCompile(`Dashboard:\s+(http://\S+)/`)

// startDev runs `flytrap dev` on a free port over dataDir and waits until it
// is ready. extra holds additional flags. FLYTRAP_E2E_ADDR, when set, is
// the address instead, so that developers sharing a machine can keep to
// ports of their own when they run one test.
func startDev(t *testing.T, dataDir string, env []string, extra ...string) *devProc {
	t.Helper()
	addr := cmp.Or(os.Getenv("FLYTRAP_E2E_ADDR"), "127.0.0.1:0")
	args := append([]string{"dev", "--addr", addr, "--data-dir", dataDir}, extra...)
	cmd := exec.Command(flytrapBin, args...)
	cmd.Env = append(os.Environ(), env...)
	p := &devProc{cmd: cmd, stdout: &syncbuf.Buffer{}, stderr: &syncbuf.Buffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := dashboardLine.FindStringSubmatch(p.stdout.String()); m != nil {
			p.base = m[1]
			break
		}
		select {
		case err := <-p.done:
			t.Fatalf("flytrap dev exited early: %v\nstdout:\n%s\nstderr:\n%s", err, p.stdout, p.stderr)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("flytrap dev did not start in 30s\nstdout:\n%s\nstderr:\n%s", p.stdout, p.stderr)
		}
	}
	b, err := os.ReadFile(filepath.Join(dataDir, "dev.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &p.info); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "readyz", func() bool {
		resp, err := http.Get(p.base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return p
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// api calls the REST API and decodes the JSON answer into out.
func (p *devProc) api(t *testing.T, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, p.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+p.info.APIToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, raw)
		}
	}
	return resp.StatusCode
}

type issue struct {
	ID          int64     `json:"id"`
	ProjectID   int64     `json:"project_id"`
	Title       string    `json:"title"`
	Culprit     string    `json:"culprit"`
	Level       string    `json:"level"`
	Status      string    `json:"status"`
	Count       int64     `json:"count"`
	UserCount   int64     `json:"user_count"`
	FirstSeen   time.Time `json:"first_seen"`
	LastSeen    time.Time `json:"last_seen"`
	LastRelease string    `json:"last_release"`
	LatestEvent *struct {
		EventID string          `json:"event_id"`
		Event   json.RawMessage `json:"event"`
	} `json:"latest_event"`
}

type issueList struct {
	Data       []issue `json:"data"`
	NextCursor string  `json:"next_cursor"`
}

func (p *devProc) issues(t *testing.T, query string) []issue {
	t.Helper()
	var l issueList
	if code := p.api(t, "GET", fmt.Sprintf("/api/v1/projects/%d/issues?limit=100&%s", p.info.ProjectID, query), nil, &l); code != 200 {
		t.Fatalf("list issues: HTTP %d", code)
	}
	return l.Data
}

func findIssue(list []issue, prefix string) *issue {
	for i := range list {
		if strings.HasPrefix(list[i].Title, prefix) {
			return &list[i]
		}
	}
	return nil
}

// waitIssue polls until an issue whose title starts with prefix has count n.
func (p *devProc) waitIssue(t *testing.T, prefix string, n int64) issue {
	t.Helper()
	var got *issue
	var all []issue
	deadline := time.Now().Add(15 * time.Second)
	for {
		all = p.issues(t, "status=all")
		if got = findIssue(all, prefix); got != nil && got.Count == n {
			return *got
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for issue %q with count %d; issues: %+v\nstderr:\n%s", prefix, n, all, p.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func newHub(t *testing.T, dsn string, release, env string, configure ...func(*sentry.ClientOptions)) *sentry.Hub {
	t.Helper()
	opts := sentry.ClientOptions{
		Dsn:         dsn,
		Release:     release,
		Environment: env,
		Transport:   sentry.NewHTTPSyncTransport(),
	}
	for _, c := range configure {
		c(&opts)
	}
	client, err := sentry.NewClient(opts)
	if err != nil {
		t.Fatal(err)
	}
	return sentry.NewHub(client, sentry.NewScope())
}

func chargeCard(hub *sentry.Hub, card string) {
	hub.CaptureException(fmt.Errorf("payment declined for card %s", card))
}

func panicky(hub *sentry.Hub, items []string) string {
	defer func() {
		if r := recover(); r != nil {
			hub.Recover(r)
		}
	}()
	return items[len(items)]
}

func TestEndToEndSentryAndFlytrap(t *testing.T) {
	dir := t.TempDir()
	p := startDev(t, dir, []string{"FLYTRAP_ADMIN_EMAIL=ops@example.com", "FLYTRAP_ADMIN_PASSWORD=s3cret-passw0rd"})
	if p.info.AdminEmail != "ops@example.com" || p.info.APIKey == "" || !strings.HasPrefix(p.info.APIToken, "flyt_") {
		t.Fatalf("dev.json = %+v", p.info)
	}
	if fi, err := os.Stat(filepath.Join(dir, "dev.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("dev.json mode = %v, %v; want 0600", fi.Mode(), err)
	}
	if strings.Contains(p.stdout.String(), "s3cret-passw0rd") {
		t.Fatal("banner prints the password from the environment")
	}

	hub := newHub(t, p.info.DSN, "shop@1.2.3", "staging")
	hub.Scope().SetUser(sentry.User{ID: "u-1", Email: "ann@example.com"})
	chargeCard(hub, "4242")
	hub.Scope().SetUser(sentry.User{ID: "u-2"})
	chargeCard(hub, "5555")
	panicky(hub, nil)
	hub.WithScope(func(s *sentry.Scope) {
		s.SetFingerprint([]string{"checkout-timeouts"})
		hub.CaptureException(errors.New("upstream timeout after 3s"))
	})
	hub.WithScope(func(s *sentry.Scope) {
		s.SetFingerprint([]string{"checkout-timeouts"})
		hub.CaptureException(errors.New("gateway closed connection"))
	})
	if !hub.Flush(5 * time.Second) {
		t.Fatal("sentry-go did not flush")
	}
	// CaptureMessage with AttachStacktrace sends the stack as the current
	// thread; it is kept as the message's stack, not as an exception.
	msgHub := newHub(t, p.info.DSN, "tools@1.0", "dev", func(o *sentry.ClientOptions) { o.AttachStacktrace = true })
	msgHub.CaptureMessage("cache warmed in 3s")
	if !msgHub.Flush(5 * time.Second) {
		t.Fatal("sentry-go did not flush the message")
	}

	// Masked numbers and the same call site make one issue of two cards.
	pay := p.waitIssue(t, "*errors.errorString: payment declined", 2)
	if pay.UserCount != 2 || pay.Status != "unresolved" || pay.LastRelease != "shop@1.2.3" {
		t.Errorf("payment issue = %+v", pay)
	}
	if !strings.Contains(pay.Culprit, "chargeCard") {
		t.Errorf("culprit = %q, want the in-app function chargeCard", pay.Culprit)
	}
	if pan := p.waitIssue(t, "runtime.boundsError: runtime error: index out of range [0] with length 0", 1); pan.Level != "fatal" {
		t.Errorf("recovered panic level = %q, want fatal", pan.Level)
	}
	// Two different errors under one custom fingerprint are one issue; its
	// title follows the newest event.
	fp := p.waitIssue(t, "*errors.errorString: gateway closed connection", 2)
	if got := p.issues(t, "environment=production"); len(got) != 0 {
		t.Errorf("environment=production lists %d issues, want 0", len(got))
	}
	if got := p.issues(t, "environment=staging&release=shop@1.2.3"); len(got) != 3 {
		t.Errorf("staging + release lists %d issues, want 3", len(got))
	}

	msg := p.waitIssue(t, "cache warmed in 3s", 1)
	var msgDetail issue
	if code := p.api(t, "GET", fmt.Sprintf("/api/v1/issues/%d", msg.ID), nil, &msgDetail); code != 200 || msgDetail.LatestEvent == nil {
		t.Fatalf("message issue detail: HTTP %d, %+v", code, msgDetail)
	}
	var msgEvent struct {
		Exceptions []struct {
			Type      string
			Mechanism struct{ Synthetic bool }
			Frames    []struct{ Function string }
		}
	}
	if err := json.Unmarshal(msgDetail.LatestEvent.Event, &msgEvent); err != nil || len(msgEvent.Exceptions) != 1 ||
		!msgEvent.Exceptions[0].Mechanism.Synthetic || msgEvent.Exceptions[0].Type != "" || len(msgEvent.Exceptions[0].Frames) == 0 {
		t.Errorf("CaptureMessage with AttachStacktrace stored as %s (%v)", msgDetail.LatestEvent.Event, err)
	}

	// The case study's payload, with project_id as a string.
	body := fmt.Sprintf(`{"data":{"error":{"name":"TypeError","message":"Cannot read property 'foo' of undefined","stack":"TypeError: Cannot read property 'foo' of undefined\n    at example (/app/app.js:42:13)\n    at Layer.handle (/app/node_modules/express/lib/router/layer.js:95:5)"},"codeContexts":[{"file":"/app/app.js","line":42,"column":13,"context":"function example() { return foo.bar; }"}],"handled":false,"timestamp":"2014-11-22T10:00:00Z","project_id":"%d","method":"GET","path":"/example","ip":"192.168.1.1","os":"macOS","runtime":"Node.js"}}`, p.info.ProjectID)
	for range 2 {
		req, _ := http.NewRequest("POST", p.base+"/api/errors", strings.NewReader(body))
		req.Header.Set("x-api-key", p.info.APIKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("POST /api/errors: HTTP %d", resp.StatusCode)
		}
	}
	te := p.waitIssue(t, "TypeError: Cannot read property", 2)
	if te.Culprit != "app.js in example" {
		t.Errorf("Flytrap culprit = %q", te.Culprit)
	}

	var detail issue
	if code := p.api(t, "GET", fmt.Sprintf("/api/v1/issues/%d", te.ID), nil, &detail); code != 200 || detail.LatestEvent == nil {
		t.Fatalf("issue detail: HTTP %d, %+v", code, detail)
	}
	ev := string(detail.LatestEvent.Event)
	for _, want := range []string{`"function":"example"`, `"context_line":"function example() { return foo.bar; }"`, `"lineno":42`} {
		if !strings.Contains(ev, want) {
			t.Errorf("latest event lacks %s: %s", want, ev)
		}
	}
	if strings.Contains(ev, "192.168.1.1") {
		t.Error("raw IP stored")
	}

	// Resolve, then the same error again reopens it as a regression.
	var resolved issue
	if code := p.api(t, "PATCH", fmt.Sprintf("/api/v1/issues/%d", te.ID), map[string]string{"status": "resolved"}, &resolved); code != 200 || resolved.Status != "resolved" {
		t.Fatalf("resolve: HTTP %d %+v", code, resolved)
	}
	req, _ := http.NewRequest("POST", p.base+"/api/errors", strings.NewReader(body))
	req.Header.Set("x-api-key", p.info.APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	again := p.waitIssue(t, "TypeError: Cannot read property", 3)
	if again.Status != "unresolved" {
		t.Errorf("after a new event the resolved issue is %q, want unresolved (regression)", again.Status)
	}

	if code := p.api(t, "DELETE", fmt.Sprintf("/api/v1/issues/%d", fp.ID), nil, nil); code != 204 {
		t.Errorf("delete: HTTP %d", code)
	}
	if code := p.api(t, "GET", fmt.Sprintf("/api/v1/issues/%d", fp.ID), nil, nil); code != 404 {
		t.Errorf("deleted issue: HTTP %d, want 404", code)
	}

	// SIGTERM drains and exits 0.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, p.stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no exit 20s after SIGTERM")
	}
	if !strings.Contains(p.stderr.String(), "stopped cleanly") {
		t.Errorf("stderr lacks the clean stop: %s", p.stderr)
	}

	// A restart reuses the data, the project and the API token.
	p2 := startDev(t, dir, nil)
	if p2.info.APIToken != p.info.APIToken || p2.info.APIKey != p.info.APIKey || p2.info.ProjectID != p.info.ProjectID {
		t.Errorf("restart changed dev.json: %+v vs %+v", p2.info, p.info)
	}
	if !strings.Contains(p2.stdout.String(), "password set on first start") {
		t.Errorf("restart banner: %s", p2.stdout)
	}
	if findIssue(p2.issues(t, "status=all"), "TypeError: Cannot read property") == nil {
		t.Error("issues lost across restart")
	}
}

// TestPrintedCurl runs the curl command the banner prints, as a new user
// would, and finds its issue over the REST API.
func TestPrintedCurl(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("curl is not installed")
		}
		t.Skip("curl is not installed")
	}
	p := startDev(t, t.TempDir(), nil)
	out := p.stdout.String()
	if !strings.Contains(out, "Login:      "+p.info.AdminEmail+" / ") {
		t.Errorf("banner does not show the generated password:\n%s", out)
	}
	start := strings.Index(out, "Send a first error:")
	end := strings.Index(out, "Then list its issues:")
	if start < 0 || end < start {
		t.Fatalf("no curl in banner:\n%s", out)
	}
	snippet := strings.TrimSpace(out[start+len("Send a first error:") : end])
	for i := range 2 {
		if i > 0 {
			// Apart by more than the store's millisecond resolution.
			time.Sleep(20 * time.Millisecond)
		}
		cmd := exec.Command("bash", "-c", snippet)
		if b, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(b), `"id"`) {
			t.Fatalf("printed curl failed: %v\n%s\nsnippet:\n%s", err, b, snippet)
		}
	}
	is := p.waitIssue(t, "TypeError: Cannot read properties of undefined", 2)
	if is.Level != "error" || is.Culprit != "app.js in example" {
		t.Errorf("level %q, culprit %q; docs/getting-started.md promises error, app.js in example", is.Level, is.Culprit)
	}
	// The curl leaves the event's time to the server, so sending it again
	// later moves last seen (QA: it was the server's start time, for good).
	if !is.LastSeen.After(is.FirstSeen) {
		t.Errorf("sent twice, the issue was first seen %s and last seen %s; want the second send later", is.FirstSeen, is.LastSeen)
	}
	// The curl sends its code context as flytrap_express does: eleven
	// lines, JSON-encoded twice. They land around the frame's line.
	frames := p.latestFrames(t, is.ID)
	if f := frames[len(frames)-1]; f.Lineno != 42 || f.ContextLine != "  return options.foo;" || len(f.PreContext) != 5 || len(f.PostContext) != 5 {
		t.Errorf("innermost frame %s:%d context:\npre %q\nline %q\npost %q", f.AbsPath, f.Lineno, f.PreContext, f.ContextLine, f.PostContext)
	}
	// A Node server's readable file asks for no source map, on any of its
	// frames (docs/sourcemaps.md).
	for _, f := range frames {
		if f.Unmapped != "" {
			t.Errorf("frame %s:%d marked %s", f.AbsPath, f.Lineno, f.Unmapped)
		}
	}

	// The CLI lines the banner prints: log in with the printed token,
	// then tail, which (from --since) shows the error just sent.
	_, cli, ok := strings.Cut(out, "or follow them from another terminal (docs/cli.md):")
	lines := strings.Split(strings.TrimSpace(cli), "\n")
	if !ok || len(lines) < 2 || !strings.HasPrefix(strings.TrimSpace(lines[0]), "flytrap login ") || strings.TrimSpace(lines[1]) != "flytrap tail" {
		t.Fatalf("no login and tail lines in banner:\n%s", out)
	}
	home := t.TempDir()
	cliEnv := append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home, "FLYTRAP_URL=", "FLYTRAP_TOKEN=", "NO_COLOR=1")
	login := strings.Fields(lines[0])
	cmd := exec.Command(flytrapBin, login[1:]...)
	cmd.Env = cliEnv
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", lines[0], err, b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	tail := exec.CommandContext(ctx, flytrapBin, "tail", "--since", "10m")
	tail.Env = cliEnv
	b, _ := tail.Output()
	if !strings.Contains(string(b), "TypeError: Cannot read properties of undefined") {
		t.Errorf("flytrap tail --since 10m after the printed login showed:\n%s", b)
	}
}

// TestCrashLosesNothing sends events while the server is SIGKILLed, restarts
// it, and checks every acknowledged event is stored exactly once.
func TestCrashLosesNothing(t *testing.T) {
	dir := t.TempDir()
	p := startDev(t, dir, nil)
	const total = 400
	send := func(base, key string, id string) bool {
		body := fmt.Sprintf(`{"event_id":%q,"message":"crash test event","level":"error","fingerprint":["crash-test"],"platform":"go"}`, id)
		return post(fmt.Sprintf("%s/api/%d/store/?sentry_key=%s", base, p.info.ProjectID, key), body)
	}
	acked := sendThroughCrash(t, p, total, send)
	n := len(acked)

	p2 := startDev(t, dir, nil)
	// An SDK retries what it sent before the crash; that must not count twice.
	for _, id := range acked[:10] {
		if !send(p2.base, p2.info.APIKey, id) {
			t.Fatalf("resend of %s failed", id)
		}
	}
	var is issue
	p2.waitDrained(t)
	list := p2.issues(t, "status=all")
	if len(list) != 1 {
		t.Fatalf("%d issues, want 1", len(list))
	}
	is = list[0]
	stored := p2.storedIDs(t, fmt.Sprintf("/api/v1/issues/%d/events?limit=100", is.ID))
	wantStored(t, "event", acked, stored)
	if int64(len(stored)) != is.Count {
		t.Errorf("issue count %d, but %d distinct events stored", is.Count, len(stored))
	}
	t.Logf("sent %d, acknowledged %d before/after the kill, stored %d, issue count %d", total, n, len(stored), is.Count)
}

// storedIDs pages through list, a REST API list whose path ends in a query
// string, and returns the event_id of every entry; one listed twice fails
// t.
func (p *devProc) storedIDs(t *testing.T, list string) map[string]bool {
	t.Helper()
	stored := map[string]bool{}
	for cursor := ""; ; {
		var page struct {
			Data []struct {
				EventID string `json:"event_id"`
			} `json:"data"`
			NextCursor string `json:"next_cursor"`
		}
		if code := p.api(t, "GET", list+"&cursor="+url.QueryEscape(cursor), nil, &page); code != 200 {
			t.Fatalf("GET %s: HTTP %d", list, code)
		}
		for _, e := range page.Data {
			if stored[e.EventID] {
				t.Fatalf("%s listed twice in %s", e.EventID, list)
			}
			stored[e.EventID] = true
		}
		if cursor = page.NextCursor; cursor == "" {
			return stored
		}
	}
}

// wantStored fails t for each acknowledged ID that is not stored.
func wantStored(t *testing.T, what string, acked []string, stored map[string]bool) {
	t.Helper()
	for _, id := range acked {
		if !stored[id] {
			t.Errorf("acknowledged %s %s was lost", what, id)
		}
	}
}

// post posts a JSON body and reports whether it was acknowledged.
func post(url, body string) bool {
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == 200
}

// sendThroughCrash sends total requests, each naming its own ID, with send
// from four goroutines, SIGKILLs p halfway through and returns the IDs
// acknowledged before the process died.
func sendThroughCrash(t *testing.T, p *devProc, total int, send func(base, key, id string) bool) []string {
	t.Helper()
	const senders = 4
	var (
		mu    sync.Mutex
		acked []string
	)
	ids := make(chan string)
	var wg sync.WaitGroup
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range ids {
				if send(p.base, p.info.APIKey, id) {
					mu.Lock()
					acked = append(acked, id)
					mu.Unlock()
				}
			}
		}()
	}
	for i := range total {
		ids <- fmt.Sprintf("%032x", i+1)
		if i == total/2 {
			if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		}
	}
	close(ids)
	wg.Wait()
	<-p.done
	if n := len(acked); n < total/4 || n >= total {
		t.Fatalf("%d of %d requests acknowledged; the kill did not land mid-stream", n, total)
	}
	return acked
}

// waitDrained waits until p's queue holds no message ready to process.
// Messages a killed process had claimed come back after the queue's
// visibility timeout (15 s).
func (p *devProc) waitDrained(t *testing.T) {
	t.Helper()
	waitFor(t, 60*time.Second, "queue drained", func() bool {
		resp, err := http.Get(p.base + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if sc.Text() == "flytrap_queue_ready 0" {
				return true
			}
		}
		return false
	})
}
