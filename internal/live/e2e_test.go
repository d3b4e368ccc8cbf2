package live_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/live"
	"github.com/getflytrap/flytrap/internal/livemsg"
	"github.com/getflytrap/flytrap/internal/process"
	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/internal/testutil/pgtest"
)

// The whole path, wired the way the server wires it: the processor stores
// a batch and publishes from the transaction's results (NOTIFY inside it on
// PostgreSQL, the Hub after it on SQLite); the stream hands each message to
// a signed-in WebSocket client.
func TestEndToEnd(t *testing.T) {
	tests := []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "flytrap.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.URL(t) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			db, err := store.Open(ctx, tt.dsn(t))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			log := slog.New(slog.NewTextHandler(io.Discard, nil))

			// Wiring, as in internal/server.
			hub := live.NewHub(0)
			defer hub.Close()
			pcfg := process.Config{Saver: db, Log: log}
			if db.Dialect() == store.DialectPostgres {
				pcfg.Notify = livemsg.Notify
			} else {
				pcfg.Publisher = hub
			}
			proc := process.New(pcfg)
			if db.Dialect() == store.DialectPostgres {
				lctx, stop := context.WithCancel(ctx)
				done := make(chan error)
				go func() { done <- (&live.Listener{DB: db.SQL(), Hub: hub, Log: log}).Run(lctx) }()
				defer func() {
					stop()
					if err := <-done; err != nil {
						t.Errorf("Listener.Run: %v", err)
					}
				}()
			}
			srv := httptest.NewServer(live.Handler(hub, live.BearerOrSession(db, nil), db, log))
			defer srv.Close()

			proj, err := db.CreateProject(ctx, "web")
			if err != nil {
				t.Fatal(err)
			}
			u, err := db.CreateUser(ctx, "dev@example.com", "not-a-real-hash", store.RoleMember)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.AddMember(ctx, proj.ID, u.ID, store.RoleMember); err != nil {
				t.Fatal(err)
			}
			token, _, err := db.CreateAPIToken(ctx, u.ID, "test")
			if err != nil {
				t.Fatal(err)
			}
			url := "ws" + strings.TrimPrefix(srv.URL, "http") + fmt.Sprintf("/api/v1/stream?project=%d", proj.ID)
			c, _, err := websocket.Dial(t.Context(), url, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()

			send := func(ns ...int) {
				t.Helper()
				var bodies [][]byte
				for _, n := range ns {
					b, _ := json.Marshal(event.Event{EventID: fmt.Sprintf("%032x", n), ProjectID: proj.ID, Message: "checkout failed"})
					bodies = append(bodies, b)
				}
				for _, out := range proc.ProcessBatch(ctx, bodies) {
					if out.Err != nil {
						t.Fatal(out.Err)
					}
				}
			}
			read := func() livemsg.Message {
				t.Helper()
				rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				_, b, err := c.Read(rctx)
				if err != nil {
					t.Fatal(err)
				}
				var m livemsg.Message
				if err := json.Unmarshal(b, &m); err != nil {
					t.Fatal(err)
				}
				return m
			}
			// On PostgreSQL a message sent before the listener listens
			// is lost, by design; wait for it.
			if db.Dialect() == store.DialectPostgres {
				waitListening(t, db)
			}
			send(1)
			m := read()
			if m.Type != livemsg.TypeNewIssue || m.Count != 1 || m.Title != "checkout failed" || m.ProjectID != proj.ID {
				t.Errorf("first message %+v", m)
			}
			send(2, 3) // one batch, one message per event, in order
			for _, want := range []int64{2, 3} {
				if m2 := read(); m2.Type != livemsg.TypeEvent || m2.Count != want || m2.IssueID != m.IssueID {
					t.Errorf("message of event %d: %+v", want, m2)
				}
			}
			if _, err := db.UpdateIssueStatus(ctx, store.System, m.IssueID, store.StatusResolved, ""); err != nil {
				t.Fatal(err)
			}
			send(4)
			if m3 := read(); m3.Type != livemsg.TypeRegression || m3.Count != 4 {
				t.Errorf("third message %+v", m3)
			}
		})
	}
}

// waitListening waits until some connection of db has run LISTEN.
func waitListening(t *testing.T, db *store.DB) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		err := db.SQL().QueryRow(`SELECT COUNT(*) FROM pg_stat_activity
			WHERE datname = current_database() AND state = 'idle' AND query = 'LISTEN ` + livemsg.Channel + `'`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the listener never listened")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
