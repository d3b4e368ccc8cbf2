package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/bootstrap"
	"github.com/getflytrap/flytrap/internal/ingest"
	"github.com/getflytrap/flytrap/internal/store"
)

// issuesOf runs `flytrap dev`'s stack (ingest, the local queue, a worker,
// SQLite), posts each Sentry event payload in an envelope of its own, and
// returns the ID of the issue each one joined.
func issuesOf(t *testing.T, payloads ...string) []int64 {
	t.Helper()
	ctx := context.Background()
	db := openDB(t)
	b, err := bootstrap.Ensure(ctx, db, bootstrap.Input{})
	if err != nil {
		t.Fatal(err)
	}
	s := New(db, Config{Ingest: ingest.Config{IPSalt: []byte("salt")}, Workers: 1}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ln := httptest.NewUnstartedServer(nil).Listener
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx, ln) }()
	defer func() { cancel(); <-done }()

	url := "http://" + ln.Addr().String() + "/api/" + itoa(b.Project.ID) + "/envelope/?sentry_key=" + b.Key.PublicKey
	ids := make([]string, len(payloads))
	for i, p := range payloads {
		ids[i] = fmt.Sprintf("%032x", i+1)
		envelope := `{"event_id":"` + ids[i] + `"}` + "\n" + `{"type":"event"}` + "\n" + p + "\n"
		resp, err := http.Post(url, "application/x-sentry-envelope", strings.NewReader(envelope))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("envelope %d: %v %v", i, resp, err)
		}
		resp.Body.Close()
	}
	issues := make([]int64, len(ids))
	for i, id := range ids {
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			row, err := db.GetEvent(ctx, store.System, id)
			if err == nil {
				issues[i] = row.IssueID
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("event %d not stored: %v", i, err)
			}
		}
	}
	return issues
}

// TestFingerprintVariablesEndToEnd is finding 2 of the QA report, with its
// payloads: a fingerprint variable other than default is resolved, so
// events of different transactions, types or tag values that share a
// fingerprint are different issues.
func TestFingerprintVariablesEndToEnd(t *testing.T) {
	tests := []struct {
		name     string
		payloads []string
	}{
		{"transaction", []string{
			`{"transaction":"/checkout","fingerprint":["{{ transaction }}"],"exception":{"values":[{"type":"E_checkout","value":"x"}]}}`,
			`{"transaction":"/admin/users","fingerprint":["{{ transaction }}"],"exception":{"values":[{"type":"E_admin_users","value":"x"}]}}`}},
		{"type", []string{
			`{"transaction":"/checkout","fingerprint":["{{ type }}","db"],"exception":{"values":[{"type":"E_checkout","value":"x"}]}}`,
			`{"transaction":"/checkout","fingerprint":["{{ type }}","db"],"exception":{"values":[{"type":"E_admin_users","value":"x"}]}}`}},
		{"tag", []string{
			`{"tags":{"region":"eu-west-1"},"fingerprint":["{{ tags.region }}"],"exception":{"values":[{"type":"E","value":"x"}]}}`,
			`{"tags":{"region":"us-east-1"},"fingerprint":["{{ tags.region }}"],"exception":{"values":[{"type":"E","value":"x"}]}}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := issuesOf(t, tt.payloads...); got[0] == got[1] {
				t.Errorf("both events joined issue %d; the fingerprint's variable differs", got[0])
			}
		})
	}
}
