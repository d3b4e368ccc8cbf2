package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/bootstrap"
	"github.com/getflytrap/flytrap/internal/ingest"
	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/internal/testutil/pgtest"
)

// TestScrubbingAcceptance is issue 8's acceptance on `flytrap dev`'s
// stack, on both stores: a password in a request body, sent in a Sentry
// envelope, is stored as [Filtered], and so are the card number beside it
// and the token in the query string.
func TestScrubbingAcceptance(t *testing.T) {
	dsns := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "s.db") },
		"postgres": func(t *testing.T) string { return pgtest.URL(t) },
	}
	const envelope = `{"event_id":"5b1f2c3d4e5f40718293a4b5c6d7e8f9"}
{"type":"event"}
{"event_id":"5b1f2c3d4e5f40718293a4b5c6d7e8f9","platform":"python","exception":{"values":[{"type":"ValueError","value":"bad card"}]},"request":{"method":"POST","url":"https://shop.example.com/checkout","query_string":"token=secret","data":{"password":"hunter2","card":"4111111111111111"}}}
`
	for name, dsn := range dsns {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db, err := store.Open(ctx, dsn(t))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
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
			resp, err := http.Post(url, "application/x-sentry-envelope", strings.NewReader(envelope))
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("envelope: %v %v", resp, err)
			}
			resp.Body.Close()
			var row store.EventRow
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				row, err = db.GetEvent(ctx, store.System, "5b1f2c3d4e5f40718293a4b5c6d7e8f9")
				if err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("event not stored: %v", err)
				}
			}
			got := string(row.Payload)
			for _, want := range []string{
				`"data":{"card":"[Filtered]","password":"[Filtered]"}`,
				`"query_string":"token=[Filtered]"`,
				`"notes":["Scrubbed 3 values (request.query_string: 1, request.data: 2)"]`,
			} {
				if !strings.Contains(got, want) {
					t.Errorf("stored event lacks %s:\n%s", want, got)
				}
			}
			if strings.Contains(got, "hunter2") || strings.Contains(got, "4111111111111111") || strings.Contains(got, "token=secret") {
				t.Errorf("stored event holds a secret:\n%s", got)
			}
		})
	}
}
