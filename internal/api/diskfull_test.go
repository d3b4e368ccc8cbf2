package api

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/internal/testutil/fulldisk"
	"github.com/jackc/pgx/v5/pgconn"
)

// diskFullStore refuses to change an issue as PostgreSQL does with its
// disk full.
type diskFullStore struct{ Store }

func (diskFullStore) UpdateIssue(context.Context, store.Viewer, int64, store.IssueChange) (store.Issue, int64, error) {
	return store.Issue{}, 0, fmt.Errorf("store: update issue: %w", &pgconn.PgError{Code: "53100", Message: "could not extend file"})
}

// ioErrorStore refuses to change an issue with err, an I/O error SQLite
// gives on a full disk, on a disk it reports 8 KiB free on.
type ioErrorStore struct {
	Store
	err error
}

func (s ioErrorStore) UpdateIssue(context.Context, store.Viewer, int64, store.IssueChange) (store.Issue, int64, error) {
	return store.Issue{}, 0, fmt.Errorf("store: update issue: %w", s.err)
}

func (ioErrorStore) DiskFull(err error) bool {
	return store.DiskFullIn(err, "/data", func(string) (uint64, error) { return 8 << 10, nil })
}

// TestDiskFull: with the disk full, token-authenticated reads still work
// although the token's use cannot be written (QA: every request, and so
// every CLI command, was a 503), and a change that fails is a 503 that
// says the disk is full, not that the database is unreachable, whether
// the database said so (PostgreSQL's disk_full) or only its store knows
// (SQLite's I/O error on a nearly full disk, which was a 503 blaming the
// database's reachability).
func TestDiskFull(t *testing.T) {
	f := newFixture(t)
	if _, err := f.db.SQL().Exec(`CREATE TRIGGER full_disk BEFORE UPDATE ON api_tokens BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api/v1/projects", "/api/v1/me"} {
		if code, _, out := f.do(t, f.memberToken, "GET", path, ""); code != 200 {
			t.Errorf("GET %s with the token's use unwritable: HTTP %d %v, want 200", path, code, out)
		}
	}

	for _, tt := range []struct {
		name string
		s    Store
	}{
		{"PostgreSQL's disk_full", diskFullStore{f.db}},
		{"SQLite's I/O error", ioErrorStore{f.db, fulldisk.ShmSizeError(t)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if s, ok := tt.s.(ioErrorStore); ok && s.err == nil {
				t.Skip("needs root to mount a small tmpfs")
			}
			srv := httptest.NewServer(New(tt.s, nil, nil))
			defer srv.Close()
			f.srv = srv
			code, hdr, out := f.do(t, f.memberToken, "PATCH", fmt.Sprintf("/api/v1/issues/%d", f.issueA), `{"status":"resolved"}`)
			e, _ := out["error"].(map[string]any)
			msg, _ := e["message"].(string)
			if code != 503 || hdr.Get("Retry-After") == "" || e["code"] != "unavailable" ||
				msg != "the database's disk is full, so this request could not be done; the server's operator must free disk space, then retry" {
				t.Errorf("a change on a full disk: HTTP %d, Retry-After %q, %v; want 503 saying the disk is full", code, hdr.Get("Retry-After"), out)
			}
		})
	}
}

// invalidTextStore refuses a request's text as PostgreSQL does a NUL byte.
type invalidTextStore struct{ Store }

func (invalidTextStore) UpdateIssue(context.Context, store.Viewer, int64, store.IssueChange) (store.Issue, int64, error) {
	return store.Issue{}, 0, fmt.Errorf("store: update issue: %w", &pgconn.PgError{Code: "22021", Message: `invalid byte sequence for encoding "UTF8": 0x00`})
}

// TestInvalidText: text PostgreSQL cannot hold that reached it on a path
// the store does not check is a 400 saying so, not a 500.
func TestInvalidText(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(New(invalidTextStore{f.db}, nil, nil))
	defer srv.Close()
	f.srv = srv
	code, _, out := f.do(t, f.memberToken, "PATCH", fmt.Sprintf("/api/v1/issues/%d", f.issueA), `{"status":"resolved"}`)
	e, _ := out["error"].(map[string]any)
	if code != 400 || e["code"] != "bad_request" || e["message"] != store.InvalidTextMessage {
		t.Errorf("text PostgreSQL refused: HTTP %d %v, want 400 %q", code, out, store.InvalidTextMessage)
	}
}
