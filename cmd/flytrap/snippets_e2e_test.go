package main

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/testutil/syncbuf"
)

// setupSnippet is one file of the setup page's snippets, as a user would
// copy it: its name on the page ("" for a snippet of one file) and its
// text.
type setupSnippet struct{ name, code string }

var snippetFileRE = regexp.MustCompile(`(?s)(?:<p class="snippet-file"><code>([^<]*)</code></p>\s*)?<div class="code-block">\s*<button[^>]*data-copy="([^"]+)"[^>]*>Copy</button>\s*<pre><code id="([^"]+)">(.*?)</code></pre>`)

// setupSnippets signs in and reads the project's setup page: each copy
// button's text, by the button's target.
func (p *devProc) setupSnippets(t *testing.T, email, password string) map[string]setupSnippet {
	t.Helper()
	c := p.login(t, email, password)
	resp, err := c.Get(fmt.Sprintf("%s/projects/%d/setup", p.base, p.info.ProjectID))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	out := map[string]setupSnippet{}
	for _, m := range snippetFileRE.FindAllSubmatch(page, -1) {
		if string(m[2]) != string(m[3]) {
			t.Errorf("copy button for %s sits on %s", m[2], m[3])
		}
		out[string(m[3])] = setupSnippet{name: html.UnescapeString(string(m[1])), code: html.UnescapeString(string(m[4]))}
	}
	if len(out) == 0 {
		t.Fatalf("no snippets on the setup page:\n%s", page)
	}
	return out
}

// freeAddr is a loopback address no one listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startApp runs an app pasted from a snippet and returns its output so
// far when it answers on addr.
func startApp(t *testing.T, cmd *exec.Cmd, addr string) *syncbuf.Buffer {
	t.Helper()
	out := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return out
		}
		select {
		case <-done:
			t.Fatalf("%s exited:\n%s", cmd.Path, out)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not listen on %s in 30s:\n%s", cmd.Path, addr, out)
		}
	}
}

// listenOn points a pasted app at addr in place of the port the snippet
// listens on.
func listenOn(t *testing.T, code, listen, addr string) string {
	t.Helper()
	if !strings.Contains(code, listen) {
		t.Fatalf("the snippet does not say %s:\n%s", listen, code)
	}
	return strings.Replace(code, listen, addr, 1)
}

const setupEmail, setupPassword = "ann@example.com", "correct horse battery"

// TestNodeSetupSnippet pastes the setup page's Node/Express files as the
// page names them, runs `node app.js` with compat/js's @sentry/node and
// express, and opens /debug-sentry: the error arrives, and the SDK says
// nothing of how it was started (node --require, which the page said
// before, is no longer supported: the SDK warned and did not instrument
// express).
func TestNodeSetupSnippet(t *testing.T) {
	js := requireJSSDK(t)
	if _, err := os.Stat(filepath.Join(js, "node_modules", "express")); err != nil {
		msg := "express is missing: run `npm ci --prefix compat/js`"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	p := startDev(t, t.TempDir(), []string{"FLYTRAP_ADMIN_EMAIL=" + setupEmail, "FLYTRAP_ADMIN_PASSWORD=" + setupPassword})
	snippets := p.setupSnippets(t, setupEmail, setupPassword)
	dir := t.TempDir()
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	for _, id := range []string{"snippet-node-instrument-js", "snippet-node-app-js"} {
		s, ok := snippets[id]
		if !ok || s.name == "" {
			t.Fatalf("no file %s on the setup page: %+v", id, snippets)
		}
		code := s.code
		if s.name == "app.js" {
			code = listenOn(t, code, "app.listen(3000)", "app.listen("+port+")")
		}
		if err := os.WriteFile(filepath.Join(dir, s.name), []byte(code), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The app's own node_modules, as npm install would make them.
	if err := os.Symlink(filepath.Join(js, "node_modules"), filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", "app.js")
	cmd.Dir = dir
	out := startApp(t, cmd, addr)
	resp, err := http.Get("http://" + addr + "/debug-sentry")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("/debug-sentry: HTTP %d, want 500", resp.StatusCode)
	}
	is := p.waitIssue(t, "Error: My first Flytrap error!", 1)
	if frames := p.latestFrames(t, is.ID); !hasFile(frames, "app.js") {
		t.Errorf("frames %+v, want app.js's", frames)
	}
	for _, bad := range []string{"no longer supported", "not instrumented", "Identifier 'Sentry' has already been declared"} {
		if strings.Contains(out.String(), bad) {
			t.Errorf("node app.js said %q:\n%s", bad, out)
		}
	}
}

// hasFile reports whether a frame is of file.
func hasFile(frames []event.Frame, file string) bool {
	for _, f := range frames {
		if filepath.Base(f.Filename) == file || filepath.Base(f.AbsPath) == file {
			return true
		}
	}
	return false
}

// TestGoSetupSnippet compiles the setup page's Go snippet as pasted,
// against the sentry-go this repository tests with, and opens its
// /debug-sentry: the panic, with a string, arrives with its frames.
func TestGoSetupSnippet(t *testing.T) {
	p := startDev(t, t.TempDir(), []string{"FLYTRAP_ADMIN_EMAIL=" + setupEmail, "FLYTRAP_ADMIN_PASSWORD=" + setupPassword})
	s, ok := p.setupSnippets(t, setupEmail, setupPassword)["snippet-go"]
	if !ok {
		t.Fatal("no Go snippet on the setup page")
	}
	addr := freeAddr(t)
	dir := t.TempDir()
	// A module of its own that requires what this one does, so that the
	// build finds every module in the module cache, offline.
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	mod = bytes.Replace(mod, []byte("module github.com/getflytrap/flytrap"), []byte("module snippet"), 1)
	for name, b := range map[string][]byte{
		"go.mod":  mod,
		"go.sum":  sum,
		"main.go": []byte(listenOn(t, s.code, `":8000"`, fmt.Sprintf("%q", addr))),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "app")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build of the pasted snippet: %v\n%s", err, b)
	}
	startApp(t, exec.Command(bin), addr)
	// The handler re-panics: net/http logs it and drops the connection.
	if resp, err := http.Get("http://" + addr + "/debug-sentry"); err == nil {
		resp.Body.Close()
	}
	is := p.waitIssue(t, "My first Flytrap error!", 1)
	if frames := p.latestFrames(t, is.ID); !hasFile(frames, "main.go") {
		t.Errorf("frames %+v, want main.go's", frames)
	}
}
