package live

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/getflytrap/flytrap/internal/livemsg"
	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/internal/testutil/pgtest"
)

// openPostgres opens a store on dsn: one per simulated dashboard process.
func openPostgres(t *testing.T, dsn string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// process is one dashboard process: its own pool, Hub and Listener.
type process struct {
	db   *store.DB
	hub  *Hub
	stop func() error // stops the Listener and returns what Run returned
}

func startProcess(t *testing.T, dsn string) *process {
	t.Helper()
	p := &process{db: openPostgres(t, dsn), hub: NewHub(0)}
	ctx, cancel := context.WithCancel(context.Background())
	l := &Listener{DB: p.db.SQL(), Hub: p.hub, Log: quietLog(), MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	var once sync.Once
	var err error
	p.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				err = errors.New("Listener.Run did not return after cancel")
			}
		})
		return err
	}
	t.Cleanup(func() { p.stop() })
	return p
}

// listeners returns the backend PIDs that have finished LISTEN on livemsg.Channel
// in the current database: idle connections whose last statement was the
// LISTEN or the Listener's idle ping (pgx pings with "-- ping").
func listeners(t *testing.T, db *sql.DB) []int {
	t.Helper()
	rows, err := db.Query(`SELECT pid FROM pg_stat_activity
		WHERE datname = current_database() AND state = 'idle'
		AND query IN ('LISTEN ` + livemsg.Channel + `', '-- ping') ORDER BY pid`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var pids []int
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return pids
}

// notify sends m as the processor does, outside a transaction here, which
// PostgreSQL delivers at once.
func notify(db *sql.DB, m livemsg.Message) error {
	return livemsg.Notify(context.Background(), db, []livemsg.Message{m})
}

// receive waits for s's next message, which must come alone.
func receive(t *testing.T, name string, s *Subscription) livemsg.Message {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case <-s.Ready():
		case <-deadline:
			t.Fatalf("%s received nothing", name)
		}
		msgs, _ := s.Take()
		switch len(msgs) {
		case 0:
			continue
		case 1:
			return msgs[0]
		}
		t.Fatalf("%s received %d messages at once, want 1: %+v", name, len(msgs), msgs)
	}
}

// Two dashboard processes on one database both receive every message,
// whichever process published it; rooms still apply.
func TestPostgresFanOut(t *testing.T) {
	dsn := pgtest.URL(t)
	a, b := startProcess(t, dsn), startProcess(t, dsn)
	waitFor(t, "two listeners", func() bool { return len(listeners(t, a.db.SQL())) == 2 })

	aRoom := a.hub.Subscribe([]int64{1})
	defer aRoom.Cancel()
	bRoom := b.hub.Subscribe([]int64{1})
	defer bRoom.Cancel()
	bOther := b.hub.Subscribe([]int64{2})
	defer bOther.Cancel()

	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for i, pub := range []*process{a, b} {
		m := livemsg.Message{Type: livemsg.TypeNewIssue, ProjectID: 1, IssueID: int64(i + 1), Title: "boom", Count: 1, At: at}
		if err := notify(pub.db.SQL(), m); err != nil {
			t.Fatal(err)
		}
		for name, sub := range map[string]*Subscription{"process a": aRoom, "process b": bRoom} {
			if got := receive(t, name, sub); got != m {
				t.Errorf("%s received %+v, want %+v", name, got, m)
			}
		}
	}
	if got := drain(bOther); len(got) != 0 {
		t.Errorf("project 2's room received issues %v", got)
	}
	// Each process got each message once: no echo from publishing locally.
	for name, sub := range map[string]*Subscription{"process a": aRoom, "process b": bRoom} {
		if got := drain(sub); len(got) != 0 {
			t.Errorf("%s received extra messages %v", name, got)
		}
	}
}

