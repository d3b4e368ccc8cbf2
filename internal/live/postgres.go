package live

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/getflytrap/flytrap/internal/livemsg"
)

// Listener LISTENs on livemsg.Channel and delivers what arrives to a Hub. Every
// dashboard process on a PostgreSQL database runs one.
type Listener struct {
	// DB is a pgx-backed pool (store.DB.SQL() on PostgreSQL). The Listener
	// holds one of its connections for as long as it runs.
	DB  *sql.DB
	Hub *Hub
	Log *slog.Logger
	// MinBackoff and MaxBackoff bound the wait before reconnecting after
	// the connection failed (defaults 500 ms and 30 s); the wait doubles
	// with each failure in a row.
	MinBackoff, MaxBackoff time.Duration
	// Idle is how long to wait for a notification before checking the
	// connection with a ping (default 1 min): a peer that vanished without
	// closing the TCP connection would otherwise never be noticed.
	Idle time.Duration
}

// errNotPgx is permanent: retrying cannot turn the pool into a pgx one.
var errNotPgx = errors.New("live: Listener needs a pool opened with the pgx stdlib driver")

// Run listens until ctx ends, reconnecting with backoff whenever the
// connection fails, and then returns nil. Messages sent while it
// reconnects are lost.
func (l *Listener) Run(ctx context.Context) error {
	minWait, maxWait := l.MinBackoff, l.MaxBackoff
	if minWait <= 0 {
		minWait = 500 * time.Millisecond
	}
	if maxWait < minWait {
		maxWait = max(30*time.Second, minWait)
	}
	wait := minWait
	for ctx.Err() == nil {
		listened, err := l.session(ctx)
		if ctx.Err() != nil {
			break
		}
		if errors.Is(err, errNotPgx) {
			return err
		}
		if listened {
			// The connection worked; this failure is news, not a streak.
			wait = minWait
		}
		l.log().Warn("live listener: connection lost; reconnecting", "err", err, "in", wait)
		// Jitter keeps processes that lost the database together from
		// reconnecting in lockstep.
		t := time.NewTimer(wait/2 + rand.N(wait/2+1))
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		wait = min(2*wait, maxWait)
	}
	return nil
}

// session holds one connection while it LISTENs and delivers. It reports
// whether LISTEN succeeded, and why the session ended.
func (l *Listener) session(ctx context.Context) (listened bool, err error) {
	conn, err := l.DB.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("acquire connection: %w", err)
	}
	defer conn.Close()
	err = conn.Raw(func(driverConn any) error {
		c, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return errNotPgx
		}
		pc := c.Conn()
		// The connection goes back to the pool afterwards; closing it
		// makes the pool discard it, so no pooled connection stays
		// subscribed and collects notifications nobody reads.
		defer func() {
			// Close says goodbye to the server, which a dead peer would
			// never acknowledge.
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			pc.Close(cctx)
		}()
		if _, err := pc.Exec(ctx, "LISTEN "+livemsg.Channel); err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		listened = true
		l.log().Debug("live listener: listening", "channel", livemsg.Channel, "pid", pc.PgConn().PID())
		return l.receive(ctx, pc)
	})
	return listened, err
}

// receive delivers notifications until the connection fails or ctx ends.
func (l *Listener) receive(ctx context.Context, pc *pgx.Conn) error {
	idle := l.Idle
	if idle <= 0 {
		idle = time.Minute
	}
	for {
		wctx, cancel := context.WithTimeout(ctx, idle)
		n, err := pc.WaitForNotification(wctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil && pgconn.Timeout(err) && !pc.IsClosed():
			// Quiet for a while: make sure the server is still there. A
			// timeout leaves the connection usable.
			pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err = pc.Ping(pctx)
			cancel()
			if err != nil {
				return fmt.Errorf("ping: %w", err)
			}
			continue
		case err != nil:
			return fmt.Errorf("wait for notification: %w", err)
		}
		m, err := livemsg.Decode(n.Payload)
		if err != nil {
			// Someone else NOTIFYs on our channel; skip, do not reconnect.
			l.log().Warn("live listener: ignoring notification", "err", err)
			continue
		}
		l.Hub.Deliver(m)
	}
}

func (l *Listener) log() *slog.Logger {
	if l.Log != nil {
		return l.Log
	}
	return slog.Default()
}
