package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
	"github.com/getflytrap/flytrap/internal/testutil/cutoff"
)

// readsAnswered answers the reads the commands of these tests make before
// their change (the projects, which name web 3, and web's members) and
// hands every change to change.
func readsAnswered(change http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/api/v1/projects":
			json.NewEncoder(w).Encode(apitypes.List[apitypes.Project]{Data: []apitypes.Project{{ID: 3, Name: "web"}}})
		case r.Method == http.MethodGet && r.URL.Path == "/api/v1/projects/3/members":
			json.NewEncoder(w).Encode(apitypes.List[apitypes.Member]{})
		case r.Method == http.MethodGet:
			w.WriteHeader(http.StatusNotFound)
		default:
			change(w, r)
		}
	}
}

// TestUnansweredChange: a command whose change the server got and never
// answered says that it may or may not have been made, and how to check,
// rather than that the server could not be reached.
func TestUnansweredChange(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(readsAnswered(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	const said = "did not answer within 300ms; the change may or may not have been applied\n"
	tests := []struct {
		args []string
		hint string
	}{
		{[]string{"issues", "resolve", "123"}, "hint: check with `flytrap issues view 123` before running the command again"},
		{[]string{"issues", "comment", "123", "fixed"}, "hint: check with `flytrap issues view 123` before running the command again"},
		{[]string{"members", "add", "web", "ada@example.com"}, "hint: check with `flytrap members list web` before"},
		{[]string{"members", "add", "-p", "web", "ada@example.com"}, "hint: check with `flytrap members list web` before"},
		// Without a command of its own to check with: the list beside it.
		{[]string{"tokens", "create", "ci"}, "hint: check with `flytrap tokens list` before"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			f := testFactory(t, map[string]string{"FLYTRAP_URL": srv.URL, "FLYTRAP_TOKEN": "flyt_test"}, &out, &errOut)
			f.HTTPClient = &http.Client{Timeout: 300 * time.Millisecond}
			code := Run(context.Background(), f, tt.args)
			if code != cmdutil.ExitUnreachable || !strings.Contains(errOut.String(), said) || !strings.Contains(errOut.String(), tt.hint) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d, %q and %q", code, errOut.String(), cmdutil.ExitUnreachable, said, tt.hint)
			}
		})
	}
}

// TestGatewayChange: a proxy's 504 (or 502) to a change is a request it
// passed on and got no answer to, which the server may have acted on:
// the command says so and how to check, as for a change never answered,
// rather than that Flytrap is down. A 503, or a proxy's answer to a read,
// says the server behind it is unreachable.
func TestGatewayChange(t *testing.T) {
	status := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		fmt.Fprintf(w, "<html><body><h1>%d</h1></body></html>", status)
	}))
	defer srv.Close()
	const maybe = "the change may or may not have been applied"
	tests := []struct {
		status int
		args   []string
		// said is in the message, hint in the hint; without maybe when
		// nothing can have changed.
		said, hint string
	}{
		{http.StatusGatewayTimeout, []string{"issues", "comment", "123", "fixed"}, maybe, "hint: check with `flytrap issues view 123` before running the command again"},
		{http.StatusBadGateway, []string{"issues", "resolve", "123"}, maybe, "hint: check with `flytrap issues view 123` before running the command again"},
		{http.StatusServiceUnavailable, []string{"issues", "resolve", "123"}, "down or unreachable", "hint: check that Flytrap is running behind the proxy"},
		{http.StatusGatewayTimeout, []string{"issues", "view", "123"}, "down or unreachable", "hint: check that Flytrap is running behind the proxy"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status, " ", strings.Join(tt.args, " ")), func(t *testing.T) {
			status = tt.status
			var out, errOut bytes.Buffer
			f := testFactory(t, map[string]string{"FLYTRAP_URL": srv.URL, "FLYTRAP_TOKEN": "flyt_test"}, &out, &errOut)
			code := Run(context.Background(), f, tt.args)
			got := errOut.String()
			if code != cmdutil.ExitUnreachable || !strings.Contains(got, tt.said) || !strings.Contains(got, tt.hint) ||
				(tt.said != maybe && strings.Contains(got, maybe)) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d, %q and %q", code, got, cmdutil.ExitUnreachable, tt.said, tt.hint)
			}
		})
	}
}

// TestCutOffChange: a change whose answer came with its status line whole
// and its body cut off is told by that status: a refusal (4xx) or a 500
// was not made, with the exit code of its status; only a 502 or 504,
// which a proxy may send after passing the change on, and a connection
// lost before any status line say that it may or may not have been
// made, with how to check.
func TestCutOffChange(t *testing.T) {
	status := 0
	srv := httptest.NewServer(readsAnswered(func(w http.ResponseWriter, r *http.Request) {
		cutoff.Answer(t, w, status)
	}))
	defer srv.Close()
	const (
		maybe = "the change may or may not have been applied"
		check = "hint: check with `flytrap issues view 123` before running the command again"
	)
	tests := []struct {
		status int
		code   int
		said   string
	}{
		{http.StatusConflict, cmdutil.ExitError, "answered HTTP 409 Conflict, and its message was cut off (unexpected EOF): the server refused the change, which was not made"},
		{http.StatusBadRequest, cmdutil.ExitError, "the server refused the change, which was not made"},
		{http.StatusNotFound, cmdutil.ExitNotFound, "the server refused the change, which was not made"},
		{http.StatusUnauthorized, cmdutil.ExitAuth, "the server refused the change, which was not made"},
		{http.StatusForbidden, cmdutil.ExitForbidden, "the server refused the change, which was not made"},
		{http.StatusInternalServerError, cmdutil.ExitError, "the change was not made"},
		{http.StatusBadGateway, cmdutil.ExitUnreachable, maybe},
		{http.StatusGatewayTimeout, cmdutil.ExitUnreachable, maybe},
		{0, cmdutil.ExitUnreachable, maybe},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			status = tt.status
			var out, errOut bytes.Buffer
			f := testFactory(t, map[string]string{"FLYTRAP_URL": srv.URL, "FLYTRAP_TOKEN": "flyt_test"}, &out, &errOut)
			code := Run(context.Background(), f, []string{"issues", "comment", "123", "fixed"})
			got := errOut.String()
			if code != tt.code || !strings.Contains(got, tt.said) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d and %q", code, got, tt.code, tt.said)
			}
			if unknown := tt.said == maybe; strings.Contains(got, maybe) != unknown || strings.Contains(got, check) != unknown {
				t.Errorf("stderr:\n%s\nwant %q and %q only for a change that may have been made", got, maybe, check)
			}
		})
	}
}
