package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/schedule"
)

// MaxMonitorsPerProject bounds the monitors check-ins may create in one
// project: each is a row the missed check-ins job reads every run, and a
// public DSN is enough to send a check-in with a monitor_config.
const MaxMonitorsPerProject = 1000

// MaxNewMonitorsPerHour bounds the monitors check-ins may create in one
// project in an hour, as MaxNewReleasesPerHour bounds releases: without
// it one minute of check-ins with made-up slugs makes a thousand
// monitors that all fail, and alert, a minute later.
const MaxNewMonitorsPerHour = 100

// MaxCheckInsPerMonitor is how many check-ins a monitor keeps, the
// newest: a job that runs every minute keeps about two weeks.
const MaxCheckInsPerMonitor = 20000

// MaxHeldCheckInsPerProject bounds the check-ins a project holds for
// monitors that do not exist yet, the oldest dropped first: a public DSN
// is enough to send them.
const MaxHeldCheckInsPerProject = 1000

// HeldCheckInTTL is how long a check-in without a config waits for a
// check-in with one to create its monitor: an SDK sends a run's
// in_progress, with the config, and its end, without, as two requests
// that may be stored in either order.
const HeldCheckInTTL = time.Hour

// maxJudgedPerRun bounds the missed and timed-out runs one run of the
// monitors job writes, so that a server back from a long stop catches up
// over a few runs instead of one long transaction.
const maxJudgedPerRun = 500

// Monitor statuses.
const (
	// MonitorNew is a monitor that has not yet had a check-in judged.
	MonitorNew     = "new"
	MonitorOK      = "ok"
	MonitorFailing = "failing"
)

// Transitions a check-in or the monitors job may cause, once each.
const (
	// TransitionFailing is a monitor that was not failing reaching its
	// failure threshold.
	TransitionFailing = "failing"
	// TransitionRecovered is a failing monitor reaching its recovery
	// threshold.
	TransitionRecovered = "recovered"
)

// Monitor is a cron monitor: a scheduled job of a project that checks in.
type Monitor struct {
	ID        int64               `json:"id"`
	ProjectID int64               `json:"project_id"`
	Slug      string              `json:"slug"`
	Config    event.MonitorConfig `json:"config"`
	Status    string              `json:"status"`
	// LastCheckIn is the latest check-in's time and LastStatus its
	// status; zero and "" before the first.
	LastCheckIn time.Time `json:"last_checkin"`
	LastStatus  string    `json:"last_status"`
	// NextExpected is when the next check-in is due; the run is missed
	// when none has come Config.MarginMinutes after it.
	NextExpected time.Time `json:"next_expected"`
	CreatedAt    time.Time `json:"created_at"`
	// failures and oks are the latest runs in a row that failed and
	// succeeded, measured against the thresholds.
	failures, oks int64
}

// CheckIn is one stored check-in of a monitor.
type CheckIn struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	// Duration is the run's length the SDK reported; nil when unknown.
	Duration    *time.Duration `json:"duration,omitempty"`
	Environment string         `json:"environment"`
	Release     string         `json:"release"`
	// Received is when it arrived, or for a missed run when the run
	// was expected; Updated when its status last changed.
	Received time.Time `json:"received"`
	Updated  time.Time `json:"updated"`
}

// CheckInRequest is one check-in to store, of a project.
type CheckInRequest struct {
	ProjectID int64
	CheckIn   event.CheckIn
}

// CheckInResult is what storing one check-in did.
type CheckInResult struct {
	// Dropped says why the check-in was not stored ("" when it was): a
	// project already at MaxMonitorsPerProject or MaxNewMonitorsPerHour.
	Dropped string
	// Held is true when the check-in had no config and its monitor does
	// not exist yet: it waits, HeldCheckInTTL at most, for a check-in
	// that creates the monitor.
	Held bool
	// HeldDropped is how many check-ins the project held before were
	// dropped, the oldest, to hold this one within
	// MaxHeldCheckInsPerProject.
	HeldDropped int64
	// Orphan is true when the project no longer exists.
	Orphan bool
	// Duplicate is true when the check-in was known with that status or
	// had finished already: nothing changed.
	Duplicate bool
	// Transition is TransitionFailing or TransitionRecovered when the
	// check-in changed the monitor's status so, else "".
	Transition string
	// Monitor is the monitor after the check-in.
	Monitor Monitor
}

