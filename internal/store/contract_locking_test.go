package store

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testBulkDuringSaves: writes to all of a project's issues at once while
// batches of their events are saved: bulk changes, and unassigning the
// issues of a member removed, an admin made a member and a user deleted.
// On PostgreSQL the bulk UPDATE locked the issues in table order and
// saving locks them in ID order, so QA saw 13 of 92 bulk changes fail
// with a deadlock. None fails, none deadlocks, and every event counts.
func testBulkDuringSaves(e *env) {
	t, db, ctx, pid := e.t, e.db, e.ctx, e.project.ID
	const issues, savers, rounds = 40, 3, 15
	member := e.createUser("bulk@example.com", RoleMember)
	e.addMember(e.project, member)
	e.createUser("root@example.com", RoleAdmin) // the admin left
	admin := e.createUser("admin@example.com", RoleAdmin)
	// The newer the issue, the older its events: indexes by time list
	// the issues out of ID order.
	fps := make([]string, issues)
	ids := make([]int64, issues)
	at := func(i int) eventOpt { return withAt(t0.Add(-time.Duration(i) * time.Minute)) }
	for i := range fps {
		fps[i] = fmt.Sprintf("bulk-%d", i)
		ids[i] = e.save(fps[i], at(i)).IssueID
	}
	var (
		wg     sync.WaitGroup
		saving atomic.Int32
		errs   errorList
	)
	saving.Store(savers)
	for w := range savers {
		wg.Go(func() {
			defer saving.Add(-1)
			for n := range rounds {
				// Every issue, in an order of its own: the batch locks
				// them in ID order whatever it is.
				reqs := make([]SaveRequest, issues)
				for i := range reqs {
					f := (i*7 + w*3 + n) % issues
					reqs[i] = request(pid, fps[f], at(f))
				}
				if _, err := db.SaveBatch(ctx, reqs); err != nil {
					errs.add(fmt.Errorf("saver %d, batch %d: %w", w, n, err))
				}
			}
		})
	}
	assign := func(status string, userID int64) error {
		_, _, err := db.BulkUpdate(ctx, System, pid, ids, BulkChange{Status: status, Assign: true, AssigneeID: userID})
		return err
	}
	// Each writes to every issue, assigned to the user it unassigns.
	writers := []struct {
		name string
		fn   func(n int) error
	}{
		{"bulk change", func(n int) error {
			return assign([]string{StatusResolved, StatusUnresolved, StatusIgnored}[n%3], member.ID)
		}},
		{"member removed", func(int) error {
			if err := db.RemoveMember(ctx, System, pid, member.ID); err != nil {
				return err
			}
			return db.AddMember(ctx, pid, member.ID, RoleMember)
		}},
		{"admin made a member", func(int) error {
			if err := assign("", admin.ID); err != nil {
				return err
			}
			if _, err := db.SetUserRole(ctx, System, admin.ID, RoleMember); err != nil {
				return err
			}
			_, err := db.SetUserRole(ctx, System, admin.ID, RoleAdmin)
			return err
		}},
		{"user deleted", func(n int) error {
			u, err := db.CreateUser(ctx, fmt.Sprintf("gone-%d@example.com", n), "h", RoleMember)
			if err != nil {
				return err
			}
			if err := db.AddMember(ctx, pid, u.ID, RoleMember); err != nil {
				return err
			}
			if err := assign("", u.ID); err != nil {
				return err
			}
			return db.DeleteUser(ctx, System, u.ID)
		}},
	}
	wg.Go(func() {
		for n := 0; saving.Load() > 0; n++ {
			w := writers[n%len(writers)]
			if err := w.fn(n); err != nil {
				errs.add(fmt.Errorf("%s %d: %w", w.name, n, err))
			}
		}
	})
	wg.Wait()
	errs.report(t)
	if n := e.count(`SELECT SUM(count) FROM issues WHERE project_id = $1`, e.project.ID); n != issues*(1+savers*rounds) {
		t.Errorf("issue counts add up to %d, want %d", n, issues*(1+savers*rounds))
	}
	if n := e.count(`SELECT COUNT(*) FROM issues WHERE project_id = $1`, e.project.ID); n != issues {
		t.Errorf("%d issues after the saves, want %d", n, issues)
	}
	// InTx runs a deadlock's victim again, which hides a deadlock from
	// the results but not from PostgreSQL's count of them.
	if n := e.pgDeadlocks(); n != 0 {
		t.Errorf("PostgreSQL broke %d deadlocks: bulk changes and saving lock issues in different orders", n)
	}
}

// errorList collects the errors of goroutines.
type errorList struct {
	mu   sync.Mutex
	errs []error
}

func (l *errorList) add(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, err)
}

// report fails the test with each error, once the goroutines are done.
func (l *errorList) report(t *testing.T) {
	t.Helper()
	for _, err := range l.errs {
		t.Error(err)
	}
}

// pgDeadlocks returns how many deadlocks PostgreSQL broke in the store's
// database, 0 on SQLite. A backend reports its counts when idle, at most
// once a second, or when it ends: the pool's other connections are closed
// for good, so a test calls it last, and their backends waited for.
func (e *env) pgDeadlocks() int64 {
	e.t.Helper()
	if e.db.Dialect() != DialectPostgres {
		return 0
	}
	conn, err := e.db.SQL().Conn(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	e.db.SQL().SetMaxIdleConns(0)
	var n int64
	for range 100 {
		if err := conn.QueryRowContext(e.ctx, `SELECT COUNT(*) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&n); err != nil {
			e.t.Fatal(err)
		}
		if n == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	// A backend leaves pg_stat_activity just before it reports.
	time.Sleep(100 * time.Millisecond)
	if err := conn.QueryRowContext(e.ctx, `SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()`).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}
