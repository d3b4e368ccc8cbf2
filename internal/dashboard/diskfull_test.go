package dashboard

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/internal/testutil/fulldisk"
	"github.com/jackc/pgx/v5/pgconn"
)

// diskFullStore refuses to change an issue as PostgreSQL does with its
// disk full.
type diskFullStore struct{ Store }

func (diskFullStore) UpdateIssueStatus(context.Context, store.Viewer, int64, string, string) (store.Issue, error) {
	return store.Issue{}, fmt.Errorf("store: update issue: %w", &pgconn.PgError{Code: "53100", Message: "could not extend file"})
}

// ioErrorStore refuses to change an issue with err, an I/O error SQLite
// gives on a full disk, on a disk it reports 8 KiB free on.
type ioErrorStore struct {
	Store
	err error
}

func (s ioErrorStore) UpdateIssueStatus(context.Context, store.Viewer, int64, string, string) (store.Issue, error) {
	return store.Issue{}, fmt.Errorf("store: update issue: %w", s.err)
}

func (ioErrorStore) DiskFull(err error) bool {
	return store.DiskFullIn(err, "/data", func(string) (uint64, error) { return 8 << 10, nil })
}

// TestDiskFullPage: a change the full disk refuses is a 503 page that says
// so, not one that blames the database's reachability, nor one that
// promises reads still work: the refused request may have been a read.
// That holds whether the database said so (PostgreSQL's disk_full) or
// only its store knows (SQLite's I/O error on a nearly full disk).
func TestDiskFullPage(t *testing.T) {
	ioErr := fulldisk.ShmSizeError(t)
	for _, tt := range []struct {
		name string
		wrap func(Store) Store
	}{
		{"PostgreSQL's disk_full", func(s Store) Store { return diskFullStore{s} }},
		{"SQLite's I/O error", func(s Store) Store { return ioErrorStore{s, ioErr} }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "SQLite's I/O error" && ioErr == nil {
				t.Skip("needs root to mount a small tmpfs")
			}
			f := newFixture(t, func(c *Config) { c.Store = tt.wrap(c.Store) })
			wantStatus(t, f.get(roleMember, "/projects"), 200)
			r := f.post(roleMember, fmt.Sprintf("/issues/%d/status", f.issue), url.Values{"status": {"resolved"}})
			if r.StatusCode != 503 || r.Header.Get("Retry-After") == "" || !strings.Contains(r.Body, "Disk full") ||
				!strings.Contains(r.Body, "free disk space") || strings.Contains(r.Body, "cannot be reached") || strings.Contains(r.Body, "still work") {
				t.Errorf("a change on a full disk: HTTP %d, Retry-After %q:\n%s", r.StatusCode, r.Header.Get("Retry-After"), excerpt(r.Body))
			}
		})
	}
}

// invalidTextStore refuses a request's text as PostgreSQL does a NUL byte.
type invalidTextStore struct{ Store }

func (invalidTextStore) UpdateIssueStatus(context.Context, store.Viewer, int64, string, string) (store.Issue, error) {
	return store.Issue{}, fmt.Errorf("store: update issue: %w", &pgconn.PgError{Code: "22021", Message: `invalid byte sequence for encoding "UTF8": 0x00`})
}

// TestInvalidTextPage: text PostgreSQL cannot hold that reached it on a
// path the store does not check is a 400 page saying so, not a 500.
func TestInvalidTextPage(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Store = invalidTextStore{c.Store} })
	r := f.post(roleMember, fmt.Sprintf("/issues/%d/status", f.issue), url.Values{"status": {"resolved"}})
	if r.StatusCode != 400 || !strings.Contains(r.Body, "not UTF-8") {
		t.Errorf("text PostgreSQL refused: HTTP %d:\n%s", r.StatusCode, excerpt(r.Body))
	}
}