// Reasons of the notifications a monitor's transitions write to every
// alert channel of its project.
const (
	ReasonMonitorFailing   = "monitor_failing"
	ReasonMonitorRecovered = "monitor_recovered"
)

// MonitorTransition is a monitor the monitors job changed the status of.
type MonitorTransition struct {
	Monitor    Monitor
	Transition string
	// CheckIn is the missed or timed-out check-in that caused it.
	CheckIn CheckIn
}

// SaveCheckIns stores check-ins in one transaction and returns one result
// per request. A check-in with a config creates its monitor (within
// MaxMonitorsPerProject and MaxNewMonitorsPerHour) or replaces its
// settings; one without a config for a monitor Flytrap does not know is
// held, and applied right after the check-in that creates the monitor, in
// the order received. An in_progress check-in is finished by an ok or
// error with its ID; a check-in already finished stays so. The queue
// delivers at least once; a check-in stored before changes nothing the
// second time.
func (d *DB) SaveCheckIns(ctx context.Context, reqs []CheckInRequest) ([]CheckInResult, error) {
	for _, r := range reqs {
		if r.ProjectID <= 0 || r.CheckIn.ID == "" || r.CheckIn.Slug == "" {
			return nil, fmt.Errorf("store: save check-ins: %w: a project, a check-in ID and a monitor slug are required", ErrInvalid)
		}
	}
	results := make([]CheckInResult, len(reqs))
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		if err := d.lockMonitorProjects(ctx, tx, reqs); err != nil {
			return err
		}
		for i, r := range reqs {
			res, err := d.saveCheckIn(ctx, tx, r.ProjectID, r.CheckIn)
			if err != nil {
				return err
			}
			results[i] = res
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: save check-ins: %w", err)
	}
	return results, nil
}

// lockMonitorProjects takes, on PostgreSQL, the monitor lock
// (monitorLockKey) of each project of reqs, in the order of the keys and
// before any monitor's row: a batch that took its lock only on reaching a
// monitor to make, holding the rows it had stored to, deadlocked with one
// that had made a monitor first and then reached those rows. The lock
// also makes the monitors bounds (MaxMonitorsPerProject,
// MaxNewMonitorsPerHour) count after the other workers' commits, and a
// check-in held while another batch makes its monitor wait for it.
func (d *DB) lockMonitorProjects(ctx context.Context, tx *sql.Tx, reqs []CheckInRequest) error {
	if d.dialect != DialectPostgres {
		return nil // SQLite writes one transaction at a time.
	}
	keys := make([]int32, len(reqs))
	for i, r := range reqs {
		keys[i] = int32(r.ProjectID) // IDs past 2^31 share a lock, and only wait for each other
	}
	slices.Sort(keys)
	for _, k := range slices.Compact(keys) {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, monitorLockKey, k); err != nil {
			return err
		}
	}
	return nil
}

// saveCheckIn stores one check-in and, when it created its monitor, the
// check-ins held for the monitor after it; the result is the first's, with
// the monitor as they all left it.
func (d *DB) saveCheckIn(ctx context.Context, tx *sql.Tx, projectID int64, ci event.CheckIn) (CheckInResult, error) {
	res, created, err := d.storeCheckIn(ctx, tx, projectID, ci)
	if err != nil || !created {
		return res, err
	}
	held, err := takeHeldCheckIns(ctx, tx, projectID, ci.Slug)
	if err != nil {
		return CheckInResult{}, err
	}
	for _, h := range held {
		r, _, err := d.storeCheckIn(ctx, tx, projectID, h)
		if err != nil {
			return CheckInResult{}, err
		}
		res.Monitor = r.Monitor
	}
	return res, nil
}

