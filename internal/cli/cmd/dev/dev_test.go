package dev

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/bootstrap"
	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
	"github.com/getflytrap/flytrap/internal/notify"
	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/internal/testutil/syncbuf"
)

// TestBeyondLoopback: the plain-HTTP banner and the /metrics warning are for
// listeners other machines can reach, not for the default 127.0.0.1.
func TestBeyondLoopback(t *testing.T) {
	for _, tc := range []struct {
		addr net.Addr
		want bool
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}, false},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 8080}, false},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 8080}, true},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 8080}, true},
		{&net.TCPAddr{IP: net.IPv4(192, 168, 1, 5), Port: 8080}, true},
		{&net.UnixAddr{Name: "/tmp/flytrap.sock", Net: "unix"}, false},
	} {
		if got := beyondLoopback(tc.addr); got != tc.want {
			t.Errorf("beyondLoopback(%v) = %v, want %v", tc.addr, got, tc.want)
		}
	}
}

// TestBusyGC: --busy-gogc applies unless the operator set GOGC, whose
// value the server must then leave alone.
func TestBusyGC(t *testing.T) {
	for _, tc := range []struct {
		flag int
		env  string
		want int
	}{
		{400, "", 400},
		{0, "", 0},
		{400, "200", 0},
		{400, "off", 0},
	} {
		opts := &Options{BusyGCPercent: tc.flag, Getenv: func(k string) string {
			if k == "GOGC" {
				return tc.env
			}
			return ""
		}}
		if got := busyGC(opts); got != tc.want {
			t.Errorf("--busy-gogc %d with GOGC=%q: %d, want %d", tc.flag, tc.env, got, tc.want)
		}
	}
}

func TestDefaultSender(t *testing.T) {
	for raw, want := range map[string]string{
		"smtp://user:pw@smtp.example.com:587": "flytrap@smtp.example.com",
		"smtp://user:pw@[::1]:2525":           "flytrap@localhost",
		"smtps://127.0.0.1:465":               "flytrap@localhost",
		"smtp://%zz":                          "flytrap@localhost",
	} {
		if got := defaultSender(raw); got != want {
			t.Errorf("defaultSender(%q) = %q, want %q", raw, got, want)
		}
	}
	// What the QA run hit: flytrap@::1 was refused as no address.
	raw := "smtp://user:pw@[::1]:2525"
	if _, err := notify.NewSMTP(raw, defaultSender(raw), notify.SMTPOptions{}); err != nil {
		t.Errorf("NewSMTP with the default sender of %s: %v", raw, err)
	}
}

// TestCheckPublicURL: --public-url takes the scheme and host other machines
// use, and refuses what would make broken DSNs or links.
func TestCheckPublicURL(t *testing.T) {
	for _, tc := range []struct {
		raw, want, err string
	}{
		{"http://devbox.local:8080", "http://devbox.local:8080", ""},
		{"http://devbox.local:8080/", "http://devbox.local:8080", ""},
		{"HTTPS://Flytrap.Example.com", "https://flytrap.example.com", ""},
		{"http://192.168.1.5:18103", "http://192.168.1.5:18103", ""},
		{"http://[fe80::1]:8080/", "http://[fe80::1]:8080", ""},
		{"devbox.local:8080", "", "must start with http:// or https://"},
		{"ftp://devbox.local", "", "must start with http:// or https://"},
		{"/relative", "", "must start with http:// or https://"},
		{"http://:8080", "", "has no host"},
		{"http:devbox", "", "has no host"},
		{"http://key@devbox.local:8080", "", "cannot hold a user name"},
		{"http://devbox.local:8080/?a=b", "", "cannot have a query"},
		{"http://devbox.local:8080?", "", "cannot have a query"},
		{"http://devbox.local:8080/#top", "", "cannot have a fragment"},
		{"http://devbox.local:8080#", "", "cannot have a fragment"},
		{"http://devbox.local:8080/flytrap", "", "cannot have a path"},
		{"http://devbox.local:port", "", "is not a URL"},
		{"http://dev box", "", "is not a URL"},
		{"http://devbox:", "", "has a colon but no port"},
		{"http://devbox:0", "", "a port is 1 to 65535"},
		{"http://devbox:65536", "", "a port is 1 to 65535"},
		{"http://[fe80::1]:", "", "has a colon but no port"},
		{"https://devbox:65535", "https://devbox:65535", ""},
	} {
		err := checkPublicURL(tc.raw)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("checkPublicURL(%q) = %v, want accepted", tc.raw, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("checkPublicURL(%q) = %v, want %q", tc.raw, err, tc.err)
		case tc.err == "" && publicBase(tc.raw) != tc.want:
			t.Errorf("publicBase(%q) = %q, want %q", tc.raw, publicBase(tc.raw), tc.want)
		}
	}
	// The flag is checked before anything starts, as a usage error.
	var out, errOut syncbuf.Buffer
	dir := t.TempDir()
	err := runDev(context.Background(), &out, &errOut, "--addr", "127.0.0.1:0", "--data-dir", dir, "--public-url", "http://devbox.local:8080/flytrap")
	if code, hint := cmdutil.ExitCode(err); err == nil || code != cmdutil.ExitUsage || !strings.Contains(hint, "--public-url http://") {
		t.Errorf("dev --public-url with a path: %v (exit %d, hint %q), want a usage error", err, code, hint)
	}
	wantNoFiles(t, dir, "flytrap.db", "dev.json")
}

