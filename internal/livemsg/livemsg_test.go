package livemsg

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/getflytrap/flytrap/internal/testutil/pgtest"
)

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"", 3, ""},
		{"abc", 3, "abc"},
		{"abcd", 3, "abc"},
		{"héllo", 2, "hé"},
		{"日本語テキスト", 3, "日本語"},
		{"a\xffb", 2, "a\xff"},
		{"abc", 0, ""},
	}
	for _, tt := range tests {
		if got := truncate(tt.in, tt.n); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	m := Message{Type: TypeRegression, ProjectID: 3, IssueID: 9, Title: "TypeError: x is <undefined>", Level: "error",
		IssueTitle: "TypeError: x is null", Status: "unresolved", Count: 42, EventID: "0123456789abcdef0123456789abcdef", At: at}
	s, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"type":"issue.regression"`, `"project_id":3`, `"issue_id":9`, `"count":42`, `"at":"2026-05-01T12:00:00Z"`} {
		if !strings.Contains(s, key) {
			t.Errorf("encoded %s lacks %s", s, key)
		}
	}
	got, err := Decode(s)
	if err != nil || got != m {
		t.Errorf("Decode(Encode(m)) = %+v, %v; want %+v", got, err, m)
	}
}

// Every field an SDK controls at its worst: the payload must still fit a
// NOTIFY, or PostgreSQL rejects it and the message is lost.
func TestEncodeFitsNotify(t *testing.T) {
	worst := strings.Repeat("\x01", 10000) // six bytes each as JSON
	tests := []struct {
		name  string
		title string
	}{
		{"control characters", worst},
		{"html", strings.Repeat("<&>", 5000)},
		{"invalid utf-8", strings.Repeat("\xff", 10000)},
		{"4-byte runes", strings.Repeat("😀", 10000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Message{Type: TypeNewIssue, ProjectID: 1, IssueID: 1, Title: tt.title, IssueTitle: tt.title, Culprit: tt.title,
				Level: worst, Status: worst, EventID: worst, Environment: worst}
			s, err := Encode(m)
			if err != nil {
				t.Fatal(err)
			}
			if len(s) > maxPayload {
				t.Fatalf("payload is %d bytes, limit %d", len(s), maxPayload)
			}
			got, err := Decode(s)
			if err != nil {
				t.Fatal(err)
			}
			for name, s := range map[string]string{"title": got.Title, "issue title": got.IssueTitle, "culprit": got.Culprit} {
				if n := utf8.RuneCountInString(s); n != MaxTitleRunes {
					t.Errorf("%s has %d runes, want %d", name, n, MaxTitleRunes)
				}
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, payload := range []string{``, `garbage`, `{}`, `{"type":"issue.new"}`, `{"project_id":1}`, `[1]`} {
		if _, err := Decode(payload); err == nil {
			t.Errorf("Decode(%q) succeeded", payload)
		}
	}
}

// Notify inside a transaction: nothing before the commit, every message in
// order at the commit, nothing at all after a rollback.
func TestNotifyInTransaction(t *testing.T) {
	dsn := pgtest.URL(t)
	ctx := context.Background()
	listener, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close(ctx)
	if _, err := listener.Exec(ctx, "LISTEN "+Channel); err != nil {
		t.Fatal(err)
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	next := func(wait time.Duration) (Message, bool) {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		n, err := listener.WaitForNotification(wctx)
		if err != nil {
			return Message{}, false
		}
		m, err := Decode(n.Payload)
		if err != nil {
			t.Fatal(err)
		}
		return m, true
	}
	msgs := []Message{
		{Type: TypeNewIssue, ProjectID: 1, IssueID: 1, Count: 1},
		{Type: TypeEvent, ProjectID: 1, IssueID: 1, Count: 2},
		{Type: TypeRegression, ProjectID: 2, IssueID: 5, Count: 9},
	}
	for _, commit := range []bool{false, true} {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := Notify(ctx, tx, msgs); err != nil {
			t.Fatal(err)
		}
		if m, ok := next(200 * time.Millisecond); ok {
			t.Fatalf("received %+v before the transaction ended", m)
		}
		if !commit {
			if err := tx.Rollback(); err != nil {
				t.Fatal(err)
			}
			if m, ok := next(200 * time.Millisecond); ok {
				t.Errorf("received %+v from a rolled-back transaction", m)
			}
			continue
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		for i, want := range msgs {
			if got, ok := next(5 * time.Second); !ok || got != want {
				t.Errorf("message %d: received %+v (%v), want %+v", i, got, ok, want)
			}
		}
	}
	if err := Notify(ctx, db, nil); err != nil {
		t.Errorf("Notify of nothing = %v", err)
	}
}
