package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
)

// TestPartialChange: `issues resolve` of issues in five projects sends a
// bulk request a project; when the third fails, the run exits with the
// failure's code, prints the issues changed before, and names every
// issue by what became of it: made, of the failed request (not made,
// maybe made, or made with its answer cut off, as the failure tells), or
// not sent. Reading a change back failing leaves its issues made.
func TestPartialChange(t *testing.T) {
	const failAt = 3 // the bulk request, counted from 1, that fails
	var (
		mode  atomic.Value // how the failing request fails
		bulks atomic.Int32
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if id, ok := strings.CutPrefix(p, "/api/v1/issues/"); ok && r.Method == http.MethodGet {
			n, _ := strconv.ParseInt(id, 10, 64)
			if mode.Load() == "read back" && bulks.Load() >= failAt {
				w.WriteHeader(http.StatusInternalServerError)
				json.NewEncoder(w).Encode(apitypes.Error{Error: apitypes.ErrorBody{Code: "internal", Message: "database is locked"}})
				return
			}
			json.NewEncoder(w).Encode(apitypes.IssueDetail{Issue: apitypes.Issue{ID: n, ProjectID: n / 10, Title: "an issue", Status: apitypes.StatusResolved}})
			return
		}
		if r.Method != http.MethodPost || !strings.HasSuffix(p, "/issues/bulk") {
			t.Errorf("unexpected %s %s", r.Method, p)
			w.WriteHeader(http.StatusTeapot)
			return
		}
		if bulks.Add(1) != failAt {
			json.NewEncoder(w).Encode(apitypes.BulkResult{Updated: 1})
			return
		}
		switch mode.Load() {
		case "refused":
			w.WriteHeader(http.StatusForbidden)
			json.NewEncoder(w).Encode(apitypes.Error{Error: apitypes.ErrorBody{Code: "forbidden", Message: "only the project's admins may change its issues"}})
		case "connection lost":
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		case "answer cut off":
			conn, buf, _ := w.(http.Hijacker).Hijack()
			fmt.Fprint(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"updated\":")
			buf.Flush()
			conn.Close()
		default:
			json.NewEncoder(w).Encode(apitypes.BulkResult{Updated: 1})
		}
	}))
	defer srv.Close()
	// Fails the failing bulk request before writing it, as a refused
	// connection does.
	notSent := roundTripper(func(r *http.Request) (*http.Response, error) {
		if r.Method == http.MethodPost && bulks.Load() == failAt-1 {
			bulks.Add(1)
			return nil, errors.New("connect: connection refused")
		}
		return http.DefaultTransport.RoundTrip(r)
	})
	args := []string{"issues", "resolve", "11", "12", "21", "31", "41", "51"}
	tests := []struct {
		mode    string
		client  *http.Client
		code    int
		printed int      // issues printed as changed
		said    []string // lines of stderr
	}{
		{"refused", nil, cmdutil.ExitForbidden, 3, []string{
			"error: only the project's admins may change its issues\n",
			"made: 11, 12, 21\n", "not made, the server refused them: 31\n", "not sent: 41, 51\n",
			"hint: run the command on those not sent only: they were never made\n"}},
		{"connection lost", nil, cmdutil.ExitUnreachable, 3, []string{
			"error: the connection to " + srv.URL + " failed after the request was sent (",
			"made: 11, 12, 21\n", "may or may not have been made (check before sending them again): 31\n", "not sent: 41, 51\n",
			"hint: check with `flytrap issues view 11` before running the command again"}},
		{"not sent", &http.Client{Transport: notSent}, cmdutil.ExitUnreachable, 3, []string{
			"error: cannot reach " + srv.URL + ": ",
			"made: 11, 12, 21\n", "not made, the request did not reach the server: 31\n", "not sent: 41, 51\n"}},
		{"answer cut off", nil, cmdutil.ExitUnreachable, 3, []string{
			"error: the answer of the server at " + srv.URL + " was cut off: unexpected EOF\n",
			"made: 11, 12, 21, 31\n", "not sent: 41, 51\n",
			"hint: do not run the command again; read the change back with `flytrap issues view 11`; then run the command on those not sent only"}},
		{"read back", nil, cmdutil.ExitError, 3, []string{
			"error: reading the changed issues back: issue 31: database is locked\n",
			"made: 11, 12, 21, 31\n", "not sent: 41, 51\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			mode.Store(tt.mode)
			bulks.Store(0)
			var out, errOut bytes.Buffer
			f := testFactory(t, map[string]string{"FLYTRAP_URL": srv.URL, "FLYTRAP_TOKEN": "flyt_test"}, &out, &errOut)
			f.HTTPClient = tt.client
			code := Run(context.Background(), f, args)
			stderr := errOut.String()
			if code != tt.code || strings.Count(out.String(), " is resolved: an issue\n") != tt.printed {
				t.Errorf("exit %d, stdout:\n%s\nwant exit %d and %d issues", code, out.String(), tt.code, tt.printed)
			}
			for _, s := range tt.said {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr:\n%s\nwant %q", stderr, s)
				}
			}
			if strings.Contains(stderr, "nothing was changed") {
				t.Errorf("stderr:\n%s\nsays nothing was changed, where issues were", stderr)
			}
			if n := bulks.Load(); n != failAt {
				t.Errorf("%d bulk requests, want %d: none after the failure", n, failAt)
			}
		})
	}
}