// TestAdminLogin: the banner says where the admin's password comes from,
// also on the starts that did not create the admin, such as those started
// at the same moment as the one that did on one PostgreSQL database.
func TestAdminLogin(t *testing.T) {
	tests := []struct {
		name        string
		boot        bootstrap.Result
		envPassword bool
		want        string
	}{
		{"generated", bootstrap.Result{Created: true, AdminPassword: "pw"}, false, "a@b.c / pw   (shown once: note it now)"},
		{"from the environment", bootstrap.Result{Created: true}, true, "a@b.c (password from FLYTRAP_ADMIN_PASSWORD)"},
		{"created by a concurrent start", bootstrap.Result{CreatedElsewhere: true}, true, "a@b.c (created at the same moment by another process on this database: password from its FLYTRAP_ADMIN_PASSWORD, or shown once in its banner)"},
		{"existing, environment set", bootstrap.Result{}, true, "a@b.c (created before this start, by an earlier one or another process on this database: FLYTRAP_ADMIN_PASSWORD applies only when the admin is created)"},
		{"restart", bootstrap.Result{}, false, "a@b.c (password set on first start)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := adminLogin("a@b.c", tt.boot, tt.envPassword); got != tt.want {
				t.Errorf("adminLogin = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestBannerNotes: listening on every interface without --public-url, the
// banner says its URLs are this machine's only and how to fix that; a
// project dev.json named that is gone is said too, not switched silently.
func TestBannerNotes(t *testing.T) {
	info := Info{DashboardURL: "http://127.0.0.1:18103/", ProjectID: 2, DSN: "http://k@127.0.0.1:18103/2", APIKey: "k", AdminEmail: "a@b.c"}
	boot := bootstrap.Result{Project: store.Project{ID: 2, Name: "web"}}
	for _, tc := range []struct {
		addr net.Addr
		lost int64
		want []string
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 18103}, 0, nil},
		{&net.TCPAddr{IP: net.IPv4(192, 168, 1, 5), Port: 18103}, 0, nil},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 18103}, 0, []string{"these URLs say 127.0.0.1", "--public-url http://<this machine's name or address>:18103"}},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 8080}, 0, []string{"--public-url http://<this machine's name or address>:8080"}},
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 18103}, 1, []string{"project 1, which .flytrap/dev.json named, no longer exists", "The ones above are project 2's."}},
	} {
		var out syncbuf.Buffer
		boot.LostProjectID = tc.lost
		if err := printBanner(&cmdutil.IOStreams{Out: &out}, info, boot, adminLogin(info.AdminEmail, boot, false), "http://127.0.0.1:18103", ".flytrap/dev.json", loopbackHint(tc.addr)); err != nil {
			t.Fatal(err)
		}
		got := out.String()
		if !strings.Contains(got, "  Project:    web (id 2)\n") {
			t.Errorf("banner does not name the project:\n%s", got)
		}
		if (len(tc.want) == 0) == strings.Contains(got, "Note:") {
			t.Errorf("%v, lost %d: banner notes %v, want %q:\n%s", tc.addr, tc.lost, strings.Contains(got, "Note:"), tc.want, got)
		}
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%v, lost %d: banner lacks %q:\n%s", tc.addr, tc.lost, w, got)
			}
		}
	}
}

