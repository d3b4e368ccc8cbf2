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

	"github.com/mattn/go-runewidth"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/testutil/golden"
)

// The golden tables are those of a terminal outside a CJK locale, where
// runewidth would read … and other ambiguous characters as two columns.
func init() { runewidth.DefaultCondition.EastAsianWidth = false }

// tableNow is the clock of the golden tables.
var tableNow = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

// fakeAPI answers the list endpoints with fixed data, hostile titles
// included, as the REST API encodes them.
func fakeAPI(t *testing.T) *httptest.Server {
	ago := func(d time.Duration) time.Time { return tableNow.Add(-d) }
	later := tableNow.Add(30 * 24 * time.Hour)
	answers := map[string]any{
		"/api/v1/projects": apitypes.List[apitypes.Project]{Data: []apitypes.Project{
			{ID: 1, Name: "default", CreatedAt: ago(30 * 24 * time.Hour)}, {ID: 2, Name: "web shop", CreatedAt: ago(3 * time.Hour)}}},
		"/api/v1/projects/2/issues": apitypes.List[apitypes.Issue]{Data: []apitypes.Issue{
			{ID: 12, ProjectID: 2, Title: "TypeError: Cannot read properties of undefined (reading \"foo\")", Culprit: "app.js in example",
				Level: "error", Status: "unresolved", Count: 1204, UserCount: 87, LastSeen: ago(40 * time.Second),
				AssignedTo: &apitypes.Assignee{Type: "user", ID: 3, Email: "ann@example.com", Name: "ann@example.com"}},
			{ID: 9, ProjectID: 2, Title: "Evil\ttitle\x1b[31m with a tab and an escape", Culprit: "", Level: "warning",
				Status: "unresolved", Count: 3, UserCount: 0, LastSeen: ago(26 * time.Hour)},
			// QA: CJK characters and emoji take two columns each, and
			// padding by runes pushed the next columns right.
			{ID: 7, ProjectID: 2, Title: "決済エラー: カードが拒否されました 💳🔥", Culprit: "checkout.js in 支払い",
				Level: "error", Status: "unresolved", Count: 5, UserCount: 2, LastSeen: ago(3 * time.Minute)},
			{ID: 5, ProjectID: 2, Title: "注文の保存に失敗しました、もう一度お試しください。データベースへの接続がタイムアウトしました 🚨",
				Culprit: "orders.go in 保存", Level: "fatal", Status: "unresolved", Count: 1, UserCount: 1, LastSeen: ago(2 * time.Hour)},
		}},
		"/api/v1/tokens": apitypes.List[apitypes.APIToken]{Data: []apitypes.APIToken{
			{ID: 1, Name: "flytrap dev", Scope: "full", CreatedAt: ago(72 * time.Hour)},
			{ID: 4, Name: "ci", Scope: "read", ExpiresAt: &later, LastUsedAt: ptr(ago(5 * time.Minute)), CreatedAt: ago(2 * time.Hour)},
			{ID: 6, Name: "old deploy", Scope: "full", ExpiresAt: ptr(ago(48 * time.Hour)), LastUsedAt: ptr(ago(50 * time.Hour)), CreatedAt: ago(40 * 24 * time.Hour)},
		}},
		"/api/v1/users": apitypes.List[apitypes.User]{Data: []apitypes.User{
			{ID: 1, Email: "admin@example.com", Role: "admin", CreatedAt: ago(30 * 24 * time.Hour)},
			{ID: 2, Email: "bob@example.com", Role: "member", CreatedAt: ago(50 * time.Minute)},
			{ID: 3, Email: "carol@example.com", Role: "member", CreatedAt: ago(5 * time.Minute), Invited: true}}},
		"/api/v1/projects/2/members": apitypes.List[apitypes.Member]{Data: []apitypes.Member{
			{ProjectID: 2, UserID: 2, Email: "bob@example.com", Role: "member", CreatedAt: ago(10 * time.Minute)}}},
		"/api/v1/projects/2/keys": apitypes.List[apitypes.ProjectKey]{Data: []apitypes.ProjectKey{
			{ID: 2, ProjectID: 2, PublicKey: "0123456789abcdef0123456789abcdef", Active: false, CreatedAt: ago(3 * time.Hour)},
			{ID: 3, ProjectID: 2, PublicKey: "fedcba9876543210fedcba9876543210", Active: true, CreatedAt: ago(time.Hour)}}},
		"/api/v1/projects/2/alert-channels": apitypes.List[apitypes.AlertChannel]{Data: []apitypes.AlertChannel{
			{ID: 1, ProjectID: 2, Kind: "email", Name: "Members by email", CreatedAt: ago(3 * time.Hour)},
			{ID: 4, ProjectID: 2, Kind: "slack", Name: "ops", URL: "https://hooks.slack.com/services/…", CreatedAt: ago(20 * time.Minute)}}},
		"/api/v1/projects/2/alert-rules": apitypes.List[apitypes.AlertRule]{Data: []apitypes.AlertRule{
			{ID: 1, ProjectID: 2, ChannelID: 1, Type: "new_issue", Enabled: true, CreatedAt: ago(3 * time.Hour)},
			{ID: 6, ProjectID: 2, ChannelID: 4, Type: "frequency", Threshold: 100, WindowMinutes: 90, MinLevel: "error",
				Environment: "production", Enabled: false, CreatedAt: ago(10 * time.Minute)}}},
		"/api/v1/projects/2/notifications": apitypes.List[apitypes.Notification]{Data: []apitypes.Notification{
			{ID: 9, ProjectID: 2, IssueID: 12, RuleID: 6, ChannelID: 4, ChannelName: "ops", Reason: "frequency", Status: "dead", Attempts: 8,
				LastError: `Post "https://hooks.slack.com/…": 404 Not Found`, CreatedAt: ago(2 * time.Minute),
				Payload: apitypes.AlertPayload{IssueID: 12, Title: "TypeError: Cannot read properties of undefined (reading \"foo\")"}},
			{ID: 8, ProjectID: 2, IssueID: 5, RuleID: 1, ChannelID: 1, ChannelName: "Members by email", Reason: "new_issue", Status: "sent", Attempts: 1,
				CreatedAt: ago(time.Hour), SentAt: ptr(ago(time.Hour)), IssueDeleted: true, Payload: apitypes.AlertPayload{IssueID: 5, Title: "old"}}}},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := answers[r.URL.Path]
		if !ok || r.Header.Get("Authorization") != "Bearer flyt_test" {
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(apitypes.Error{Error: apitypes.ErrorBody{Code: "not_found", Message: "no " + r.URL.Path}})
			return
		}
		json.NewEncoder(w).Encode(a)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func ptr[T any](v T) *T { return &v }

// TestTables renders each list as a terminal sees it (NO_COLOR set) and
// as a pipe does, against golden files; -update rewrites them.
func TestTables(t *testing.T) {
	srv := fakeAPI(t)
	for _, args := range [][]string{
		{"projects", "list"},
		{"projects", "keys", "web shop"},
		{"issues", "list", "--project", "web shop"},
		{"tokens", "list"},
		{"users", "list"},
		{"members", "list", "web shop"},
		{"alerts", "channels", "list", "-p", "web shop"},
		{"alerts", "rules", "list", "-p", "web shop"},
		{"alerts", "history", "-p", "web shop"},
	} {
		for _, tty := range []bool{true, false} {
			name := strings.ReplaceAll(strings.Join(args, "-"), " ", "_")
			if !tty {
				name += "-pipe"
			}
			t.Run(name, func(t *testing.T) {
				var out, errOut bytes.Buffer
				f := testFactory(t, map[string]string{"FLYTRAP_URL": srv.URL, "FLYTRAP_TOKEN": "flyt_test", "NO_COLOR": "1"}, &out, &errOut)
				f.IO.TTY, f.Now = tty, func() time.Time { return tableNow }
				if code := Run(context.Background(), f, args); code != 0 {
					t.Fatalf("exit %d: %s", code, errOut.String())
				}
				golden.Check(t, name+".golden", out.Bytes())
			})
		}
	}
}

// TestTableColors: on a terminal without NO_COLOR the header is bold.
func TestTableColors(t *testing.T) {
	srv := fakeAPI(t)
	var out bytes.Buffer
	f := testFactory(t, map[string]string{"FLYTRAP_URL": srv.URL, "FLYTRAP_TOKEN": "flyt_test"}, &out, &out)
	f.IO.TTY, f.Now = true, func() time.Time { return tableNow }
	if code := Run(context.Background(), f, []string{"users", "list"}); code != 0 {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	if !strings.HasPrefix(out.String(), "\x1b[1mID  EMAIL") {
		t.Errorf("header is not bold: %q", out.String())
	}
}
