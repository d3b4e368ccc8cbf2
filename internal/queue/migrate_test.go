package queue

import (
	"bytes"
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/internal/testutil/pgtest"
)

// TestUpgrade upgrades a database whose queue tables the store's 0001_init
// created, as flytrap did before the queue had migrations of its own: the
// messages queued then, dead letters included, must come out intact.
func TestUpgrade(t *testing.T) {
	tests := []struct {
		dialect, driver string
		dsn             func(t *testing.T) string
	}{
		{store.DialectSQLite, "sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "old.db") }},
		{store.DialectPostgres, "pgx", func(t *testing.T) string { return pgtest.URL(t) }},
	}
	for _, tt := range tests {
		t.Run(tt.dialect, func(t *testing.T) {
			dsn := tt.dsn(t)
			queued := [][]byte{[]byte("first"), {}, {0, 0xff, 0x00, 'x'}, bytes.Repeat([]byte("big"), 100_000)}
			ids := migrateAsMain(t, tt.driver, tt.dialect, dsn, queued)

			db, err := store.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			for range 2 { // the second run finds nothing to do
				if err := Migrate(ctx, db); err != nil {
					t.Fatalf("Migrate of a database migrated by the old store: %v", err)
				}
			}
			var applied []string
			rows, err := db.SQL().QueryContext(ctx, `SELECT name FROM queue_migrations ORDER BY version`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var n string
				rows.Scan(&n)
				applied = append(applied, n)
			}
			rows.Close()
			if want := []string{"0001_tables.sql"}; !slices.Equal(applied, want) {
				t.Errorf("queue migrations applied %v, want %v", applied, want)
			}

			q := newLocal(t, db, Options{})
			if ready, dead, err := q.Depth(ctx); err != nil || ready != int64(len(queued)) || dead != 1 {
				t.Fatalf("Depth after upgrade = %d ready, %d dead, %v; want %d, 1", ready, dead, err, len(queued))
			}
			// New messages are numbered after the old ones, not over them.
			if err := q.Enqueue(ctx, []byte("after upgrade")); err != nil {
				t.Fatal(err)
			}
			msgs := receive(t, q, MaxReceive)
			if len(msgs) != len(queued)+1 {
				t.Fatalf("received %d messages, want %d", len(msgs), len(queued)+1)
			}
			for i, body := range queued {
				if m := msgs[i]; m.ID != ids[i] || !bytes.Equal(m.Body, body) || m.Attempts != 1 {
					t.Errorf("message %d after upgrade: id %d, attempts %d, %d bytes; want id %d, attempts 1, %d bytes",
						i, m.ID, m.Attempts, len(m.Body), ids[i], len(body))
				}
			}
			if last := msgs[len(queued)]; last.ID <= ids[len(ids)-1] || string(last.Body) != "after upgrade" {
				t.Errorf("message enqueued after upgrade: id %d, body %q; want an id above %d", last.ID, last.Body, ids[len(ids)-1])
			}
		})
	}
}

// migrateAsMain migrates a new database with the store's migrations as
// shipped before the queue had its own (0001 to 0003: applied migration
// files are history and never change), the way the store's runner recorded
// them then, and queues bodies plus one dead letter
// the way the queue did. It returns the ids of the queued messages.
func migrateAsMain(t *testing.T, driver, dialect, dsn string, bodies [][]byte) []int64 {
	t.Helper()
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	dir := filepath.Join("..", "store", "migrations", dialect)
	files, err := filepath.Glob(filepath.Join(dir, "000[123]_*.sql"))
	if err != nil || len(files) != 3 {
		t.Fatalf("old store migrations in %s: %v, %v", dir, files, err)
	}
	if _, err := raw.ExecContext(ctx, `CREATE TABLE schema_migrations (
		version    BIGINT NOT NULL PRIMARY KEY,
		name       TEXT   NOT NULL,
		applied_at BIGINT NOT NULL
	)`); err != nil {
		t.Fatal(err)
	}
	for i, f := range files {
		ddl, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.ExecContext(ctx, string(ddl)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, err := raw.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, 0)`,
			i+1, filepath.Base(f)); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().UnixMilli()
	var ids []int64
	for _, b := range bodies {
		var id int64
		if err := raw.QueryRowContext(ctx, `INSERT INTO queue_messages (body, attempts, visible_at, enqueued_at, last_error)
			VALUES ($1, 0, $2, $2, '') RETURNING id`, b, now).Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if _, err := raw.ExecContext(ctx, `INSERT INTO queue_dead (id, body, attempts, reason, enqueued_at, died_at)
		VALUES ($1, $2, 5, 'boom', $3, $3)`, ids[len(ids)-1]+100, []byte("dead"), now); err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestMigrateVersionsApart checks that the queue's versions are its own: a
// queue schema from a newer binary stops the queue, not the store, and the
// store's versions do not count as the queue's.
func TestMigrateVersionsApart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	db := openStore(t, path)
	if _, err := db.SQL().ExecContext(ctx, `INSERT INTO queue_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	if err := Migrate(ctx, db); err == nil || !strings.Contains(err.Error(), "queue schema version 9999 is newer") {
		t.Errorf("Migrate of a queue schema from a newer binary: %v, want an error", err)
	}
	if _, err := db.SQL().ExecContext(ctx, `DELETE FROM queue_migrations`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, `DROP TABLE queue_dead`); err != nil {
		t.Fatal(err)
	}
	if err := Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	if _, dead, err := newLocal(t, db, Options{}).Depth(ctx); err != nil || dead != 0 {
		t.Errorf("Depth after the queue migrated from scratch on a migrated store: %d dead, %v", dead, err)
	}
	db.Close()
	if db, err := store.Open(ctx, path); err != nil {
		t.Errorf("store.Open after queue migrations: %v", err)
	} else {
		db.Close()
	}
}