// A title of any length travels as a notification, cut to livemsg.MaxTitleRunes.
func TestPostgresLongTitle(t *testing.T) {
	dsn := pgtest.URL(t)
	p := startProcess(t, dsn)
	waitFor(t, "the listener", func() bool { return len(listeners(t, p.db.SQL())) == 1 })
	sub := p.hub.Subscribe([]int64{1})
	defer sub.Cancel()
	title := strings.Repeat("<\x00é", 10000)
	if err := notify(p.db.SQL(), livemsg.Message{Type: livemsg.TypeNewIssue, ProjectID: 1, Title: title}); err != nil {
		t.Fatal(err)
	}
	got := receive(t, "subscriber", sub)
	if n := utf8.RuneCountInString(got.Title); n != livemsg.MaxTitleRunes || !strings.HasPrefix(title, got.Title) {
		t.Errorf("received a title of %d runes: %.40q", n, got.Title)
	}
}

// Killing the listener's connection loses nothing after it reconnects, and
// a stray notification on the channel is skipped without reconnecting.
func TestPostgresListenerReconnects(t *testing.T) {
	dsn := pgtest.URL(t)
	p := startProcess(t, dsn)
	admin := openPostgres(t, dsn).SQL()
	waitFor(t, "the listener", func() bool { return len(listeners(t, admin)) == 1 })
	sub := p.hub.Subscribe([]int64{1})
	defer sub.Cancel()

	for round := range 2 {
		old := listeners(t, admin)
		if _, err := admin.Exec(`SELECT pg_terminate_backend($1)`, old[0]); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "a new listener connection", func() bool {
			now := listeners(t, admin)
			return len(now) == 1 && now[0] != old[0]
		})
		m := livemsg.Message{Type: livemsg.TypeEvent, ProjectID: 1, IssueID: int64(round + 1), Count: int64(round + 2)}
		if err := notify(admin, m); err != nil {
			t.Fatal(err)
		}
		if got := receive(t, "subscriber", sub); got != m {
			t.Errorf("round %d: received %+v, want %+v", round, got, m)
		}
	}

	before := listeners(t, admin)
	if _, err := admin.Exec(`NOTIFY ` + livemsg.Channel + `, 'not json'`); err != nil {
		t.Fatal(err)
	}
	m := livemsg.Message{Type: livemsg.TypeEvent, ProjectID: 1, IssueID: 99}
	if err := notify(admin, m); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, "subscriber", sub); got != m {
		t.Errorf("after a stray notification: received %+v, want %+v", got, m)
	}
	if after := listeners(t, admin); !slices.Equal(after, before) {
		t.Errorf("a stray notification made the listener reconnect: %v -> %v", before, after)
	}

	// Stopping returns nil and gives the connection up: no pooled
	// connection stays subscribed.
	if err := p.stop(); err != nil {
		t.Errorf("Run returned %v", err)
	}
	waitFor(t, "the LISTEN connection to go", func() bool { return len(listeners(t, admin)) == 0 })
}

// A quiet connection is checked with pings and survives them.
func TestPostgresListenerIdlePing(t *testing.T) {
	dsn := pgtest.URL(t)
	db := openPostgres(t, dsn)
	hub := NewHub(0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l := &Listener{DB: db.SQL(), Hub: hub, Log: quietLog(), Idle: 10 * time.Millisecond}
	go l.Run(ctx)
	waitFor(t, "the listener", func() bool { return len(listeners(t, db.SQL())) == 1 })
	first := listeners(t, db.SQL())
	sub := hub.Subscribe([]int64{5})
	defer sub.Cancel()
	time.Sleep(200 * time.Millisecond) // about twenty pings
	m := livemsg.Message{Type: livemsg.TypeEvent, ProjectID: 5, IssueID: 1}
	if err := notify(db.SQL(), m); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, "subscriber", sub); got != m {
		t.Errorf("received %+v", got)
	}
	if now := listeners(t, db.SQL()); !slices.Equal(now, first) {
		t.Errorf("the listener's connection was replaced during idle pings: %v -> %v", first, now)
	}
}

func TestListenerNeedsPgx(t *testing.T) {
	db := openSQLite(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := (&Listener{DB: db.SQL(), Hub: NewHub(0), Log: quietLog()}).Run(ctx)
	if !errors.Is(err, errNotPgx) {
		t.Errorf("Run on SQLite = %v, want errNotPgx", err)
	}
}