// TestRunPublicURL: with --public-url every URL dev hands out is built on
// it: the banner, dev.json, the dashboard's Setup page, the API's DSNs and
// alert links. The dashboard still takes form posts from a browser on the
// address it listens on, which --public-url does not name.
func TestRunPublicURL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	hooks := make(chan []byte, 8)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hooks <- b
	}))
	defer receiver.Close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	const public = "http://devbox.example:8080"
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, done := startDev(ctx, t, "--addr", addr, "--data-dir", dir, "--public-url", public+"/",
		"--alerts-allow-private", "--alerts-every", "100ms")
	defer func() {
		cancel()
		<-done
	}()

	var info Info
	if b, err := os.ReadFile(filepath.Join(dir, "dev.json")); err != nil || json.Unmarshal(b, &info) != nil {
		t.Fatalf("dev.json: %s, %v", b, err)
	}
	dsn := "http://" + info.APIKey + "@devbox.example:8080/1"
	if info.DashboardURL != public+"/" || info.DSN != dsn {
		t.Errorf("dev.json has %s and %s, want %s/ and %s", info.DashboardURL, info.DSN, public, dsn)
	}
	banner := out.String()
	if !strings.Contains(banner, "  DSN:        "+dsn+"\n") || strings.Contains(banner, "127.0.0.1") || strings.Contains(banner, "Note:") {
		t.Errorf("banner, want %s, no 127.0.0.1 and no note:\n%s", dsn, banner)
	}

	// Sign in as a browser on the listen address would: its Origin is not
	// the public URL's.
	password := regexp.MustCompile(`Login: +\S+ / (\S+)`).FindStringSubmatch(banner)
	if password == nil {
		t.Fatalf("no password in the banner:\n%s", banner)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	base := "http://" + addr
	csrf := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(get(t, c, base+"/login", ""))
	if csrf == nil {
		t.Fatal("no CSRF token on the sign-in page")
	}
	form := url.Values{"email": {info.AdminEmail}, "password": {password[1]}, "csrf_token": {csrf[1]}}
	req, _ := http.NewRequest("POST", base+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	resp, err := c.Do(req)
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in from %s: %v, %v", base, resp, err)
	}
	resp.Body.Close()
	if page := get(t, c, base+"/projects/1/setup", ""); !strings.Contains(page, dsn) {
		t.Errorf("the Setup page lacks %s", dsn)
	}
	if keys := get(t, c, base+"/api/v1/projects/1/keys", info.APIToken); !strings.Contains(keys, `"dsn":"`+dsn+`"`) {
		t.Errorf("the API's keys lack %s: %s", dsn, keys)
	}

	// An alert on the first issue links to it at the public URL.
	var channel struct{ ID int64 }
	post(t, base+"/api/v1/projects/1/alert-channels", info.APIToken, map[string]any{"kind": "webhook", "name": "hook", "url": receiver.URL}, &channel)
	post(t, base+"/api/v1/projects/1/alert-rules", info.APIToken, map[string]any{"channel_id": channel.ID, "type": "new_issue"}, nil)
	resp, err = http.Post(base+"/api/1/store/?sentry_key="+info.APIKey, "application/json", strings.NewReader(`{"message":"public url alert"}`))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("send an event: %v, %v", resp, err)
	}
	resp.Body.Close()
	select {
	case b := <-hooks:
		var hook struct{ URL string }
		if err := json.Unmarshal(b, &hook); err != nil || hook.URL != public+"/issues/1" {
			t.Errorf("webhook url %q (%v), want %s/issues/1: %s", hook.URL, err, public, b)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no webhook within 20s")
	}
}

// TestRunSecureCookies: with an https --public-url, browsers reach dev
// through a TLS proxy, so its cookies are Secure with the __Host- prefix
// and every answer sends HSTS, as the AWS dashboard's do under HTTPS; with
// an http one, a Secure cookie would never come back, so neither is set.
func TestRunSecureCookies(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	for _, tc := range []struct {
		public   string
		cookie   string
		secure   bool
		wantHSTS bool
	}{
		{"https://devbox.example", "__Host-flytrap_login", true, true},
		{"http://devbox.example:8080", "flytrap_login", false, false},
	} {
		t.Run(tc.public, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()
			ctx, cancel := context.WithCancel(context.Background())
			_, done := startDev(ctx, t, "--addr", addr, "--data-dir", t.TempDir(), "--public-url", tc.public)
			defer func() {
				cancel()
				<-done
			}()

			resp, err := http.Get("http://" + addr + "/login")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			cookies := resp.Cookies()
			if len(cookies) != 1 || cookies[0].Name != tc.cookie || cookies[0].Secure != tc.secure {
				t.Errorf("Set-Cookie %q, want %s with Secure %v", resp.Header.Values("Set-Cookie"), tc.cookie, tc.secure)
			}
			if hsts := resp.Header.Get("Strict-Transport-Security"); (hsts != "") != tc.wantHSTS {
				t.Errorf("Strict-Transport-Security %q, want one: %v", hsts, tc.wantHSTS)
			}
		})
	}
}

