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
	"unicode"
	"unicode/utf8"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/testutil/golden"
)

// hostile is text an SDK key holder or another user can put in a title,
// a name or an address: C0 and C1 controls, escape sequences that recolor,
// clear the screen, retitle the window and hide a link, and bidi controls
// that reorder what a terminal shows.
const hostile = "Evil\x1b[31mred\x1b]0;pwned\a\x1b[2J" +
	"\x1b]8;;https://evil.test\x1b\\link\x1b]8;;\x1b\\" +
	" c1\u009b31m\u009d0;t\u009c nel\u0085 \u202eRTL\u202c \u2066iso\u2069 del\x7f tab\tnl\n end"

// hostileAPI answers every request the CLI's text commands make with
// hostile strings wherever the server's data is text.
func hostileAPI(t *testing.T) *httptest.Server {
	at := tableNow.Add(-time.Hour)
	email := "bidi\u202eevil\x1b[2J@qa.test"
	project := apitypes.Project{ID: 3, Name: "web" + hostile, CreatedAt: at}
	key := apitypes.ProjectKey{ID: 1, ProjectID: 3, PublicKey: "0123456789abcdef0123456789abcdef", Active: true, CreatedAt: at,
		DSN: "http://0123456789abcdef0123456789abcdef@flytrap.test/3"}
	user := apitypes.User{ID: 5, Email: email, Role: "member", CreatedAt: at}
	member := apitypes.Member{ProjectID: 3, UserID: 5, Email: email, Role: "admin", CreatedAt: at}
	issue := apitypes.Issue{ID: 7, ProjectID: 3, Title: "Title" + hostile, Culprit: "culprit" + hostile, Level: "error",
		Status: "resolved", Count: 2, UserCount: 1, FirstSeen: at, LastSeen: at,
		AssignedTo: &apitypes.Assignee{Type: "user", ID: 5, Email: email, Name: email}}
	payload, err := json.Marshal(map[string]any{
		"message": "message" + hostile,
		"exceptions": []map[string]any{{
			"type": "Type" + hostile, "value": "value" + hostile,
			"frames": []map[string]any{{"filename": "file" + hostile + ".js", "function": "fn" + hostile, "lineno": 7, "in_app": true}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	detail := apitypes.IssueDetail{Issue: issue, Tags: []apitypes.TagCount{{Key: "key" + hostile, Value: "value" + hostile, Count: 2}},
		LatestEvent: &apitypes.EventDetail{Event: apitypes.Event{EventID: "0123456789abcdef0123456789abcdef", Received: at}, Payload: payload}}
	token := apitypes.APIToken{ID: 4, UserID: 5, Name: "tok" + hostile, Scope: "full", CreatedAt: at}
	// The server refuses such channel names now; a channel from before, a
	// server of another version or a proxy may still send them.
	channel := apitypes.AlertChannel{ID: 6, ProjectID: 3, Kind: "webhook" + hostile, Name: "chan" + hostile, URL: "https://hook.test/" + hostile, CreatedAt: at}
	rule := apitypes.AlertRule{ID: 8, ProjectID: 3, ChannelID: 6, Type: "frequency" + hostile, Threshold: 5, WindowMinutes: 10,
		MinLevel: "error" + hostile, Environment: "env" + hostile, Enabled: true, CreatedAt: at}
	notification := apitypes.Notification{ID: 9, ProjectID: 3, IssueID: 7, RuleID: 8, ChannelID: 6, ChannelName: "chan" + hostile,
		Reason: "new_issue" + hostile, Status: "dead" + hostile, Attempts: 8, LastError: "refused" + hostile, CreatedAt: at,
		Payload: apitypes.AlertPayload{IssueID: 7, Title: "Title" + hostile}}
	answers := map[string]any{
		"GET /api/v1/me":                         user,
		"GET /api/v1/projects":                   apitypes.List[apitypes.Project]{Data: []apitypes.Project{project}},
		"POST /api/v1/projects":                  apitypes.CreatedProject{Project: project, Key: key},
		"PATCH /api/v1/projects/3":               apitypes.ProjectDetail{Project: project},
		"DELETE /api/v1/projects/3":              nil,
		"GET /api/v1/projects/3/keys":            apitypes.List[apitypes.ProjectKey]{Data: []apitypes.ProjectKey{key}},
		"POST /api/v1/projects/3/keys/rotate":    key,
		"GET /api/v1/projects/3/members":         apitypes.List[apitypes.Member]{Data: []apitypes.Member{member}},
		"POST /api/v1/projects/3/members":        member,
		"DELETE /api/v1/projects/3/members/5":    nil,
		"GET /api/v1/projects/3/issues":          apitypes.List[apitypes.Issue]{Data: []apitypes.Issue{issue}},
		"GET /api/v1/issues/7":                   detail,
		"PATCH /api/v1/issues/7":                 issue,
		"DELETE /api/v1/issues/7":                nil,
		"GET /api/v1/users":                      apitypes.List[apitypes.User]{Data: []apitypes.User{user}},
		"POST /api/v1/users":                     user,
		"PATCH /api/v1/users/5":                  user,
		"DELETE /api/v1/users/5":                 nil,
		"GET /api/v1/tokens":                     apitypes.List[apitypes.APIToken]{Data: []apitypes.APIToken{token}},
		"POST /api/v1/tokens":                    apitypes.CreatedToken{APIToken: token, Token: "flyt_new"},
		"GET /api/v1/projects/3/alert-channels":  apitypes.List[apitypes.AlertChannel]{Data: []apitypes.AlertChannel{channel}},
		"POST /api/v1/projects/3/alert-channels": apitypes.CreatedAlertChannel{AlertChannel: channel, Secret: "whsec_" + hostile},
		"DELETE /api/v1/alert-channels/6":        nil,
		"POST /api/v1/alert-channels/6/test":     notification,
		"GET /api/v1/projects/3/alert-rules":     apitypes.List[apitypes.AlertRule]{Data: []apitypes.AlertRule{rule}},
		"POST /api/v1/projects/3/alert-rules":    rule,
		"PUT /api/v1/alert-rules/8":              rule,
		"DELETE /api/v1/alert-rules/8":           nil,
		"GET /api/v1/projects/3/notifications":   apitypes.List[apitypes.Notification]{Data: []apitypes.Notification{notification}},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := answers[r.Method+" "+r.URL.Path]
		switch {
		case r.URL.Path == "/api/v1/issues/9":
			// Refusals quote names too.
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(apitypes.Error{Error: apitypes.ErrorBody{Code: "bad_request", Message: "bad" + hostile}})
		case !ok:
			// Error messages quote names too.
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(apitypes.Error{Error: apitypes.ErrorBody{Code: "not_found", Message: "no" + hostile}})
		case a == nil:
			w.WriteHeader(http.StatusNoContent)
		default:
			json.NewEncoder(w).Encode(a)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestHostileText runs every command that prints the server's text, on a
// terminal and through a pipe: none may pass on a control character or a
// bidi control; what they print instead is in testdata/hostile*.golden.
func TestHostileText(t *testing.T) {
	srv := hostileAPI(t)
	commands := [][]string{
		{"issues", "list", "-p", "3"},
		{"issues", "view", "7"},
		{"issues", "view", "8"},
		{"issues", "view", "9"},
		{"issues", "resolve", "7"},
		{"issues", "ignore", "7"},
		{"issues", "unresolve", "7"},
		{"issues", "delete", "7"},
		{"issues", "delete", "7", "--yes"},
		{"projects", "list"},
		{"projects", "create", "web"},
		{"projects", "rename", "3", "web2"},
		{"projects", "dsn", "3"},
		{"projects", "keys", "3"},
		{"projects", "rotate-key", "3"},
		{"projects", "rotate-key", "3", "--yes"},
		{"projects", "delete", "3"},
		{"projects", "delete", "3", "--yes"},
		{"members", "list", "3"},
		{"members", "add", "3", "bidi\u202eevil\x1b[2J@qa.test", "--role", "admin"},
		{"members", "remove", "3", "bidi\u202eevil\x1b[2J@qa.test"},
		{"members", "remove", "3", "bidi\u202eevil\x1b[2J@qa.test", "--yes"},
		{"users", "list"},
		{"users", "add", "ivy@qa.test", "--password-stdin"},
		{"users", "role", "5", "member"},
		{"users", "remove", "5"},
		{"users", "remove", "5", "--yes"},
		{"tokens", "list"},
		{"tokens", "create", "ci"},
		{"alerts", "channels", "list", "-p", "3"},
		{"alerts", "channels", "add", "-p", "3", "--type", "webhook", "--url", "https://hook.test/x"},
		{"alerts", "channels", "test", "6"},
		{"alerts", "channels", "remove", "6", "--yes"},
		{"alerts", "rules", "list", "-p", "3"},
		{"alerts", "rules", "add", "-p", "3", "--channel", "chan" + hostile, "--type", "new_issue"},
		{"alerts", "rules", "add", "-p", "3", "--channel", "nope", "--type", "new_issue"},
		{"alerts", "rules", "disable", "8"},
		{"alerts", "rules", "remove", "8", "--yes"},
		{"alerts", "history", "-p", "3"},
		{"login", srv.URL, "--token", "flyt_test"},
	}
	for _, tty := range []bool{true, false} {
		name := "hostile.golden"
		if !tty {
			name = "hostile-pipe.golden"
		}
		t.Run(name, func(t *testing.T) {
			var all bytes.Buffer
			for _, args := range commands {
				var out, errOut bytes.Buffer
				f := testFactory(t, map[string]string{"FLYTRAP_URL": srv.URL, "FLYTRAP_TOKEN": "flyt_test", "NO_COLOR": "1"}, &out, &errOut)
				f.IO.In, f.IO.TTY, f.Now = strings.NewReader("a password long enough\n"), tty, func() time.Time { return tableNow }
				code := Run(context.Background(), f, args)
				for stream, b := range map[string][]byte{"stdout": out.Bytes(), "stderr": errOut.Bytes()} {
					if bad := unsafeText(b, !tty && stream == "stdout"); bad != "" {
						t.Errorf("flytrap %q: %s has %s:\n%q", args, stream, bad, b)
					}
				}
				fmt.Fprintf(&all, "$ flytrap %q\n# exit %d\n%s", args, code, out.Bytes())
				if errOut.Len() > 0 {
					fmt.Fprintf(&all, "# stderr\n%s", errOut.Bytes())
				}
				all.WriteString("\n")
			}
			got := strings.ReplaceAll(all.String(), srv.URL, "http://flytrap.test")
			golden.Check(t, name, []byte(got))
		})
	}
}

// unsafeText describes the first character of b a terminal would obey or
// reorder by, or is "": line breaks end lines, and tabs separate the
// cells of a table sent down a pipe.
func unsafeText(b []byte, tabs bool) string {
	if !utf8.Valid(b) {
		return "invalid UTF-8"
	}
	for _, r := range string(b) {
		switch {
		case r == '\n', r == '\t' && tabs:
		case unicode.IsControl(r):
			return fmt.Sprintf("control character %U", r)
		case unicode.Is(unicode.Bidi_Control, r):
			return fmt.Sprintf("bidi control %U", r)
		}
	}
	return ""
}

// TestHostileJSON: --json is data, not text for a terminal: a hostile
// title comes back exactly as the server sent it.
func TestHostileJSON(t *testing.T) {
	srv := hostileAPI(t)
	var out, errOut bytes.Buffer
	f := testFactory(t, map[string]string{"FLYTRAP_URL": srv.URL, "FLYTRAP_TOKEN": "flyt_test"}, &out, &errOut)
	f.IO.TTY, f.Now = true, func() time.Time { return tableNow }
	if code := Run(context.Background(), f, []string{"issues", "view", "7", "--json"}); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var d apitypes.IssueDetail
	if err := json.Unmarshal(out.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	if d.Title != "Title"+hostile {
		t.Errorf("--json title = %q, want %q", d.Title, "Title"+hostile)
	}
	if bad := unsafeText(out.Bytes(), false); bad != "" {
		t.Errorf("--json output has %s (encoding/json escapes them)", bad)
	}
}
