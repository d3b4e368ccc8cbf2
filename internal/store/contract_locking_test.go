package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
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

// testDeleteDuringSaves: batches of a project's events, over a few hours
// and issues, saved at once while one of the issues they keep creating
// again is deleted over and over. On PostgreSQL a batch that lost the
// race to create that issue read the winner's row without locking it,
// so a delete could take it away before the batch's events went in: the
// batch failed on their foreign key. None fails, PostgreSQL breaks no
// deadlock, the issues' counts are their events', and the project's
// hours the sums of its issues'.
func testDeleteDuringSaves(e *env) {
	t, db, ctx, pid := e.t, e.db, e.ctx, e.project.ID
	const savers, rounds, perBatch = 4, 20, 30
	var (
		wg      sync.WaitGroup
		saving  atomic.Int32
		errs    errorList
		deleted int
	)
	saving.Store(savers)
	for w := range savers {
		wg.Go(func() {
			defer saving.Add(-1)
			for n := range rounds {
				reqs := make([]SaveRequest, perBatch)
				for i := range reqs {
					f := (i*5 + w*3 + n) % 9
					at := withAt(t0.Add(-time.Duration((i+w+n)%4) * time.Hour))
					reqs[i] = request(pid, fmt.Sprintf("hot-%d", f), at)
				}
				if _, err := db.SaveBatch(ctx, reqs); err != nil {
					errs.add(fmt.Errorf("saver %d, batch %d: %w", w, n, err))
				}
			}
		})
	}
	wg.Go(func() {
		for saving.Load() > 0 {
			var id int64
			err := db.SQL().QueryRowContext(ctx, `SELECT id FROM issues WHERE project_id = $1 AND fingerprint = 'hot-0'`, pid).Scan(&id)
			if err != nil {
				time.Sleep(time.Millisecond)
				continue
			}
			if err := db.DeleteIssue(ctx, System, id); err != nil && !errors.Is(err, ErrNotFound) {
				errs.add(fmt.Errorf("delete %d: %w", id, err))
			}
			deleted++
		}
	})
	wg.Wait()
	errs.report(t)
	if deleted == 0 {
		t.Error("no issue deleted while saving")
	}
	if n, m := e.count(`SELECT COALESCE(SUM(count), 0) FROM issues`), e.count(`SELECT COUNT(*) FROM events`); n != m {
		t.Errorf("issues count %d events, %d are stored", n, m)
	}
	e.sameAsIssueSums("after saves and deletes", time.Time{})
	if n := e.pgDeadlocks(); n != 0 {
		t.Errorf("PostgreSQL broke %d deadlocks: saving and deleting lock in different orders", n)
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

// testAlertBurstConcurrent: processors saving new issues, and check-ins
// of failing and recovering monitors, side by side keep each channel to
// NewIssueBurst alerts of each kind in a window and count every other one
// into the kind's held notification (QA, 3 processors on PostgreSQL: 23
// to 25 new-issue alerts, a summary of 83 of 97, and batches failing on
// the summary's key). In each of a few windows, one alert short of the
// limit, all alert at once. The project's new-issue rules name its
// channels out of ID order, which monitor alerts follow: a batch still
// takes their locks in ID order.
func testAlertBurstConcurrent(e *env) {
	t, db, ctx, pid := e.t, e.db, e.ctx, e.project.ID
	hook, err := db.CreateAlertChannel(ctx, System, AlertChannel{ProjectID: pid, Kind: ChannelWebhook, Name: "ops", URL: "https://example.com/hook"})
	if err != nil {
		t.Fatal(err)
	}
	rules, err := db.ListAlertRules(ctx, System, pid)
	if err != nil {
		t.Fatal(err)
	}
	var channels []int64
	for _, r := range rules {
		if r.Type == RuleNewIssue {
			// The default channel's rule, made again after the new
			// channel's.
			if _, err := db.PutAlertRule(ctx, System, AlertRule{ProjectID: pid, ChannelID: hook.ID, Type: RuleNewIssue, Enabled: true}); err != nil {
				t.Fatal(err)
			}
			if err := db.DeleteAlertRule(ctx, System, r.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := db.PutAlertRule(ctx, System, AlertRule{ProjectID: pid, ChannelID: r.ChannelID, Type: RuleNewIssue, Enabled: true}); err != nil {
				t.Fatal(err)
			}
			channels = []int64{r.ChannelID, hook.ID}
		}
	}
	if len(channels) != 2 || channels[0] > channels[1] {
		t.Fatalf("default new-issue rule's channel and the new one: %v", channels)
	}
	const savers, monitors, windows = 8, 6, 4
	var errs errorList
	// Made first: making a monitor waits for the others being made.
	var jobs []CheckInRequest
	for w := range monitors {
		jobs = append(jobs, checkIn(pid, fmt.Sprintf("job-%d", w), w+1, event.CheckInOK, t0, hourly()))
	}
	e.saveCheckIns(jobs...)
	for k := range windows {
		now := t0.Truncate(NewIssueBurstWindow).Add(time.Duration(k+1)*NewIssueBurstWindow + time.Minute)
		alerting := db.AlertHook(func() time.Time { return now })
		var (
			first     []SaveRequest
			firstRuns []CheckInRequest
		)
		for i := range NewIssueBurst - 1 {
			first = append(first, request(pid, fmt.Sprintf("first-%d-%d", k, i), withRcv(now)))
			firstRuns = append(firstRuns, checkIn(pid, fmt.Sprintf("first-%d-%d", k, i), 1000*(k+1)+i, event.CheckInError, now, hourly()))
		}
		e.saveAlerting(now, first...)
		e.saveCheckIns(firstRuns...)
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
		)
		for w := range savers {
			wg.Go(func() {
				<-start
				if _, err := db.SaveBatch(ctx, []SaveRequest{request(pid, fmt.Sprintf("new-%d-%d", k, w), withRcv(now))}, alerting); err != nil {
					errs.add(fmt.Errorf("window %d, saver %d: %w", k, w, err))
				}
			})
		}
		for w := range monitors {
			wg.Go(func() {
				<-start
				// Failing, recovered, failing, ...: every check-in alerts.
				status := event.CheckInError
				if k%2 == 1 {
					status = event.CheckInOK
				}
				ci := checkIn(pid, fmt.Sprintf("job-%d", w), 100*(k+1)+w, status, now, hourly())
				if _, err := db.SaveCheckIns(ctx, []CheckInRequest{ci}); err != nil {
					errs.add(fmt.Errorf("window %d, monitor %d: %w", k, w, err))
				}
			})
		}
		close(start)
		wg.Wait()
		for _, kind := range []struct {
			alerts []string
			held   string
			total  int64
		}{
			{[]string{RuleNewIssue}, ReasonNewIssuesHeld, NewIssueBurst - 1 + savers},
			{[]string{ReasonMonitorFailing, ReasonMonitorRecovered}, ReasonMonitorsHeld, NewIssueBurst - 1 + monitors},
		} {
			for _, ch := range channels {
				alerts, held := e.windowAlerts(ch, now, kind.alerts, kind.held)
				if alerts != NewIssueBurst || len(held) != 1 || held[0] != kind.total-NewIssueBurst {
					t.Errorf("window %d, channel %d: %d %v alerts and %s notifications counting %v; want %d and one counting %d",
						k, ch, alerts, kind.alerts, kind.held, held, NewIssueBurst, kind.total-NewIssueBurst)
				}
			}
		}
	}
	errs.report(t)
	if n := e.pgDeadlocks(); n != 0 {
		t.Errorf("PostgreSQL broke %d deadlocks: alerts lock channels in different orders", n)
	}
}

// windowAlerts returns how many notifications of the reasons alerts the
// channel got at now, and the counts of its notifications of reason held
// made at now.
func (e *env) windowAlerts(channel int64, now time.Time, alerts []string, held string) (int64, []int64) {
	e.t.Helper()
	var n int64
	for _, r := range alerts {
		n += e.count(`SELECT COUNT(*) FROM alert_notifications WHERE channel_id = $1 AND reason = $2 AND created_at = $3`, channel, r, millis(now))
	}
	rows, err := e.db.SQL().QueryContext(e.ctx, `SELECT payload FROM alert_notifications
		WHERE channel_id = $1 AND reason = $2 AND created_at = $3 ORDER BY id`, channel, held, millis(now))
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var counts []int64
	for rows.Next() {
		var (
			raw string
			p   AlertPayload
		)
		if err := rows.Scan(&raw); err != nil {
			e.t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(raw), &p); err != nil {
			e.t.Fatal(err)
		}
		counts = append(counts, p.Held)
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
	return n, counts
}
