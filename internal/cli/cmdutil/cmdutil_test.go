package cmdutil

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/client"
	"github.com/getflytrap/flytrap/internal/deploy"
)

// TestExitCode maps each layer's errors, wrapped or not, to a code and a
// hint in the one place that knows exit codes.
func TestExitCode(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantCode int
		wantHint string
	}{
		{"nil", nil, ExitOK, ""},
		{"plain", errors.New("boom"), ExitError, ""},
		{"command usage", UsageError("bad flag", "see --help"), ExitUsage, "see --help"},
		{"command error with code 0", &Error{Msg: "m", Hint: "h"}, ExitError, "h"},
		{"deploy failure", &deploy.Error{Msg: "no AWS credentials found", Hint: "run `aws configure`"}, ExitError, "run `aws configure`"},
		{"deploy usage", &deploy.Error{Msg: "destroy needs a confirmation", Hint: "pass --yes", Usage: true}, ExitUsage, "pass --yes"},
		{"wrapped deploy usage", fmt.Errorf("step confirm: %w", &deploy.Error{Msg: "m", Hint: "pass --name", Usage: true}), ExitUsage, "pass --name"},
		// Flytrap's own 404 is a project or an issue not found; a 404
		// that is not Flytrap's JSON is a wrong URL (a path prefix left
		// out), and a proxy's 502 a server down behind it.
		{"flytrap not found", &client.Error{Status: 404, Code: apitypes.CodeNotFound, Message: "issue 9 not found"}, ExitNotFound, "list what you can see with the matching `list` command"},
		{"not flytrap 404", &client.Error{Status: 404}, ExitUnreachable, "check the URL (flytrap login URL, or FLYTRAP_URL): a Flytrap server behind a proxy under a path is that path, such as https://example.com/flytrap"},
		{"not flytrap 405", fmt.Errorf("checking the token: %w", &client.Error{Status: 405}), ExitUnreachable, "check the URL (flytrap login URL, or FLYTRAP_URL): a Flytrap server behind a proxy under a path is that path, such as https://example.com/flytrap"},
		{"not json", fmt.Errorf("checking the token: %w", &client.NotFlytrapError{Msg: "GET /x answered what is not JSON"}), ExitUnreachable, "check the URL (flytrap login URL, or FLYTRAP_URL): a Flytrap server behind a proxy under a path is that path, such as https://example.com/flytrap"},
		{"redirect away", fmt.Errorf("checking the token: %w", &client.RedirectError{From: "https://h/api/v1/me", To: "http://h/api/v1/me", Origin: "https://h:443"}), ExitUnreachable,
			"if the server moved and you trust where it points, give that URL instead (flytrap login URL, or FLYTRAP_URL)"},
		{"proxy 502", &client.Error{Status: 502}, ExitUnreachable, "check that Flytrap is running behind the proxy, and that the proxy reaches it"},
		{"proxy 502 to a read", &client.Error{Status: 502, Method: "GET"}, ExitUnreachable, "check that Flytrap is running behind the proxy, and that the proxy reaches it"},
		{"proxy 503 to a change", &client.Error{Status: 503, Method: "POST"}, ExitUnreachable, "check that Flytrap is running behind the proxy, and that the proxy reaches it"},
		{"proxy 504 to a change", &changeError{err: &client.Error{Status: 504, Method: "POST"}, check: "flytrap issues view 7"}, ExitUnreachable,
			"check with `flytrap issues view 7` before running the command again: if the change was made, running it again may make it twice"},
		{"proxy 401", &client.Error{Status: 401}, ExitAuth, "run `flytrap login` again, or check FLYTRAP_TOKEN"},
		{"gateway 413", &client.Error{Status: 413}, ExitError, ""},
		{"gateway 403", &client.Error{Status: 403}, ExitForbidden, ""},
		{"flytrap 500", &client.Error{Status: 500, Code: "internal", Message: "internal error"}, ExitError, ""},
		// A change sent and not answered may have been made: check
		// before repeating it; one never sent is just unreachable.
		{"change unanswered", fmt.Errorf("resolving: %w", &client.UnreachableError{Method: "PUT", Sent: true}), ExitUnreachable,
			"check with the matching `list` or `view` command before running the command again: if the change was made, running it again may make it twice"},
		{"change unanswered, with its check", &changeError{err: &client.UnreachableError{Method: "PUT", Sent: true}, check: "flytrap issues view 7"}, ExitUnreachable,
			"check with `flytrap issues view 7` before running the command again: if the change was made, running it again may make it twice"},
		{"change made, answer cut off", &client.UnreachableError{Method: "POST", Sent: true, Applied: true}, ExitUnreachable,
			"do not run the command again; read the change back with the matching `list` or `view` command"},
		{"change never sent", &client.UnreachableError{Method: "POST"}, ExitUnreachable,
			"check that the server is running and the URL is right (flytrap login URL, or FLYTRAP_URL)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, hint := ExitCode(tt.err)
			if code != tt.wantCode || hint != tt.wantHint {
				t.Errorf("ExitCode = %d, %q; want %d, %q", code, hint, tt.wantCode, tt.wantHint)
			}
		})
	}
}

