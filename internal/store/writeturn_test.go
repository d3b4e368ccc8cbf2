package store

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"
)

func TestWriteTurn(t *testing.T) {
	ctx := context.Background()
	t.Run("sqlite writers take turns", func(t *testing.T) {
		d := openSQLiteTest(t)
		done, err := d.WriteTurn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		waiting, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		defer cancel()
		if _, err := d.WriteTurn(waiting); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("second WriteTurn while the first is held: %v, want it to wait until its deadline", err)
		}
		inTx := make(chan error, 1)
		go func() { inTx <- d.InTx(ctx, func(tx *sql.Tx) error { return nil }) }()
		select {
		case err := <-inTx:
			t.Fatalf("InTx ran during another writer's turn (err %v)", err)
		case <-time.After(20 * time.Millisecond):
		}
		done()
		if err := <-inTx; err != nil {
			t.Fatalf("InTx after the turn ended: %v", err)
		}
	})
	t.Run("postgres writers do not wait", func(t *testing.T) {
		d := openPostgresTest(t)
		first, err := d.WriteTurn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer first()
		second, err := d.WriteTurn(ctx)
		if err != nil {
			t.Fatalf("second WriteTurn on PostgreSQL: %v", err)
		}
		second()
	})
}
