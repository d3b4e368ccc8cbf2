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

// DefaultMonitorEnvironment is the environment of a check-in that names
// none, as Sentry's.
const DefaultMonitorEnvironment = "production"

// MaxEnvironmentsPerMonitor bounds the environments check-ins may give one
// monitor: each is judged by the monitors job and alerts apart, and a
// public DSN is enough to name one.
const MaxEnvironmentsPerMonitor = 50

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
// Its status and check-ins are summed up from its environments'.
type Monitor struct {
	ID        int64               `json:"id"`
	ProjectID int64               `json:"project_id"`
	Slug      string              `json:"slug"`
	Config    event.MonitorConfig `json:"config"`
	// Status is the worst of its environments': failing when one is,
	// else ok when one is, else new.
	Status string `json:"status"`
	// LastCheckIn is the latest check-in's time, of any environment, and
	// LastStatus its status; zero and "" before the first.
	LastCheckIn time.Time `json:"last_checkin"`
	LastStatus  string    `json:"last_status"`
	// NextExpected is the earliest of its environments'.
	NextExpected time.Time `json:"next_expected"`
	CreatedAt    time.Time `json:"created_at"`
	// Environments are its monitor environments, by name.
	Environments []MonitorEnvironment `json:"environments"`
}

// MonitorEnvironment is a monitor's runs in one environment, judged apart
// from its other environments' as Sentry's monitor environments are: a
// staging job failing does not fail production.
type MonitorEnvironment struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	// LastCheckIn is the latest check-in's time and LastStatus its
	// status.
	LastCheckIn time.Time `json:"last_checkin"`
	LastStatus  string    `json:"last_status"`
	// NextExpected is when the next check-in is due; the run is missed
	// when none has come Config.MarginMinutes after it.
	NextExpected time.Time `json:"next_expected"`
	id           int64
	// failures and oks are the latest runs in a row that failed and
	// succeeded, measured against the thresholds.
	failures, oks int64
}

