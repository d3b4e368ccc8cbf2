package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
)

// TestJQAfterChange: a --jq expression that does not parse is a usage
// error before a change command sends anything; one that parses but fails
// on the server's answer to a change exits ExitOutput saying the change
// was made, prints a new token's secret all the same, and on a read keeps
// exit code 1.
func TestJQAfterChange(t *testing.T) {
	var changes atomic.Int32
	issue := apitypes.Issue{ID: 1, ProjectID: 1, Title: "TypeError: boom", Status: "resolved", Level: "error", Count: 1}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			changes.Add(1)
		}
		switch r.Method + " " + r.URL.Path {
		case "PATCH /api/v1/issues/1":
			json.NewEncoder(w).Encode(issue)
		case "GET /api/v1/projects":
			json.NewEncoder(w).Encode(apitypes.List[apitypes.Project]{Data: []apitypes.Project{{ID: 1, Name: "web"}}})
		case "GET /api/v1/projects/1/issues":
			json.NewEncoder(w).Encode(apitypes.List[apitypes.Issue]{Data: []apitypes.Issue{issue}})
		case "POST /api/v1/tokens":
			w.WriteHeader(http.StatusCreated)
			json.NewEncoder(w).Encode(apitypes.CreatedToken{APIToken: apitypes.APIToken{ID: 3, Name: "ci"}, Token: "flyt_secret"})
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	for _, tt := range []struct {
		args             []string
		code             int
		changes          int32
		inStderr, inBoth string
	}{
		{[]string{"issues", "resolve", "1", "--jq", ".["}, cmdutil.ExitUsage, 0, "error: --jq: unexpected EOF", ""},
		{[]string{"tokens", "create", "ci", "--jq", "{"}, cmdutil.ExitUsage, 0, "error: --jq: unexpected EOF", ""},
		{[]string{"issues", "resolve", "1", "--jq", ".[0].title.x"}, cmdutil.ExitOutput, 1,
			"error: the change was made, but printing the server's answer failed: --jq: expected an object but got: string (\"TypeError: boom\")\nhint: do not repeat the command", ""},
		{[]string{"tokens", "create", "ci", "--jq", ".token.x"}, cmdutil.ExitOutput, 1, "Token (shown once): flyt_secret\nerror: the change was made", ""},
		{[]string{"issues", "list", "--jq", ".[0].title.x"}, cmdutil.ExitError, 0, "error: --jq: expected an object", ""},
		{[]string{"issues", "resolve", "1", "--jq", ".[0].title"}, cmdutil.ExitOK, 1, "", "TypeError: boom\n"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			changes.Store(0)
			var out, errOut bytes.Buffer
			f := testFactory(t, map[string]string{"FLYTRAP_URL": srv.URL, "FLYTRAP_TOKEN": "flyt_test"}, &out, &errOut)
			f.Now = func() time.Time { return tableNow }
			if code := Run(context.Background(), f, tt.args); code != tt.code {
				t.Errorf("exit %d, want %d\n%s%s", code, tt.code, out.String(), errOut.String())
			}
			if got := changes.Load(); got != tt.changes {
				t.Errorf("%d changes sent, want %d", got, tt.changes)
			}
			if !strings.Contains(errOut.String(), tt.inStderr) || !strings.Contains(out.String(), tt.inBoth) {
				t.Errorf("stdout %q, stderr %q; want %q in stderr, %q in stdout", out.String(), errOut.String(), tt.inStderr, tt.inBoth)
			}
		})
	}
}
