package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/client"
)

// The commands below let scripts in testdata/script drive the built binary
// against a real `flytrap dev`, restart it, send it events and watch a
// command running in the background.

// scriptAdminPassword is the first admin's password of devserver.
const scriptAdminPassword = "correct horse battery"

// scriptEnvKeys are the variables of a script passed to the processes its
// commands start.
var scriptEnvKeys = []string{"HOME", "PATH", "TMPDIR", "FLYTRAP_CONFIG_DIR", "FLYTRAP_URL", "FLYTRAP_TOKEN", "NO_COLOR"}

// scriptProcs are a script's background processes by name ("dev" is the
// server).
type scriptProcs struct {
	mu    sync.Mutex
	procs map[string]*exec.Cmd
	done  map[string]chan error
	addr  string   // the server's address, kept across restarts
	flags []string // the server's extra flags, kept across restarts
}

var (
	scriptStateMu sync.Mutex
	scriptState   = map[*testscript.TestScript]*scriptProcs{}
)

func procsOf(ts *testscript.TestScript) *scriptProcs {
	scriptStateMu.Lock()
	defer scriptStateMu.Unlock()
	p := scriptState[ts]
	if p == nil {
		p = &scriptProcs{procs: map[string]*exec.Cmd{}, done: map[string]chan error{}}
		scriptState[ts] = p
		ts.Defer(func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			for name, c := range p.procs {
				_ = c.Process.Kill()
				<-p.done[name]
			}
			scriptStateMu.Lock()
			delete(scriptState, ts)
			scriptStateMu.Unlock()
		})
	}
	return p
}

