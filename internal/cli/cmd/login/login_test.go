package login

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
	"github.com/getflytrap/flytrap/internal/cli/hosts"
)

// TestDeployedURLIsTheDefault: after `flytrap deploy` records its
// dashboard, `flytrap login` without a URL logs in there.
func TestDeployedURLIsTheDefault(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/me" || r.Header.Get("Authorization") != "Bearer flyt_good" {
			w.WriteHeader(401)
			json.NewEncoder(w).Encode(apitypes.Error{Error: apitypes.ErrorBody{Code: "unauthorized", Message: "invalid API token"}})
			return
		}
		json.NewEncoder(w).Encode(apitypes.User{ID: 1, Email: "ada@example.com", Role: "admin"})
	}))
	defer srv.Close()
	dir := t.TempDir()
	var errOut bytes.Buffer
	f := &cmdutil.Factory{
		IO:     &cmdutil.IOStreams{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &errOut},
		Getenv: func(k string) string { return map[string]string{"FLYTRAP_CONFIG_DIR": dir}[k] },
	}
	if err := f.RecordDeployedURL(srv.URL + "/"); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	if err := Run(context.Background(), &Options{F: f, Token: "flyt_good", Now: func() time.Time { return now }}); err != nil {
		t.Fatalf("login: %v (%s)", err, errOut.String())
	}
	cfg, err := hosts.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	h := cfg.Hosts[srv.URL]
	if cfg.Default != srv.URL || h.Token != "flyt_good" || h.User != "ada@example.com" || !h.Added.Equal(now) {
		t.Errorf("hosts.json = %+v", cfg)
	}
	// A token the server refuses is not kept.
	err = Run(context.Background(), &Options{F: f, URL: srv.URL, Token: "flyt_bad", Now: time.Now})
	if code, _ := cmdutil.ExitCode(err); code != cmdutil.ExitAuth {
		t.Errorf("bad token: %v, exit %d", err, code)
	}
	if cfg, _ := hosts.Load(dir); cfg.Hosts[srv.URL].Token != "flyt_good" {
		t.Errorf("a refused token replaced the good one: %+v", cfg.Hosts)
	}
}

// TestPlainHTTPWarning: a login over http:// to another machine sends the
// password, and every later command the token, unencrypted. login says so
// on standard error before it sends either; to a loopback server, or over
// https://, it says nothing.
func TestPlainHTTPWarning(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(apitypes.User{ID: 1, Email: "ada@example.com", Role: "admin"})
	}))
	defer srv.Close()
	// Every host name reaches the test server.
	toServer := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
	}}}
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	for _, tc := range []struct {
		url  string
		warn bool
	}{
		{"http://flytrap.example.test", true},
		{"http://203.0.113.7:8080", true},
		{srv.URL, false},
		{"http://localhost:" + port, false},
		{"http://[::ffff:127.0.0.1]:" + port, false},
	} {
		var errOut bytes.Buffer
		f := &cmdutil.Factory{
			IO:         &cmdutil.IOStreams{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &errOut},
			Getenv:     func(k string) string { return map[string]string{"FLYTRAP_CONFIG_DIR": t.TempDir()}[k] },
			HTTPClient: toServer,
		}
		if err := Run(context.Background(), &Options{F: f, URL: tc.url, Token: "flyt_good", Now: time.Now}); err != nil {
			t.Fatalf("%s: %v (%s)", tc.url, err, errOut.String())
		}
		if got := strings.Contains(errOut.String(), "plain HTTP: your password and the API token cross the network unencrypted"); got != tc.warn {
			t.Errorf("%s: warned %v, want %v: %q", tc.url, got, tc.warn, errOut.String())
		}
	}
	var w bytes.Buffer
	warnPlainHTTP(&w, "https://flytrap.example.test")
	if w.Len() != 0 {
		t.Errorf("https: %q", w.String())
	}
}
