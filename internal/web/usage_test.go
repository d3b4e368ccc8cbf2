package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/internal/testutil/syncbuf"
)

// TestUsageNotRecorded: with API tokens' use unwritable (a full disk), API
// reads still answer, and the log has one warning for them, not one per
// request.
func TestUsageNotRecorded(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "web.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tokens []string
	for _, email := range []string{"ada@example.com", "bob@example.com", "cy@example.com"} {
		u, err := db.CreateUser(ctx, email, "x", store.RoleMember)
		if err != nil {
			t.Fatal(err)
		}
		token, _, err := db.CreateAPIToken(ctx, u.ID, "t")
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, token)
	}
	if _, err := db.SQL().Exec(`CREATE TRIGGER full_disk BEFORE UPDATE ON api_tokens BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`); err != nil {
		t.Fatal(err)
	}
	var logs syncbuf.Buffer
	srv := httptest.NewServer(New(db, Config{}, slog.New(slog.NewTextHandler(&logs, nil))).Handler())
	defer srv.Close()
	for _, token := range tokens {
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET /api/v1/me with the token's use unwritable: HTTP %d, want 200", resp.StatusCode)
		}
	}
	if n := strings.Count(logs.String(), "without recording its use"); n != 1 {
		t.Errorf("%d warnings for three requests, want 1:\n%s", n, logs.String())
	}
}