// get returns the body of a GET that must answer 200, with token as
// bearer when not empty.
func get(t *testing.T, c *http.Client, u, token string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	return string(do(t, c, req, token, http.StatusOK))
}

// post sends body as JSON to the API, which must answer 201, and decodes
// the answer into v when not nil.
func post(t *testing.T, u, token string, body, v any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", u, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	answer := do(t, http.DefaultClient, req, token, http.StatusCreated)
	if v != nil {
		if err := json.Unmarshal(answer, v); err != nil {
			t.Fatal(err)
		}
	}
}

// do sends req through c, with token as bearer when not empty, and
// returns the body of the answer, which must have status want.
func do(t *testing.T, c *http.Client, req *http.Request, token string, want int) []byte {
	t.Helper()
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %s %s", req.Method, req.URL, resp.Status, b)
	}
	return b
}

// --max-backlog and --pace-backlog take 0 for none, where ingest.Config
// takes 0 for its default and a negative value for none.
func TestBacklogLimit(t *testing.T) {
	for _, tt := range []struct{ flag, want int64 }{{0, -1}, {1, 1}, {400, 400}, {50_000, 50_000}} {
		if got := backlogLimit(tt.flag); got != tt.want {
			t.Errorf("backlogLimit(%d) = %d, want %d", tt.flag, got, tt.want)
		}
	}
}

// TestCheckAddr: --addr takes what net.Listen takes, named ports too, and
// refuses the rest.
func TestCheckAddr(t *testing.T) {
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:8080", true},
		{":http", true},
		{"0.0.0.0:https", true},
		{"[::1]:0", true},
		{"localhost:65535", true},
		{"bogus", false},
		{"127.0.0.1", false},
		{"127.0.0.1:x", false},
		{":nosuchservice", false},
		{"127.0.0.1:65536", false},
		{"[::1]:-1", false},
	} {
		if err := checkAddr(tc.addr); (err == nil) != tc.ok {
			t.Errorf("checkAddr(%q) = %v, want accepted %v", tc.addr, err, tc.ok)
		}
	}
}

// TestAllowPrivateEnv: FLYTRAP_ALERTS_ALLOW_PRIVATE=true or yes turns
// --alerts-allow-private on, and a value that is no boolean refuses the
// start (exit 2) before anything is created.
func TestAllowPrivateEnv(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  bool
		ok    bool
	}{{"", false, true}, {"1", true, true}, {"true", true, true}, {"yes", true, true}, {"no", false, true}, {"enable", false, false}} {
		var out, errOut syncbuf.Buffer
		f := &cmdutil.Factory{
			IO:     &cmdutil.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut},
			Getenv: func(k string) string { return map[string]string{notify.EnvAllowPrivate: tc.value}[k] },
		}
		cmd := NewCmd(f)
		if got := cmd.Flags().Lookup("alerts-allow-private").DefValue; got != strconv.FormatBool(tc.want) {
			t.Errorf("%q: --alerts-allow-private defaults to %s, want %v", tc.value, got, tc.want)
		}
		if tc.ok {
			continue
		}
		dir := t.TempDir()
		cmd.SilenceErrors, cmd.SilenceUsage = true, true
		cmd.SetArgs([]string{"--addr", "127.0.0.1:0", "--data-dir", dir})
		// Bounded: a start that did not refuse would otherwise run on.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := cmd.ExecuteContext(ctx)
		cancel()
		if code, _ := cmdutil.ExitCode(err); code != cmdutil.ExitUsage || !strings.Contains(fmt.Sprint(err), notify.EnvAllowPrivate+`="enable" is not a boolean`) {
			t.Errorf("%q: %v (exit %d), want a usage error naming the variable", tc.value, err, code)
		}
		wantNoFiles(t, dir, "flytrap.db", "dev.json")
	}
}