// storeCheckIn stores one check-in and reports whether it created its
// monitor.
func (d *DB) storeCheckIn(ctx context.Context, tx *sql.Tx, projectID int64, ci event.CheckIn) (CheckInResult, bool, error) {
	var one int
	switch err := tx.QueryRowContext(ctx, `SELECT 1 FROM projects WHERE id = $1`, projectID).Scan(&one); {
	case errors.Is(err, sql.ErrNoRows):
		return CheckInResult{Orphan: true}, false, nil
	case err != nil:
		return CheckInResult{}, false, err
	}
	// Locked, so that the monitors job and other workers' check-ins of
	// the monitor wait for this one's counts instead of overwriting them;
	// the project's lock is held already (lockMonitorProjects).
	m, err := loadMonitor(ctx, tx, `project_id = $1 AND slug = $2`+d.forUpdate(), projectID, ci.Slug)
	created := false
	switch {
	case errors.Is(err, ErrNotFound) && ci.Config == nil:
		res, err := holdCheckIn(ctx, tx, projectID, ci)
		return res, false, err
	case errors.Is(err, ErrNotFound):
		var n int64
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM monitors WHERE project_id = $1`, projectID).Scan(&n); err != nil {
			return CheckInResult{}, false, err
		}
		if n >= MaxMonitorsPerProject {
			return CheckInResult{Dropped: fmt.Sprintf("the project has %d monitors, the most it may have", MaxMonitorsPerProject)}, false, nil
		}
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM monitors WHERE project_id = $1 AND created_at > $2`,
			projectID, millis(ci.Received)-time.Hour.Milliseconds()).Scan(&n); err != nil {
			return CheckInResult{}, false, err
		}
		if n >= MaxNewMonitorsPerHour {
			return CheckInResult{Dropped: fmt.Sprintf("the project made %d monitors in the last hour, the most it may", MaxNewMonitorsPerHour)}, false, nil
		}
		m = Monitor{ProjectID: projectID, Slug: ci.Slug, Config: *ci.Config, Status: MonitorNew, CreatedAt: ci.Received.UTC()}
		if m.ID, err = insertMonitor(ctx, tx, m); err != nil {
			return CheckInResult{}, false, err
		}
		created = true
	case err != nil:
		return CheckInResult{}, false, err
	case ci.Config != nil && *ci.Config != m.Config:
		m.Config = *ci.Config
		c := m.Config
		if _, err := tx.ExecContext(ctx, `UPDATE monitors SET schedule_type = $2, crontab = $3, interval_n = $4, interval_unit = $5,
			timezone = $6, margin_minutes = $7, max_runtime_minutes = $8, failure_threshold = $9, recovery_threshold = $10 WHERE id = $1`,
			m.ID, c.ScheduleType, c.Crontab, c.Interval, c.Unit, c.Timezone, c.MarginMinutes, c.MaxRuntimeMinutes,
			c.FailureThreshold, c.RecoveryThreshold); err != nil {
			return CheckInResult{}, false, err
		}
	}
	// Ingest checked the config; a schedule that cannot be followed
	// here still stores the check-in, with no run expected, rather than
	// failing the batch on every redelivery.
	sched, _ := schedule.Of(m.Config)
	duration := int64(-1)
	if ci.Duration != nil {
		duration = int64(*ci.Duration * 1000)
	}
	received := millis(ci.Received)
	var (
		old        string
		runStarted int64
	)
	err = tx.QueryRowContext(ctx, `SELECT status, received_at FROM monitor_checkins WHERE monitor_id = $1 AND check_in_id = $2`, m.ID, ci.ID).Scan(&old, &runStarted)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.ExecContext(ctx, `INSERT INTO monitor_checkins (monitor_id, project_id, check_in_id, status, duration_ms, environment, release, received_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`, m.ID, projectID, ci.ID, ci.Status, duration, ci.Environment, ci.Release, received); err != nil {
			return CheckInResult{}, false, err
		}
		if err := boundCheckIns(ctx, tx, m.ID); err != nil {
			return CheckInResult{}, false, err
		}
		if !ci.Received.Before(m.LastCheckIn) {
			// A run that started is on schedule, however it ends:
			// the next is due a schedule's step after it.
			m.LastCheckIn, m.LastStatus = ci.Received.UTC(), ci.Status
			m.NextExpected = time.Time{}
			if sched != nil {
				m.NextExpected = sched.Next(ci.Received)
			}
		}
	case err != nil:
		return CheckInResult{}, false, err
	case old != event.CheckInInProgress || ci.Status == event.CheckInInProgress:
		return CheckInResult{Duplicate: true, Monitor: m}, created, nil
	default:
		if _, err := tx.ExecContext(ctx, `UPDATE monitor_checkins SET status = $3, duration_ms = $4, updated_at = $5
			WHERE monitor_id = $1 AND check_in_id = $2`, m.ID, ci.ID, ci.Status, duration, max(received, runStarted)); err != nil {
			return CheckInResult{}, false, err
		}
		// The run is the latest when it started last, whenever its
		// end arrived: a held end is stored after its start.
		if !fromMillis(runStarted).Before(m.LastCheckIn) {
			m.LastStatus = ci.Status
		}
	}
	res := CheckInResult{Monitor: m}
	if ci.Status != event.CheckInInProgress {
		res.Transition = judge(&res.Monitor, ci.Status)
	}
	if err := updateMonitorState(ctx, tx, res.Monitor); err != nil {
		return CheckInResult{}, false, err
	}
	return res, created, monitorAlert(ctx, tx, res.Monitor, res.Transition, CheckIn{ID: ci.ID, Status: ci.Status,
		Environment: ci.Environment, Release: ci.Release, Received: ci.Received}, ci.Received)
}