func scriptEnv(ts *testscript.TestScript) []string {
	var env []string
	for _, k := range scriptEnvKeys {
		if v := ts.Getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// start runs the binary with args in the background as name, its output
// in $WORK/name.out and $WORK/name.err.
func (p *scriptProcs) start(ts *testscript.TestScript, name string, env []string, args ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.procs[name]; ok {
		ts.Fatalf("%s is already running", name)
	}
	out, err := os.OpenFile(ts.MkAbs(name+".out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	ts.Check(err)
	errOut, err := os.OpenFile(ts.MkAbs(name+".err"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	ts.Check(err)
	c := exec.Command(flytrapBin, args...)
	c.Env, c.Stdout, c.Stderr, c.Dir = env, out, errOut, ts.Getenv("WORK")
	ts.Check(c.Start())
	done := make(chan error, 1)
	go func() {
		done <- c.Wait()
		out.Close()
		errOut.Close()
	}()
	p.procs[name], p.done[name] = c, done
}

// stop ends name with SIGINT (SIGKILL with kill) and waits for it.
func (p *scriptProcs) stop(ts *testscript.TestScript, name string, kill bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.procs[name]
	if !ok {
		ts.Fatalf("%s is not running", name)
	}
	sig := os.Signal(syscall.SIGINT)
	if kill {
		sig = os.Kill
	}
	_ = c.Process.Signal(sig)
	select {
	case <-p.done[name]:
	case <-time.After(15 * time.Second):
		_ = c.Process.Kill()
		<-p.done[name]
		ts.Fatalf("%s did not stop within 15s", name)
	}
	delete(p.procs, name)
	delete(p.done, name)
}

// cmdDevserver: devserver start [FLAGS...]|restart|stop. start runs
// `flytrap dev` on a free port with admin@example.com as the first admin
// and FLAGS, waits until it is ready and sets URL, DEV_TOKEN and DEV_DSN;
// restart kills it and starts it again on the same port, flags and data.
func cmdDevserver(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 || (len(args) > 1 && args[0] != "start") {
		ts.Fatalf("usage: devserver start [FLAGS...]|restart|stop")
	}
	p := procsOf(ts)
	run := func() {
		env := append(scriptEnv(ts), "FLYTRAP_ADMIN_EMAIL=admin@example.com", "FLYTRAP_ADMIN_PASSWORD="+scriptAdminPassword)
		p.start(ts, "dev", env, append([]string{"dev", "--addr", p.addr, "--data-dir", ts.MkAbs("devdata")}, p.flags...)...)
		base := "http://" + p.addr
		deadline := time.Now().Add(30 * time.Second)
		for {
			resp, err := http.Get(base + "/readyz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
			if time.Now().After(deadline) {
				b, _ := os.ReadFile(ts.MkAbs("dev.err"))
				ts.Fatalf("flytrap dev not ready in 30s:\n%s", b)
			}
			time.Sleep(50 * time.Millisecond)
		}
		ts.Setenv("URL", base)
	}
	switch args[0] {
	case "start":
		l, err := net.Listen("tcp", "127.0.0.1:0")
		ts.Check(err)
		p.addr, p.flags = l.Addr().String(), args[1:]
		l.Close()
		run()
		var info devInfo
		b, err := os.ReadFile(ts.MkAbs("devdata/dev.json"))
		ts.Check(err)
		ts.Check(json.Unmarshal(b, &info))
		ts.Setenv("DEV_TOKEN", info.APIToken)
		ts.Setenv("DEV_DSN", info.DSN)
	case "restart":
		p.stop(ts, "dev", true)
		run()
	case "stop":
		p.stop(ts, "dev", false)
	default:
		ts.Fatalf("usage: devserver start [FLAGS...]|restart|stop")
	}
}

// cmdSendevent: sendevent DSN message [level [environment [release]]] sends
// an event, grouped by its message,
// as a Sentry SDK would and waits for its 200. A message in double quotes
// is a Go string literal, so a script can send control characters
// ("Evil \x1b[31mred").
func cmdSendevent(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: sendevent DSN message [level [environment [release]]]")
	}
	dsn, err := url.Parse(args[0])
	ts.Check(err)
	msg := args[1]
	if strings.HasPrefix(msg, `"`) {
		msg, err = strconv.Unquote(msg)
		ts.Check(err)
	}
	level, env := "error", "production"
	if len(args) > 2 {
		level = args[2]
	}
	if len(args) > 3 {
		env = args[3]
	}
	type frame struct {
		Filename string `json:"filename"`
		Function string `json:"function"`
		Lineno   int    `json:"lineno"`
		InApp    bool   `json:"in_app"`
	}
	type exception struct {
		Type       string `json:"type"`
		Value      string `json:"value"`
		Stacktrace struct {
			Frames []frame `json:"frames"`
		} `json:"stacktrace"`
	}
	ev := struct {
		Release     string      `json:"release,omitempty"`
		Message     string      `json:"message"`
		Fingerprint []string    `json:"fingerprint"`
		Level       string      `json:"level"`
		Environment string      `json:"environment"`
		Exception   []exception `json:"exception"`
	}{Message: msg, Fingerprint: []string{msg}, Level: level, Environment: env,
		Exception: []exception{{Type: "CheckoutError", Value: msg}}}
	ev.Exception[0].Stacktrace.Frames = []frame{{Filename: "app.js", Function: "checkout", Lineno: 7, InApp: true}}
	if len(args) > 4 {
		ev.Release = args[4]
	}
	body, err := json.Marshal(ev)
	ts.Check(err)
	key := dsn.User.Username()
	project := strings.Trim(dsn.Path, "/")
	u := fmt.Sprintf("%s://%s/api/%s/store/?sentry_key=%s", dsn.Scheme, dsn.Host, project, key)
	resp, err := http.Post(u, "application/json", bytes.NewReader(body))
	if err != nil {
		if neg {
			return
		}
		ts.Fatalf("sendevent: %v", err)
	}
	resp.Body.Close()
	if (resp.StatusCode == 200) == neg {
		ts.Fatalf("sendevent: HTTP %d", resp.StatusCode)
	}
}

// cmdSendjson: sendjson DSN [-ago DURATION] JSON stores the event JSON, an
// object, as a Sentry SDK would and waits for its 200; -ago dates it that
// long before now, as an SDK sending late does.
func cmdSendjson(ts *testscript.TestScript, neg bool, args []string) {
	if neg || (len(args) != 2 && (len(args) != 4 || args[1] != "-ago")) {
		ts.Fatalf("usage: sendjson DSN [-ago DURATION] JSON")
	}
	dsn, err := url.Parse(args[0])
	ts.Check(err)
	var ev map[string]any
	ts.Check(json.Unmarshal([]byte(args[len(args)-1]), &ev))
	if len(args) == 4 {
		ago, err := time.ParseDuration(args[2])
		ts.Check(err)
		ev["timestamp"] = time.Now().Add(-ago).UTC().Format(time.RFC3339)
	}
	body, err := json.Marshal(ev)
	ts.Check(err)
	u := fmt.Sprintf("%s://%s/api/%s/store/?sentry_key=%s", dsn.Scheme, dsn.Host, strings.Trim(dsn.Path, "/"), dsn.User.Username())
	resp, err := http.Post(u, "application/json", bytes.NewReader(body))
	ts.Check(err)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		ts.Fatalf("sendjson: HTTP %d", resp.StatusCode)
	}
}

// cmdSendsessions: sendsessions DSN RELEASE ENVIRONMENT EXITED ERRORED
// CRASHED sends session aggregates as @sentry/node's server mode does, of
// sessions that started now, and waits until the dev server ($URL,
// $DEV_TOKEN) has counted them.
func cmdSendsessions(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 6 {
		ts.Fatalf("usage: sendsessions DSN RELEASE ENVIRONMENT EXITED ERRORED CRASHED")
	}
	dsn, err := url.Parse(args[0])
	ts.Check(err)
	var n [3]int64
	for i := range n {
		n[i], err = strconv.ParseInt(args[3+i], 10, 64)
		ts.Check(err)
	}
	project := strings.Trim(dsn.Path, "/")
	sessions := func() int64 {
		req, err := http.NewRequest("GET", ts.Getenv("URL")+"/api/v1/projects/"+project+"/releases/"+url.PathEscape(args[1]), nil)
		ts.Check(err)
		req.Header.Set("Authorization", "Bearer "+ts.Getenv("DEV_TOKEN"))
		resp, err := http.DefaultClient.Do(req)
		ts.Check(err)
		defer resp.Body.Close()
		var rel struct {
			Health *struct {
				Sessions int64 `json:"sessions"`
			} `json:"health"`
		}
		if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&rel) != nil || rel.Health == nil {
			return 0
		}
		return rel.Health.Sessions
	}
	before := sessions()
	item, err := json.Marshal(map[string]any{
		"aggregates": []map[string]any{{"started": time.Now().UTC().Format(time.RFC3339), "exited": n[0], "errored": n[1], "crashed": n[2]}},
		"attrs":      map[string]string{"release": args[1], "environment": args[2]},
	})
	ts.Check(err)
	body := "{}\n{\"type\":\"sessions\"}\n" + string(item) + "\n"
	u := fmt.Sprintf("%s://%s/api/%s/envelope/?sentry_key=%s", dsn.Scheme, dsn.Host, project, dsn.User.Username())
	resp, err := http.Post(u, "application/x-sentry-envelope", strings.NewReader(body))
	ts.Check(err)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		ts.Fatalf("sendsessions: HTTP %d", resp.StatusCode)
	}
	deadline := time.Now().Add(20 * time.Second)
	for sessions() < before+n[0]+n[1]+n[2] {
		if time.Now().After(deadline) {
			ts.Fatalf("sendsessions: the sessions were not counted after 20s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// cmdBg: bg start NAME ARGS... runs flytrap ARGS in the background;
// bg stop NAME interrupts it and waits.
func cmdBg(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: bg start NAME ARGS... | bg stop NAME")
	}
	p := procsOf(ts)
	switch args[0] {
	case "start":
		p.start(ts, args[1], scriptEnv(ts), args[2:]...)
	case "stop":
		p.stop(ts, args[1], false)
	default:
		ts.Fatalf("usage: bg start NAME ARGS... | bg stop NAME")
	}
}

// cmdWaitfor: waitfor FILE REGEXP [N] waits up to 20s until FILE has N
// (default 1) lines matching REGEXP.
func cmdWaitfor(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: waitfor FILE REGEXP [N]")
	}
	re, err := regexp.Compile("(?m)" + args[1])
	ts.Check(err)
	n := 1
	if len(args) > 2 {
		n, err = strconv.Atoi(args[2])
		ts.Check(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, _ := os.ReadFile(ts.MkAbs(args[0]))
		if len(re.FindAll(b, -1)) >= n {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s has no %d lines matching %q after 20s:\n%s", args[0], n, args[1], b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// cmdCountmatch: countmatch FILE REGEXP N checks that exactly N lines of
// FILE match.
func cmdCountmatch(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: countmatch FILE REGEXP N")
	}
	re, err := regexp.Compile("(?m)" + args[1])
	ts.Check(err)
	n, err := strconv.Atoi(args[2])
	ts.Check(err)
	b, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	if got := len(re.FindAll(b, -1)); got != n {
		ts.Fatalf("%s: %d lines match %q, want %d:\n%s", args[0], got, args[1], n, b)
	}
}

// cmdExit: exit N [<FILE] ARGS... runs flytrap ARGS, with FILE as its
// standard input, and checks that it exits with N; its output is the
// script's stdout and stderr.
func cmdExit(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exit N [<FILE] ARGS...")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	args = args[1:]
	var stdin []byte
	if f, ok := strings.CutPrefix(args[0], "<"); ok {
		stdin, err = os.ReadFile(ts.MkAbs(f))
		ts.Check(err)
		args = args[1:]
	}
	c := exec.Command(flytrapBin, args...)
	c.Stdin = bytes.NewReader(stdin)
	var out, errOut bytes.Buffer
	c.Env, c.Stdout, c.Stderr, c.Dir = scriptEnv(ts), &out, &errOut, ts.Getenv("WORK")
	err = c.Run()
	got := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		got = ee.ExitCode()
	} else {
		ts.Check(err)
	}
	fmt.Fprint(ts.Stdout(), out.String())
	fmt.Fprint(ts.Stderr(), errOut.String())
	if got != want {
		ts.Fatalf("flytrap %s exited %d, want %d\nstderr:\n%s", strings.Join(args, " "), got, want, errOut.String())
	}
}

// cmdFilemode: filemode FILE MODE checks FILE's permission bits (octal).
func cmdFilemode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: filemode FILE MODE")
	}
	st, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	want, err := strconv.ParseUint(args[1], 8, 32)
	ts.Check(err)
	if st.Mode().Perm() != os.FileMode(want) {
		ts.Fatalf("%s has mode %o, want %s", args[0], st.Mode().Perm(), args[1])
	}
}

// cmdIssueid: issueid VAR TITLE sets VAR to the ID of the issue titled
// TITLE of the dev server's default project, waiting up to 20s for it.
func cmdIssueid(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: issueid VAR TITLE")
	}
	c, err := client.New(ts.Getenv("URL"), ts.Getenv("DEV_TOKEN"))
	ts.Check(err)
	deadline := time.Now().Add(20 * time.Second)
	for {
		ps, err := c.Projects(context.Background())
		ts.Check(err)
		for _, p := range ps {
			l, err := c.Issues(context.Background(), p.ID, client.IssueQuery{Status: "all", Query: args[1], Limit: 100}, "")
			ts.Check(err)
			// A title that is the whole message wins over one that only
			// holds it: "checkout failed" must not find "checkout failed
			// on retry", whichever the list shows first.
			match := slices.IndexFunc(l.Data, func(is apitypes.Issue) bool {
				return is.Title == args[1] || strings.HasSuffix(is.Title, ": "+args[1])
			})
			if match < 0 {
				match = slices.IndexFunc(l.Data, func(is apitypes.Issue) bool { return strings.Contains(is.Title, args[1]) })
			}
			if match >= 0 {
				ts.Setenv(args[0], strconv.FormatInt(l.Data[match].ID, 10))
				return
			}
		}
		if time.Now().After(deadline) {
			ts.Fatalf("no issue titled %q after 20s", args[1])
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// cmdIssuecount: issuecount ID N waits up to 20s until issue ID has counted
// N events: sendevent returns once an event is queued, not processed.
func cmdIssuecount(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: issuecount ID N")
	}
	id, err := strconv.ParseInt(args[0], 10, 64)
	ts.Check(err)
	n, err := strconv.ParseInt(args[1], 10, 64)
	ts.Check(err)
	c, err := client.New(ts.Getenv("URL"), ts.Getenv("DEV_TOKEN"))
	ts.Check(err)
	deadline := time.Now().Add(20 * time.Second)
	for {
		is, err := c.Issue(context.Background(), id)
		ts.Check(err)
		if is.Count >= n {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("issue %d has %d events after 20s, not %d", id, is.Count, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// setPasswordLinkRE finds a set-password link in a command's output.
var setPasswordLinkRE = regexp.MustCompile(`http://[^\s"]+/set-password/[0-9a-f]{64}`)

// cmdSetpassword: setpassword FILE PASSWORD follows the last set-password
// link in FILE (a command's stdout, kept with cp) as a browser would (the
// page, then its form with the page's CSRF token and cookie) and sets
// PASSWORD; with !, the link must not work.
func cmdSetpassword(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: setpassword FILE PASSWORD")
	}
	links := setPasswordLinkRE.FindAllString(ts.ReadFile(args[0]), -1)
	if len(links) == 0 {
		ts.Fatalf("no set-password link in %s", args[0])
	}
	link := links[len(links)-1]
	resp, err := http.Get(link)
	ts.Check(err)
	body := new(bytes.Buffer)
	_, err = body.ReadFrom(resp.Body)
	resp.Body.Close()
	ts.Check(err)
	if neg {
		if resp.StatusCode != http.StatusNotFound {
			ts.Fatalf("GET %s: HTTP %d, want 404", link, resp.StatusCode)
		}
		return
	}
	m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(body.String())
	if resp.StatusCode != http.StatusOK || m == nil {
		ts.Fatalf("GET %s: HTTP %d without a form:\n%s", link, resp.StatusCode, body)
	}
	form := url.Values{"csrf_token": {m[1]}, "new": {args[1]}, "confirm": {args[1]}}
	req, err := http.NewRequest(http.MethodPost, link, strings.NewReader(form.Encode()))
	ts.Check(err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range resp.Cookies() {
		req.AddCookie(c)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post, err := noRedirect.Do(req)
	ts.Check(err)
	post.Body.Close()
	if post.StatusCode != http.StatusSeeOther {
		ts.Fatalf("POST %s: HTTP %d, want 303", link, post.StatusCode)
	}
}

// scriptCmds are the commands above by name.
func scriptCmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"devserver": cmdDevserver, "sendevent": cmdSendevent, "sendcheckin": cmdSendcheckin, "sendjson": cmdSendjson, "sendsessions": cmdSendsessions, "issuecount": cmdIssuecount, "bg": cmdBg, "waitfor": cmdWaitfor,
		"countmatch": cmdCountmatch, "exit": cmdExit, "filemode": cmdFilemode, "issueid": cmdIssueid,
		"setpassword": cmdSetpassword,
	}
}

// scriptSetup gives each script its own config directory.
func scriptSetup(env *testscript.Env) error {
	env.Setenv("FLYTRAP_CONFIG_DIR", filepath.Join(env.WorkDir, "config"))
	return nil
}