func TestLineReader(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    bool
		wantErr bool
	}{
		{"yes", "yes\n", true, false},
		{"y without newline", "y", true, false},
		{"upper case", " YES \n", true, false},
		{"no", "no\n", false, false},
		{"anything else", "sure\n", false, false},
		{"empty line", "\n", false, false},
		{"no input", "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			lr := &LineReader{In: strings.NewReader(tt.in), Out: &out, Flag: "--yes"}
			got, err := lr.YesNo(context.Background(), "Apply?")
			if !strings.HasPrefix(out.String(), "Apply? [y/N] ") {
				t.Errorf("prompt %q", out.String())
			}
			if tt.wantErr {
				code, hint := ExitCode(err)
				if code != ExitUsage || !strings.Contains(hint, "--yes") || !strings.Contains(err.Error(), "no answer on standard input") {
					t.Errorf("err = %v (exit %d, hint %q), want a usage error naming --yes", err, code, hint)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("YesNo = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// TestLineReaderCancel: an interrupted prompt returns at once, with the
// context's error, although nothing was typed.
func TestLineReaderCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	lr := &LineReader{In: blockingReader{}, Out: &bytes.Buffer{}, Flag: "--yes"}
	if _, err := lr.Line(ctx, "Name: "); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// blockingReader never delivers input, like a terminal nobody types in.
type blockingReader struct{}

func (blockingReader) Read([]byte) (int, error) { select {} }

// TestIsTerminal: buffers and regular files are not terminals.
func TestIsTerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "stream")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, s := range []any{&bytes.Buffer{}, f, nil} {
		if IsTerminal(s) {
			t.Errorf("IsTerminal(%T) = true", s)
		}
	}
	if (&IOStreams{In: f, Out: f}).Interactive() {
		t.Error("streams on a regular file are interactive")
	}
}

func TestFactoryEnv(t *testing.T) {
	f := &Factory{Getenv: func(k string) string { return map[string]string{"SET": "v", "EMPTY": ""}[k] }}
	for _, tt := range []struct{ k, want string }{{"SET", "v"}, {"EMPTY", "def"}, {"UNSET", "def"}} {
		if got := f.Env(tt.k, "def"); got != tt.want {
			t.Errorf("Env(%q) = %q, want %q", tt.k, got, tt.want)
		}
	}
}

// TestPrintOnce: a one-time secret a --jq filter leaves out goes to
// standard error, so it is never lost; one the output holds is not
// repeated there.
func TestPrintOnce(t *testing.T) {
	v := map[string]string{"email": "ivy@qa.test", "password": "s3cretPassw0rd"}
	for _, tt := range []struct {
		name        string
		j           JSONFlags
		out, errOut string
	}{
		{"text", JSONFlags{}, "table\n", ""},
		{"json", JSONFlags{JSON: true}, "{\n  \"email\": \"ivy@qa.test\",\n  \"password\": \"s3cretPassw0rd\"\n}\n", ""},
		{"jq keeps it", JSONFlags{JQ: ".password"}, "s3cretPassw0rd\n", ""},
		{"jq drops it", JSONFlags{JQ: ".email"}, "ivy@qa.test\n", "Password: s3cretPassw0rd\n"},
		{"jq selects nothing", JSONFlags{JQ: "empty"}, "", "Password: s3cretPassw0rd\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			f := &Factory{IO: &IOStreams{Out: &out, ErrOut: &errOut}}
			err := f.PrintOnce(tt.j, v, v["password"], "Password", func(w io.Writer) error {
				_, err := io.WriteString(w, "table\n")
				return err
			})
			if err != nil || out.String() != tt.out || errOut.String() != tt.errOut {
				t.Errorf("PrintOnce = %v, stdout %q, stderr %q; want stdout %q, stderr %q", err, out.String(), errOut.String(), tt.out, tt.errOut)
			}
		})
	}
}

// TestHostsWritesBackMerged: a hosts.json holding one server under two
// spellings is written back with the one token kept, and the token left
// out is named with the command that revokes it; the next load is quiet.
func TestHostsWritesBackMerged(t *testing.T) {
	dir := t.TempDir()
	file := `{"default": "https://x.example", "hosts": {
		"https://x.example": {"token": "flyt_new", "token_id": 8, "added": "2026-02-01T00:00:00Z"},
		"https://X.example:443/": {"token": "flyt_old", "token_id": 7, "added": "2026-01-01T00:00:00Z"}}}`
	if err := os.WriteFile(dir+"/hosts.json", []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	var errOut bytes.Buffer
	f := &Factory{IO: &IOStreams{Out: io.Discard, ErrOut: &errOut}, Getenv: func(k string) string {
		if k == "FLYTRAP_CONFIG_DIR" {
			return dir
		}
		return ""
	}}
	if _, cfg, err := f.Hosts(); err != nil || cfg.Hosts["https://x.example"].Token != "flyt_new" {
		t.Fatalf("Hosts = %v, %v", cfg, err)
	}
	want := "warning: hosts.json held https://x.example also as https://X.example:443/; kept the token added 2026-02-01T00:00:00Z and dropped the one added 2026-01-01T00:00:00Z; " +
		"it is still valid on the server: revoke it with `flytrap tokens revoke 7 --host https://x.example`\n"
	if errOut.String() != want {
		t.Errorf("stderr = %q, want %q", errOut.String(), want)
	}
	b, err := os.ReadFile(dir + "/hosts.json")
	if err != nil || strings.Contains(string(b), "flyt_old") || !strings.Contains(string(b), "flyt_new") {
		t.Errorf("hosts.json written back = %s, %v; want flyt_new alone", b, err)
	}
	errOut.Reset()
	if _, _, err := f.Hosts(); err != nil || errOut.Len() != 0 {
		t.Errorf("second load: %v, stderr %q; want it quiet", err, errOut.String())
	}
}