// holdCheckIn holds a check-in without a config whose monitor does not
// exist yet, within MaxHeldCheckInsPerProject. A held in_progress is
// finished by its end, as a stored one is; anything else held again
// changes nothing.
func holdCheckIn(ctx context.Context, tx *sql.Tx, projectID int64, ci event.CheckIn) (CheckInResult, error) {
	duration := int64(-1)
	if ci.Duration != nil {
		duration = int64(*ci.Duration * 1000)
	}
	var old string
	err := tx.QueryRowContext(ctx, `SELECT status FROM monitor_held_checkins WHERE project_id = $1 AND slug = $2 AND check_in_id = $3`,
		projectID, ci.Slug, ci.ID).Scan(&old)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.ExecContext(ctx, `INSERT INTO monitor_held_checkins (project_id, slug, check_in_id, status, duration_ms, environment, release, received_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, projectID, ci.Slug, ci.ID, ci.Status, duration, ci.Environment, ci.Release, millis(ci.Received)); err != nil {
			return CheckInResult{}, err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM monitor_held_checkins WHERE project_id = $1 AND id <= (
			SELECT id FROM monitor_held_checkins WHERE project_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)`, projectID, MaxHeldCheckInsPerProject)
		if err != nil {
			return CheckInResult{}, err
		}
		n, err := res.RowsAffected()
		return CheckInResult{Held: true, HeldDropped: n}, err
	case err != nil:
		return CheckInResult{}, err
	case old != event.CheckInInProgress || ci.Status == event.CheckInInProgress:
		return CheckInResult{Held: true, Duplicate: true}, nil
	}
	_, err = tx.ExecContext(ctx, `UPDATE monitor_held_checkins SET status = $4, duration_ms = $5 WHERE project_id = $1 AND slug = $2 AND check_in_id = $3`,
		projectID, ci.Slug, ci.ID, ci.Status, duration)
	return CheckInResult{Held: true}, err
}

