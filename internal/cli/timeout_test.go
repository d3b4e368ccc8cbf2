package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
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
			env := map[string]string{"FLYTRAP_URL": srv.URL, "FLYTRAP_TOKEN": "flyt_test", "FLYTRAP_CONFIG_DIR": t.TempDir()}
			f := &cmdutil.Factory{
				IO:         &cmdutil.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut},
				Getenv:     func(k string) string { return env[k] },
				HTTPClient: &http.Client{Timeout: 300 * time.Millisecond},
			}
			code := Run(context.Background(), f, tt.args)
			if code != cmdutil.ExitUnreachable || !strings.Contains(errOut.String(), said) || !strings.Contains(errOut.String(), tt.hint) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d, %q and %q", code, errOut.String(), cmdutil.ExitUnreachable, said, tt.hint)
			}
		})
	}
}