// summarize sets m's status and its last and next check-in from its
// environments'.
func (m *Monitor) summarize() {
	m.Status, m.LastCheckIn, m.LastStatus, m.NextExpected = MonitorNew, time.Time{}, "", time.Time{}
	for _, e := range m.Environments {
		switch {
		case e.Status == MonitorFailing:
			m.Status = MonitorFailing
		case e.Status == MonitorOK && m.Status == MonitorNew:
			m.Status = MonitorOK
		}
		if e.LastCheckIn.After(m.LastCheckIn) {
			m.LastCheckIn, m.LastStatus = e.LastCheckIn, e.LastStatus
		}
		if !e.NextExpected.IsZero() && (m.NextExpected.IsZero() || e.NextExpected.Before(m.NextExpected)) {
			m.NextExpected = e.NextExpected
		}
	}
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
	// project already at MaxMonitorsPerProject or MaxNewMonitorsPerHour,
	// or a new environment of a monitor at MaxEnvironmentsPerMonitor.
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
	// Environment is the monitor environment the check-in counted in:
	// its run's, DefaultMonitorEnvironment when it named none.
	Environment string
	// Transition is TransitionFailing or TransitionRecovered when the
	// check-in changed the environment's status so, else "".
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

// MonitorTransition is a monitor environment the monitors job changed the
// status of.
type MonitorTransition struct {
	Monitor     Monitor
	Environment MonitorEnvironment
	Transition  string
	// CheckIn is the missed or timed-out check-in that caused it.
	CheckIn CheckIn
}

// SaveCheckIns stores check-ins in one transaction and returns one result
// per request. A check-in with a config creates its monitor (within
// MaxMonitorsPerProject and MaxNewMonitorsPerHour) or replaces its
// settings; one without a config for a monitor Flytrap does not know is
// held, and applied right after the check-in that creates the monitor, in
// the order received. A check-in counts in its environment's monitor
// environment (DefaultMonitorEnvironment when it names none), made on
// its first check-in within MaxEnvironmentsPerMonitor. An in_progress
// check-in is finished by an ok or error with its ID; a check-in already
// finished stays so. The queue delivers at least once; a check-in stored
// before changes nothing the second time.
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
		if err := lockPair(ctx, tx, monitorLockKey, int64(k)); err != nil {
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
	// Locked, with its environments, so that the monitors job and other
	// workers' check-ins of the monitor wait for this one's counts
	// instead of overwriting them; the project's lock is held already
	// (lockMonitorProjects).
	m, err := d.loadMonitor(ctx, tx, d.forUpdate(), `project_id = $1 AND slug = $2`, projectID, ci.Slug)
	if errors.Is(err, ErrNotFound) && ci.LegacySlug != "" {
		m, err = d.renameLegacyMonitor(ctx, tx, projectID, ci)
	}
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
	if ci.Environment == "" {
		ci.Environment = DefaultMonitorEnvironment
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
		old, runEnv string
		runStarted  int64
	)
	err = tx.QueryRowContext(ctx, `SELECT status, received_at, environment FROM monitor_checkins WHERE monitor_id = $1 AND check_in_id = $2`,
		m.ID, ci.ID).Scan(&old, &runStarted, &runEnv)
	stored := err == nil
	switch {
	case stored && (old != event.CheckInInProgress || ci.Status == event.CheckInInProgress):
		return CheckInResult{Duplicate: true, Monitor: m}, created, nil
	case stored:
		// A run counts in the environment it started in, whatever
		// its end names.
		ci.Environment = runEnv
	case !errors.Is(err, sql.ErrNoRows):
		return CheckInResult{}, false, err
	}
	i, dropped, err := monitorEnvironment(ctx, tx, &m, ci.Environment, ci.Received)
	if err != nil || dropped != "" {
		return CheckInResult{Dropped: dropped}, false, err
	}
	e := &m.Environments[i]
	if !stored {
		if _, err := tx.ExecContext(ctx, `INSERT INTO monitor_checkins (monitor_id, project_id, check_in_id, status, duration_ms, environment, release, received_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`, m.ID, projectID, ci.ID, ci.Status, duration, ci.Environment, ci.Release, received); err != nil {
			return CheckInResult{}, false, err
		}
		if err := boundCheckIns(ctx, tx, m.ID); err != nil {
			return CheckInResult{}, false, err
		}
		if !ci.Received.Before(e.LastCheckIn) {
			// A run that started is on schedule, however it ends:
			// the next is due a schedule's step after it.
			e.LastCheckIn, e.LastStatus = ci.Received.UTC(), ci.Status
			e.NextExpected = time.Time{}
			if sched != nil {
				e.NextExpected = sched.Next(ci.Received)
			}
		}
	} else {
		if _, err := tx.ExecContext(ctx, `UPDATE monitor_checkins SET status = $3, duration_ms = $4, updated_at = $5
			WHERE monitor_id = $1 AND check_in_id = $2`, m.ID, ci.ID, ci.Status, duration, max(received, runStarted)); err != nil {
			return CheckInResult{}, false, err
		}
		// The run is the latest when it started last, whenever its
		// end arrived: a held end is stored after its start.
		if !fromMillis(runStarted).Before(e.LastCheckIn) {
			e.LastStatus = ci.Status
		}
	}
	res := CheckInResult{Environment: e.Name}
	if ci.Status != event.CheckInInProgress {
		res.Transition = judge(e, m.Config, ci.Status)
	}
	if err := updateEnvironmentState(ctx, tx, *e); err != nil {
		return CheckInResult{}, false, err
	}
	m.summarize()
	res.Monitor = m
	return res, created, d.monitorAlert(ctx, tx, m, *e, res.Transition, CheckIn{ID: ci.ID, Status: ci.Status,
		Environment: ci.Environment, Release: ci.Release, Received: ci.Received}, ci.Received)
}

// renameLegacyMonitor gives the project's monitor of ci.LegacySlug, the
// slug earlier releases made of the check-in's monitor_slug, the slug
// ci.Slug that has no monitor, so that its history, environments and
// alerts carry on after an upgrade instead of going missed while a new
// monitor starts. It returns ErrNotFound when there is none. The
// project's lock (lockMonitorProjects) keeps another worker from making
// a monitor of ci.Slug meanwhile.
func (d *DB) renameLegacyMonitor(ctx context.Context, tx *sql.Tx, projectID int64, ci event.CheckIn) (Monitor, error) {
	m, err := d.loadMonitor(ctx, tx, d.forUpdate(), `project_id = $1 AND slug = $2`, projectID, ci.LegacySlug)
	if err != nil {
		return Monitor{}, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE monitors SET slug = $2 WHERE id = $1`, m.ID, ci.Slug); err != nil {
		return Monitor{}, err
	}
	m.Slug = ci.Slug
	return m, nil
}

// monitorEnvironment returns the index in m.Environments of the one named
// name, made at at when m has none of that name, or why it was not made:
// m is at MaxEnvironmentsPerMonitor.
func monitorEnvironment(ctx context.Context, tx *sql.Tx, m *Monitor, name string, at time.Time) (int, string, error) {
	for i, e := range m.Environments {
		if e.Name == name {
			return i, "", nil
		}
	}
	if len(m.Environments) >= MaxEnvironmentsPerMonitor {
		return 0, fmt.Sprintf("the monitor has %d environments, the most it may have", MaxEnvironmentsPerMonitor), nil
	}
	e := MonitorEnvironment{Name: name, Status: MonitorNew}
	err := tx.QueryRowContext(ctx, `INSERT INTO monitor_environments (monitor_id, project_id, environment, status, failures, oks,
		last_checkin, last_status, next_expected, created_at) VALUES ($1, $2, $3, $4, 0, 0, 0, '', 0, $5) RETURNING id`,
		m.ID, m.ProjectID, name, e.Status, millis(at)).Scan(&e.id)
	if err != nil {
		return 0, "", err
	}
	m.Environments = append(m.Environments, e)
	return len(m.Environments) - 1, "", nil
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

// monitorAlert writes, for a transition ("" for none) of m's environment
// e, one notification to each alert channel of the monitor's project, in
// the transaction that made it: alert rules are about issues, and a job
// that stops running has none. The key names the check-in, so a
// transition alerts once. A channel gets at most NewIssueBurst monitor
// alerts in NewIssueBurstWindow; the rest are counted into a
// ReasonMonitorsHeld summary (holdBurst), so a thousand monitors failing
// at once send twenty alerts and a summary per channel.
func (d *DB) monitorAlert(ctx context.Context, tx *sql.Tx, m Monitor, e MonitorEnvironment, transition string, ci CheckIn, now time.Time) error {
	if transition == "" {
		return nil
	}
	p := AlertPayload{ProjectID: m.ProjectID, Status: e.Status, Environment: e.Name, Release: ci.Release, At: now.UTC(),
		Monitor: &AlertMonitor{Slug: m.Slug, Environment: e.Name, Status: e.Status, Schedule: schedule.Describe(m.Config),
			CheckIn: AlertCheckIn{Status: ci.Status, Time: ci.Received.UTC(), Environment: ci.Environment, Release: ci.Release}}}
	reason := ReasonMonitorRecovered
	if transition == TransitionFailing {
		reason = ReasonMonitorFailing
		p.Title = "Monitor " + m.Slug + " is failing in " + e.Name
		p.Level = "error"
		p.Culprit = fmt.Sprintf("%s check-in of the run of %s", failureName(ci.Status), ci.Received.UTC().Format("2006-01-02 15:04 MST"))
	} else {
		p.Title = "Monitor " + m.Slug + " recovered in " + e.Name
		p.Level = "info"
		p.Culprit = fmt.Sprintf("%d ok check-ins in a row", e.oks)
		p.Monitor.OKStreak = e.oks
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
		held, err := d.holdBurst(ctx, tx, 0, ch, []string{ReasonMonitorFailing, ReasonMonitorRecovered}, ReasonMonitorsHeld, p, millis(now))
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

// judge counts a finished run of environment e of a monitor configured c
// with status and returns the transition it makes, if any.
func judge(e *MonitorEnvironment, c event.MonitorConfig, status string) string {
	if status == event.CheckInOK {
		e.oks, e.failures = e.oks+1, 0
		switch {
		case e.Status == MonitorFailing && e.oks >= c.RecoveryThreshold:
			e.Status = MonitorOK
			return TransitionRecovered
		case e.Status == MonitorNew:
			e.Status = MonitorOK
		}
		return ""
	}
	e.failures, e.oks = e.failures+1, 0
	if e.Status != MonitorFailing && e.failures >= max(c.FailureThreshold, 1) {
		e.Status = MonitorFailing
		return TransitionFailing
	}
	return ""
}

func boundCheckIns(ctx context.Context, tx *sql.Tx, monitorID int64) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM monitor_checkins WHERE monitor_id = $1 AND id <= (
		SELECT id FROM monitor_checkins WHERE monitor_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)`, monitorID, MaxCheckInsPerMonitor)
	return err
}

const monitorCols = `m.id, m.project_id, m.slug, m.schedule_type, m.crontab, m.interval_n, m.interval_unit, m.timezone,
	m.margin_minutes, m.max_runtime_minutes, m.failure_threshold, m.recovery_threshold, m.created_at`

// monitorRow is where a row of monitorCols is scanned to.
type monitorRow struct {
	m         Monitor
	createdAt int64
}

func (r *monitorRow) dest() []any {
	c := &r.m.Config
	return []any{&r.m.ID, &r.m.ProjectID, &r.m.Slug, &c.ScheduleType, &c.Crontab, &c.Interval, &c.Unit, &c.Timezone,
		&c.MarginMinutes, &c.MaxRuntimeMinutes, &c.FailureThreshold, &c.RecoveryThreshold, &r.createdAt}
}

func (r *monitorRow) monitor() Monitor {
	m := r.m
	m.CreatedAt = fromMillis(r.createdAt)
	m.Status = MonitorNew
	return m
}

const environmentCols = `e.id, e.monitor_id, e.environment, e.status, e.failures, e.oks, e.last_checkin, e.last_status, e.next_expected`

// environmentRow is where a row of environmentCols is scanned to.
type environmentRow struct {
	e                 MonitorEnvironment
	monitorID         int64
	lastCheckIn, next int64
}

func (r *environmentRow) dest() []any {
	return []any{&r.e.id, &r.monitorID, &r.e.Name, &r.e.Status, &r.e.failures, &r.e.oks, &r.lastCheckIn, &r.e.LastStatus, &r.next}
}

func (r *environmentRow) environment() MonitorEnvironment {
	e := r.e
	if r.lastCheckIn > 0 {
		e.LastCheckIn = fromMillis(r.lastCheckIn)
	}
	if r.next > 0 {
		e.NextExpected = fromMillis(r.next)
	}
	return e
}

// loadMonitor loads a monitor (alias m in where) with its environments,
// lock (forUpdate or "") locking them.
func (d *DB) loadMonitor(ctx context.Context, db dbtx, lock, where string, args ...any) (Monitor, error) {
	var r monitorRow
	if err := db.QueryRowContext(ctx, `SELECT `+monitorCols+` FROM monitors m WHERE `+where+lock, args...).Scan(r.dest()...); err != nil {
		return Monitor{}, notFound(err)
	}
	m := r.monitor()
	envs, err := loadEnvironments(ctx, db, `e.monitor_id = $1 ORDER BY e.environment`+lock, m.ID)
	if err != nil {
		return Monitor{}, err
	}
	m.Environments = envs[m.ID]
	m.summarize()
	return m, nil
}

// loadEnvironments returns the monitor environments where says, by
// monitor.
func loadEnvironments(ctx context.Context, db dbtx, where string, args ...any) (map[int64][]MonitorEnvironment, error) {
	rows, err := db.QueryContext(ctx, `SELECT `+environmentCols+` FROM monitor_environments e WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64][]MonitorEnvironment{}
	for rows.Next() {
		var r environmentRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, err
		}
		out[r.monitorID] = append(out[r.monitorID], r.environment())
	}
	return out, rows.Err()
}

func insertMonitor(ctx context.Context, tx *sql.Tx, m Monitor) (int64, error) {
	c := m.Config
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO monitors (project_id, slug, schedule_type, crontab, interval_n, interval_unit, timezone,
		margin_minutes, max_runtime_minutes, failure_threshold, recovery_threshold, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
		m.ProjectID, m.Slug, c.ScheduleType, c.Crontab, c.Interval, c.Unit, c.Timezone, c.MarginMinutes, c.MaxRuntimeMinutes,
		c.FailureThreshold, c.RecoveryThreshold, millis(m.CreatedAt)).Scan(&id)
	return id, err
}

func updateEnvironmentState(ctx context.Context, tx *sql.Tx, e MonitorEnvironment) error {
	_, err := tx.ExecContext(ctx, `UPDATE monitor_environments SET status = $2, failures = $3, oks = $4, last_checkin = $5, last_status = $6,
		next_expected = $7 WHERE id = $1`, e.id, e.Status, e.failures, e.oks, expectedMillis(e.LastCheckIn), e.LastStatus, expectedMillis(e.NextExpected))
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

// JudgeMonitors is the monitors job's work at now: each monitor
// environment whose next check-in is more than its monitor's margin late
// gets a missed check-in, dated when the run was due, and is next
// expected at the first run whose margin has not passed; each check-in in
// progress for longer than its monitor's max runtime becomes timeout.
// Both count as failures of their environment. It returns the monitor
// environments whose status changed. Two servers running it at once
// write each missed or timed-out run once.
func (d *DB) JudgeMonitors(ctx context.Context, now time.Time) ([]MonitorTransition, error) {
	var out []MonitorTransition
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		out = nil
		nowMs := millis(now)
		rows, err := tx.QueryContext(ctx, `SELECT `+environmentCols+`, `+monitorCols+` FROM monitor_environments e
			JOIN monitors m ON m.id = e.monitor_id
			WHERE e.next_expected > 0 AND e.next_expected + m.margin_minutes * 60000 < $1 ORDER BY e.next_expected LIMIT $2`, nowMs, maxJudgedPerRun)
		if err != nil {
			return err
		}
		type late struct {
			m Monitor
			e MonitorEnvironment
		}
		var missed []late
		for rows.Next() {
			var (
				er environmentRow
				mr monitorRow
			)
			if err := rows.Scan(append(er.dest(), mr.dest()...)...); err != nil {
				rows.Close()
				return err
			}
			missed = append(missed, late{mr.monitor(), er.environment()})
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for _, l := range missed {
			m, e := l.m, l.e
			due := e.NextExpected
			ci := CheckIn{ID: newCheckInID(), Status: event.CheckInMissed, Environment: e.Name, Received: due, Updated: now.UTC()}
			// A schedule that cannot be followed (see saveCheckIn)
			// expects no further run, so one monitor cannot stop the
			// job for the others.
			e.NextExpected = time.Time{}
			if sched, err := schedule.Of(m.Config); err == nil {
				e.NextExpected = nextAfterMissed(sched, due, now.Add(-time.Duration(m.Config.MarginMinutes)*time.Minute))
			}
			e.LastCheckIn, e.LastStatus = due, event.CheckInMissed
			tr := judge(&e, m.Config, event.CheckInMissed)
			// The monitor first, as check-ins and judgeTimeouts lock
			// it before its environments: locked in the other order,
			// a check-in and this job could each wait for the other.
			if _, err := tx.ExecContext(ctx, `SELECT id FROM monitors WHERE id = $1`+d.forUpdate(), m.ID); err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, `UPDATE monitor_environments SET status = $3, failures = $4, oks = $5, last_checkin = $6, last_status = $7,
				next_expected = $8 WHERE id = $1 AND next_expected = $2`,
				e.id, millis(due), e.Status, e.failures, e.oks, millis(due), e.LastStatus, expectedMillis(e.NextExpected))
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
				VALUES ($1, $2, $3, $4, -1, $5, '', $6, $7)`, m.ID, m.ProjectID, ci.ID, ci.Status, ci.Environment, millis(due), nowMs); err != nil {
				return err
			}
			if err := boundCheckIns(ctx, tx, m.ID); err != nil {
				return err
			}
			if err := d.monitorAlert(ctx, tx, m, e, tr, ci, now); err != nil {
				return err
			}
			if tr != "" {
				if m, err = d.loadMonitor(ctx, tx, "", `m.id = $1`, m.ID); err != nil {
					return err
				}
				out = append(out, MonitorTransition{Monitor: m, Environment: e, Transition: tr, CheckIn: ci})
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
		m, err := d.loadMonitor(ctx, tx, d.forUpdate(), `m.id = $1`, r.monitor)
		if err != nil {
			return err
		}
		// The run's start made its environment, which is kept as long
		// as the monitor, so this finds it within the bound.
		i, dropped, err := monitorEnvironment(ctx, tx, &m, r.ci.Environment, r.ci.Received)
		if err != nil {
			return err
		}
		if dropped != "" {
			continue
		}
		e := &m.Environments[i]
		if !r.ci.Received.Before(e.LastCheckIn) {
			e.LastStatus = event.CheckInTimeout
		}
		tr := judge(e, m.Config, event.CheckInTimeout)
		if err := updateEnvironmentState(ctx, tx, *e); err != nil {
			return err
		}
		m.summarize()
		if err := d.monitorAlert(ctx, tx, m, *e, tr, r.ci, now); err != nil {
			return err
		}
		if tr != "" {
			*out = append(*out, MonitorTransition{Monitor: m, Environment: *e, Transition: tr, CheckIn: r.ci})
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
	ms, err := d.listMonitors(ctx, projectID)
	if err != nil {
		return nil, fmt.Errorf("store: monitors of project %d: %w", projectID, err)
	}
	return ms, nil
}

func (d *DB) listMonitors(ctx context.Context, projectID int64) ([]Monitor, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+monitorCols+` FROM monitors m WHERE m.project_id = $1 ORDER BY m.slug`, projectID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ms := []Monitor{}
	for rows.Next() {
		var r monitorRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, err
		}
		ms = append(ms, r.monitor())
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	envs, err := loadEnvironments(ctx, d.db, `e.project_id = $1 ORDER BY e.environment`, projectID)
	if err != nil {
		return nil, err
	}
	for i := range ms {
		ms[i].Environments = envs[ms[i].ID]
		ms[i].summarize()
	}
	return ms, nil
}

// GetMonitor returns a project's monitor by slug and its newest check-ins,
// at most limit of them, of environment only when it is not ""; ErrNotFound
// when v cannot see it.
func (d *DB) GetMonitor(ctx context.Context, v Viewer, projectID int64, slug, environment string, limit int) (Monitor, []CheckIn, error) {
	if _, err := d.GetProject(ctx, v, projectID); err != nil {
		return Monitor{}, nil, fmt.Errorf("store: monitor %q: %w", slug, err)
	}
	m, err := d.loadMonitor(ctx, d.db, "", `m.project_id = $1 AND m.slug = $2`, projectID, slug)
	if err != nil {
		return Monitor{}, nil, fmt.Errorf("store: monitor %q: %w", slug, err)
	}
	q, args := `SELECT check_in_id, status, duration_ms, environment, release, received_at, updated_at
		FROM monitor_checkins WHERE monitor_id = $1`, []any{m.ID, limit}
	if environment != "" {
		q, args = q+` AND environment = $3`, append(args, environment)
	}
	rows, err := d.db.QueryContext(ctx, q+` ORDER BY id DESC LIMIT $2`, args...)
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

// DeleteMonitor deletes a project's monitor, its environments and its
// check-ins; v must manage the project. A later check-in with a config
// makes it again.
func (d *DB) DeleteMonitor(ctx context.Context, v Viewer, projectID int64, slug string) error {
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		if err := d.projectAdmin(ctx, tx, v, projectID, false); err != nil {
			return err
		}
		var id int64
		if err := tx.QueryRowContext(ctx, `SELECT id FROM monitors WHERE project_id = $1 AND slug = $2`, projectID, slug).Scan(&id); err != nil {
			return notFound(err)
		}
		for _, q := range []string{`DELETE FROM monitor_checkins WHERE monitor_id = $1`, `DELETE FROM monitor_environments WHERE monitor_id = $1`,
			`DELETE FROM monitors WHERE id = $1`} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: delete monitor %q: %w", slug, err)
	}
	return nil
}

// deleteProjectMonitors deletes a project's monitors, their environments
// and check-ins, held ones included.
func deleteProjectMonitors(ctx context.Context, tx *sql.Tx, projectID int64) error {
	for _, t := range []string{"monitor_held_checkins", "monitor_checkins", "monitor_environments", "monitors"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+t+` WHERE project_id = $1`, projectID); err != nil {
			return err
		}
	}
	return nil
}