// takeHeldCheckIns deletes and returns the check-ins held for a project's
// monitor, in the order they were received.
func takeHeldCheckIns(ctx context.Context, tx *sql.Tx, projectID int64, slug string) ([]event.CheckIn, error) {
	rows, err := tx.QueryContext(ctx, `SELECT check_in_id, status, duration_ms, environment, release, received_at FROM monitor_held_checkins
		WHERE project_id = $1 AND slug = $2 ORDER BY received_at, id`, projectID, slug)
	if err != nil {
		return nil, err
	}
	var held []event.CheckIn
	for rows.Next() {
		var (
			ci                 = event.CheckIn{Slug: slug}
			duration, received int64
		)
		if err := rows.Scan(&ci.ID, &ci.Status, &duration, &ci.Environment, &ci.Release, &received); err != nil {
			rows.Close()
			return nil, err
		}
		if duration >= 0 {
			s := float64(duration) / 1000
			ci.Duration = &s
		}
		ci.Received = fromMillis(received)
		held = append(held, ci)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(held) == 0 {
		return nil, nil
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM monitor_held_checkins WHERE project_id = $1 AND slug = $2`, projectID, slug)
	return held, err
}

// DroppedCheckIn is a held check-in that no check-in created the monitor
// of within HeldCheckInTTL.
type DroppedCheckIn struct {
	ProjectID int64
	Slug      string
	ID        string
}

// PruneHeldCheckIns drops the check-ins held for longer than
// HeldCheckInTTL at now, at most maxJudgedPerRun of them, the oldest
// first, and returns them.
func (d *DB) PruneHeldCheckIns(ctx context.Context, now time.Time) ([]DroppedCheckIn, error) {
	var out []DroppedCheckIn
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		out = nil
		rows, err := tx.QueryContext(ctx, `SELECT id, project_id, slug, check_in_id FROM monitor_held_checkins
			WHERE received_at < $1 ORDER BY received_at LIMIT $2`, millis(now.Add(-HeldCheckInTTL)), maxJudgedPerRun)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var (
				id int64
				c  DroppedCheckIn
			)
			if err := rows.Scan(&id, &c.ProjectID, &c.Slug, &c.ID); err != nil {
				rows.Close()
				return err
			}
			ids, out = append(ids, id), append(out, c)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `DELETE FROM monitor_held_checkins WHERE id = $1`, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: prune held check-ins: %w", err)
	}
	return out, nil
}

// monitorAlert writes, for a transition ("" for none), one notification
// to each alert channel of the monitor's project, in the transaction that
// made it: alert rules are about issues, and a job that stops running has
// none. The key names the check-in, so a transition alerts once. A
// channel gets at most NewIssueBurst monitor alerts in
// NewIssueBurstWindow; the rest are counted into a ReasonMonitorsHeld
// summary (holdBurst), so a thousand monitors failing at once send
// twenty alerts and a summary per channel.
func monitorAlert(ctx context.Context, tx *sql.Tx, m Monitor, transition string, ci CheckIn, now time.Time) error {
	if transition == "" {
		return nil
	}
	p := AlertPayload{ProjectID: m.ProjectID, Status: m.Status, Environment: ci.Environment, Release: ci.Release, At: now.UTC(),
		Monitor: &AlertMonitor{Slug: m.Slug, Status: m.Status, Schedule: schedule.Describe(m.Config),
			CheckIn: AlertCheckIn{Status: ci.Status, Time: ci.Received.UTC(), Environment: ci.Environment, Release: ci.Release}}}
	reason := ReasonMonitorRecovered
	if transition == TransitionFailing {
		reason = ReasonMonitorFailing
		p.Title = "Monitor " + m.Slug + " is failing"
		p.Level = "error"
		p.Culprit = fmt.Sprintf("%s check-in of the run of %s", failureName(ci.Status), ci.Received.UTC().Format("2006-01-02 15:04 MST"))
	} else {
		p.Title = "Monitor " + m.Slug + " recovered"
		p.Level = "info"
		p.Culprit = fmt.Sprintf("%d ok check-ins in a row", m.oks)
		p.Monitor.OKStreak = m.oks
	}
	rows, err := tx.QueryContext(ctx, `SELECT id FROM alert_channels WHERE project_id = $1 ORDER BY id`, m.ProjectID)
	if err != nil {
		return err
	}
	var channels []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		channels = append(channels, id)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, ch := range channels {
		key := fmt.Sprintf("%s:%d:%s:%d", reason, m.ID, ci.ID, ch)
		held, err := holdBurst(ctx, tx, 0, ch, []string{ReasonMonitorFailing, ReasonMonitorRecovered}, ReasonMonitorsHeld, p, millis(now))
		if err != nil {
			return err
		}
		if held {
			continue
		}
		if err := insertNotification(ctx, tx, 0, ch, reason, key, p, millis(now)); err != nil {
			return err
		}
	}
	return nil
}

// failureName words a failed check-in's status for an alert.
func failureName(status string) string {
	switch status {
	case event.CheckInMissed:
		return "a missed"
	case event.CheckInTimeout:
		return "a timed-out"
	}
	return "an error"
}

// judge counts a finished run of m with status and returns the transition
// it makes, if any.
func judge(m *Monitor, status string) string {
	if status == event.CheckInOK {
		m.oks, m.failures = m.oks+1, 0
		switch {
		case m.Status == MonitorFailing && m.oks >= m.Config.RecoveryThreshold:
			m.Status = MonitorOK
			return TransitionRecovered
		case m.Status == MonitorNew:
			m.Status = MonitorOK
		}
		return ""
	}
	m.failures, m.oks = m.failures+1, 0
	if m.Status != MonitorFailing && m.failures >= max(m.Config.FailureThreshold, 1) {
		m.Status = MonitorFailing
		return TransitionFailing
	}
	return ""
}

func boundCheckIns(ctx context.Context, tx *sql.Tx, monitorID int64) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM monitor_checkins WHERE monitor_id = $1 AND id <= (
		SELECT id FROM monitor_checkins WHERE monitor_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)`, monitorID, MaxCheckInsPerMonitor)
	return err
}

const monitorCols = `id, project_id, slug, schedule_type, crontab, interval_n, interval_unit, timezone, margin_minutes,
	max_runtime_minutes, failure_threshold, recovery_threshold, status, failures, oks, last_checkin, last_status, next_expected, created_at`

func scanMonitor(row scanner) (Monitor, error) {
	var (
		m                     Monitor
		last, next, createdAt int64
	)
	c := &m.Config
	err := row.Scan(&m.ID, &m.ProjectID, &m.Slug, &c.ScheduleType, &c.Crontab, &c.Interval, &c.Unit, &c.Timezone, &c.MarginMinutes,
		&c.MaxRuntimeMinutes, &c.FailureThreshold, &c.RecoveryThreshold, &m.Status, &m.failures, &m.oks, &last, &m.LastStatus, &next, &createdAt)
	if err != nil {
		return Monitor{}, err
	}
	if last > 0 {
		m.LastCheckIn = fromMillis(last)
	}
	if next > 0 {
		m.NextExpected = fromMillis(next)
	}
	m.CreatedAt = fromMillis(createdAt)
	return m, nil
}

func loadMonitor(ctx context.Context, db dbtx, where string, args ...any) (Monitor, error) {
	m, err := scanMonitor(db.QueryRowContext(ctx, `SELECT `+monitorCols+` FROM monitors WHERE `+where, args...))
	return m, notFound(err)
}

func insertMonitor(ctx context.Context, tx *sql.Tx, m Monitor) (int64, error) {
	c := m.Config
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO monitors (project_id, slug, schedule_type, crontab, interval_n, interval_unit, timezone,
		margin_minutes, max_runtime_minutes, failure_threshold, recovery_threshold, status, failures, oks, last_checkin, last_status,
		next_expected, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0, 0, 0, '', 0, $13) RETURNING id`,
		m.ProjectID, m.Slug, c.ScheduleType, c.Crontab, c.Interval, c.Unit, c.Timezone, c.MarginMinutes, c.MaxRuntimeMinutes,
		c.FailureThreshold, c.RecoveryThreshold, m.Status, millis(m.CreatedAt)).Scan(&id)
	return id, err
}

func updateMonitorState(ctx context.Context, tx *sql.Tx, m Monitor) error {
	_, err := tx.ExecContext(ctx, `UPDATE monitors SET status = $2, failures = $3, oks = $4, last_checkin = $5, last_status = $6,
		next_expected = $7 WHERE id = $1`, m.ID, m.Status, m.failures, m.oks, expectedMillis(m.LastCheckIn), m.LastStatus, expectedMillis(m.NextExpected))
	return err
}

// expectedMillis is how a monitor's times are stored: unix milliseconds,
// 0 for none.
func expectedMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return millis(t)
}

// JudgeMonitors is the monitors job's work at now: each monitor whose next
// check-in is more than its margin late gets a missed check-in, dated when
// the run was due, and is next expected at the first run whose margin has
// not passed; each check-in in progress for longer than its monitor's max
// runtime becomes timeout. Both count as failures. It returns the monitors
// whose status changed. Two servers running it at once write each missed
// or timed-out run once.
func (d *DB) JudgeMonitors(ctx context.Context, now time.Time) ([]MonitorTransition, error) {
	var out []MonitorTransition
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		out = nil
		nowMs := millis(now)
		rows, err := tx.QueryContext(ctx, `SELECT `+monitorCols+` FROM monitors
			WHERE next_expected > 0 AND next_expected + margin_minutes * 60000 < $1 ORDER BY next_expected LIMIT $2`, nowMs, maxJudgedPerRun)
		if err != nil {
			return err
		}
		missed, err := scanMonitors(rows)
		if err != nil {
			return err
		}
		for _, m := range missed {
			due := m.NextExpected
			ci := CheckIn{ID: newCheckInID(), Status: event.CheckInMissed, Received: due, Updated: now.UTC()}
			// A schedule that cannot be followed (see saveCheckIn)
			// expects no further run, so one monitor cannot stop the
			// job for the others.
			m.NextExpected = time.Time{}
			if sched, err := schedule.Of(m.Config); err == nil {
				m.NextExpected = nextAfterMissed(sched, due, now.Add(-time.Duration(m.Config.MarginMinutes)*time.Minute))
			}
			m.LastCheckIn, m.LastStatus = due, event.CheckInMissed
			tr := judge(&m, event.CheckInMissed)
			res, err := tx.ExecContext(ctx, `UPDATE monitors SET status = $3, failures = $4, oks = $5, last_checkin = $6, last_status = $7,
				next_expected = $8 WHERE id = $1 AND next_expected = $2`,
				m.ID, millis(due), m.Status, m.failures, m.oks, millis(due), m.LastStatus, expectedMillis(m.NextExpected))
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				// Another server judged it first.
				if err != nil {
					return err
				}
				continue
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO monitor_checkins (monitor_id, project_id, check_in_id, status, duration_ms, environment, release, received_at, updated_at)
				VALUES ($1, $2, $3, $4, -1, '', '', $5, $6)`, m.ID, m.ProjectID, ci.ID, ci.Status, millis(due), nowMs); err != nil {
				return err
			}
			if err := boundCheckIns(ctx, tx, m.ID); err != nil {
				return err
			}
			if err := monitorAlert(ctx, tx, m, tr, ci, now); err != nil {
				return err
			}
			if tr != "" {
				out = append(out, MonitorTransition{Monitor: m, Transition: tr, CheckIn: ci})
			}
		}
		return d.judgeTimeouts(ctx, tx, now, &out)
	})
	if err != nil {
		return nil, fmt.Errorf("store: judge monitors: %w", err)
	}
	return out, nil
}

// judgeTimeouts marks the runs in progress past their max runtime timeout.
func (d *DB) judgeTimeouts(ctx context.Context, tx *sql.Tx, now time.Time, out *[]MonitorTransition) error {
	nowMs := millis(now)
	rows, err := tx.QueryContext(ctx, `SELECT c.monitor_id, c.check_in_id, c.environment, c.release, c.received_at FROM monitor_checkins c
		JOIN monitors m ON m.id = c.monitor_id
		WHERE c.status = 'in_progress' AND c.received_at + m.max_runtime_minutes * 60000 < $1 ORDER BY c.received_at LIMIT $2`,
		nowMs, maxJudgedPerRun)
	if err != nil {
		return err
	}
	type run struct {
		monitor int64
		ci      CheckIn
	}
	var runs []run
	for rows.Next() {
		var (
			r        run
			received int64
		)
		if err := rows.Scan(&r.monitor, &r.ci.ID, &r.ci.Environment, &r.ci.Release, &received); err != nil {
			rows.Close()
			return err
		}
		r.ci.Received, r.ci.Updated, r.ci.Status = fromMillis(received), now.UTC(), event.CheckInTimeout
		runs = append(runs, r)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range runs {
		res, err := tx.ExecContext(ctx, `UPDATE monitor_checkins SET status = 'timeout', updated_at = $3
			WHERE monitor_id = $1 AND check_in_id = $2 AND status = 'in_progress'`, r.monitor, r.ci.ID, nowMs)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err != nil {
				return err
			}
			continue
		}
		m, err := loadMonitor(ctx, tx, `id = $1`+d.forUpdate(), r.monitor)
		if err != nil {
			return err
		}
		if !r.ci.Received.Before(m.LastCheckIn) {
			m.LastStatus = event.CheckInTimeout
		}
		tr := judge(&m, event.CheckInTimeout)
		if err := updateMonitorState(ctx, tx, m); err != nil {
			return err
		}
		if err := monitorAlert(ctx, tx, m, tr, r.ci, now); err != nil {
			return err
		}
		if tr != "" {
			*out = append(*out, MonitorTransition{Monitor: m, Transition: tr, CheckIn: r.ci})
		}
	}
	return nil
}

// maxSkippedRuns bounds the runs nextAfterMissed steps over, so that a
// one-minute schedule after a year's stop does not loop half a million
// times.
const maxSkippedRuns = 10000

// nextAfterMissed is the run expected after the missed run due at due:
// the first of the schedule's runs from due on whose margin has not
// passed (it is after cutoff), so that an interval keeps counting from
// when its runs were due rather than from when the job noticed, as Sentry
// counts. The runs stepped over are not written: a server down for hours
// writes one missed run, not hundreds. Past maxSkippedRuns it counts from
// cutoff.
func nextAfterMissed(sched schedule.Schedule, due, cutoff time.Time) time.Time {
	next := sched.Next(due)
	for i := 0; !next.After(cutoff); i++ {
		if i == maxSkippedRuns {
			return sched.Next(cutoff)
		}
		next = sched.Next(next)
	}
	return next
}

func scanMonitors(rows *sql.Rows) ([]Monitor, error) {
	defer rows.Close()
	var ms []Monitor
	for rows.Next() {
		m, err := scanMonitor(rows)
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	return ms, rows.Err()
}

// newCheckInID is the ID of a check-in Flytrap writes: 32 random hex
// digits, the shape of an SDK's.
func newCheckInID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ListMonitors returns the monitors of a project v may see, by slug.
func (d *DB) ListMonitors(ctx context.Context, v Viewer, projectID int64) ([]Monitor, error) {
	if _, err := d.GetProject(ctx, v, projectID); err != nil {
		return nil, fmt.Errorf("store: monitors of project %d: %w", projectID, err)
	}
	rows, err := d.db.QueryContext(ctx, `SELECT `+monitorCols+` FROM monitors WHERE project_id = $1 ORDER BY slug`, projectID)
	if err != nil {
		return nil, fmt.Errorf("store: monitors of project %d: %w", projectID, err)
	}
	ms, err := scanMonitors(rows)
	if err != nil {
		return nil, fmt.Errorf("store: monitors of project %d: %w", projectID, err)
	}
	if ms == nil {
		ms = []Monitor{}
	}
	return ms, nil
}

// GetMonitor returns a project's monitor by slug and its newest check-ins,
// at most limit of them; ErrNotFound when v cannot see it.
func (d *DB) GetMonitor(ctx context.Context, v Viewer, projectID int64, slug string, limit int) (Monitor, []CheckIn, error) {
	if _, err := d.GetProject(ctx, v, projectID); err != nil {
		return Monitor{}, nil, fmt.Errorf("store: monitor %q: %w", slug, err)
	}
	m, err := loadMonitor(ctx, d.db, `project_id = $1 AND slug = $2`, projectID, slug)
	if err != nil {
		return Monitor{}, nil, fmt.Errorf("store: monitor %q: %w", slug, err)
	}
	rows, err := d.db.QueryContext(ctx, `SELECT check_in_id, status, duration_ms, environment, release, received_at, updated_at
		FROM monitor_checkins WHERE monitor_id = $1 ORDER BY id DESC LIMIT $2`, m.ID, limit)
	if err != nil {
		return Monitor{}, nil, fmt.Errorf("store: monitor %q: %w", slug, err)
	}
	defer rows.Close()
	cis := []CheckIn{}
	for rows.Next() {
		var (
			c                      CheckIn
			dur, received, updated int64
		)
		if err := rows.Scan(&c.ID, &c.Status, &dur, &c.Environment, &c.Release, &received, &updated); err != nil {
			return Monitor{}, nil, fmt.Errorf("store: monitor %q: %w", slug, err)
		}
		if dur >= 0 {
			d := time.Duration(dur) * time.Millisecond
			c.Duration = &d
		}
		c.Received, c.Updated = fromMillis(received), fromMillis(updated)
		cis = append(cis, c)
	}
	if err := rows.Err(); err != nil {
		return Monitor{}, nil, fmt.Errorf("store: monitor %q: %w", slug, err)
	}
	return m, cis, nil
}

// DeleteMonitor deletes a project's monitor and its check-ins; v must
// manage the project. A later check-in with a config makes it again.
func (d *DB) DeleteMonitor(ctx context.Context, v Viewer, projectID int64, slug string) error {
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		if err := d.projectAdmin(ctx, tx, v, projectID, false); err != nil {
			return err
		}
		m, err := loadMonitor(ctx, tx, `project_id = $1 AND slug = $2`, projectID, slug)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM monitor_checkins WHERE monitor_id = $1`, m.ID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM monitors WHERE id = $1`, m.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: delete monitor %q: %w", slug, err)
	}
	return nil
}

// deleteProjectMonitors deletes a project's monitors and check-ins, held
// ones included.
func deleteProjectMonitors(ctx context.Context, tx *sql.Tx, projectID int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM monitor_held_checkins WHERE project_id = $1`, projectID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM monitor_checkins WHERE project_id = $1`, projectID); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM monitors WHERE project_id = $1`, projectID)
	return err
}
