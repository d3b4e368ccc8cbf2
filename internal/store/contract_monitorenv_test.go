package store

import (
	"fmt"
	"strings"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
)

// inEnv is checkIn in environment env ("" for none).
func inEnv(env string, r CheckInRequest) CheckInRequest {
	r.CheckIn.Environment = env
	return r
}

// envStatuses is a monitor's environments as "name:status" by name.
func envStatuses(m Monitor) string {
	var s []string
	for _, e := range m.Environments {
		s = append(s, e.Name+":"+e.Status)
	}
	return strings.Join(s, " ")
}

// testMonitorEnvironments: each environment of a monitor keeps its own
// status, as Sentry's monitor environments do: a staging job failing
// while production succeeds under the same slug fails staging once and
// production never, the monitor's status is the worst of them, a
// check-in without an environment counts in production, a run's end
// counts in the environment its start named, and the check-ins can be
// read per environment.
func testMonitorEnvironments(e *env) {
	t, db, ctx, pid := e.t, e.db, e.ctx, e.project.ID
	if _, err := db.CreateAlertChannel(ctx, System, AlertChannel{ProjectID: pid, Kind: ChannelWebhook, Name: "ops", URL: "https://example.com/hook"}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := range 6 {
		at := t0.Add(time.Duration(i) * time.Hour)
		prod := e.saveCheckIns(inEnv("", checkIn(pid, "sync", 2*i, event.CheckInOK, at, hourly())))[0]
		staging := e.saveCheckIns(inEnv("staging", checkIn(pid, "sync", 2*i+1, event.CheckInError, at.Add(time.Minute), hourly())))[0]
		got = append(got, prod.Environment+":"+prod.Transition, staging.Environment+":"+staging.Transition)
	}
	if want := "[production: staging:failing production: staging: production: staging: production: staging: production: staging: production: staging:]"; fmt.Sprint(got) != want {
		t.Errorf("environments and transitions = %v, want %s", got, want)
	}
	m, cis := e.monitor("sync")
	if envStatuses(m) != "production:ok staging:failing" || m.Status != MonitorFailing || m.LastStatus != event.CheckInError ||
		!m.LastCheckIn.Equal(t0.Add(5*time.Hour+time.Minute)) || !m.NextExpected.Equal(t0.Add(6*time.Hour)) || len(cis) != 12 {
		t.Fatalf("monitor = %+v (%s), %d check-ins; want production ok, staging failing, the monitor failing", m, envStatuses(m), len(cis))
	}
	ns := 0
	for _, n := range e.outbox() {
		if n.Reason != ReasonMonitorFailing {
			t.Errorf("notification %s, want only failing", n.Reason)
			continue
		}
		ns++
		if mon := n.Payload.Monitor; n.Payload.Title != "Monitor sync is failing in staging" || mon.Environment != "staging" || mon.Status != MonitorFailing ||
			mon.CheckIn.Environment != "staging" || n.Payload.Environment != "staging" {
			t.Errorf("failing notification %+v, monitor %+v; want staging's", n.Payload, mon)
		}
	}
	if ns == 0 {
		t.Error("no failing notification for staging")
	}

	// Check-ins per environment.
	_, staging, err := db.GetMonitor(ctx, System, pid, "sync", "staging", 100)
	if err != nil || len(staging) != 6 {
		t.Fatalf("staging check-ins = %d, %v; want 6", len(staging), err)
	}
	for _, c := range staging {
		if c.Environment != "staging" || c.Status != event.CheckInError {
			t.Errorf("staging check-in %+v", c)
		}
	}
	if _, none, err := db.GetMonitor(ctx, System, pid, "sync", "nowhere", 100); err != nil || len(none) != 0 {
		t.Errorf("check-ins of an environment with none = %+v, %v", none, err)
	}
	if cis[0].Environment != "staging" || cis[1].Environment != DefaultMonitorEnvironment {
		t.Errorf("newest check-ins' environments %q, %q; want staging, then production for the one that named none", cis[0].Environment, cis[1].Environment)
	}

	// A run started in staging ends without an environment, as SDKs
	// send it: it counts in staging, whose recovery it is.
	start := inEnv("staging", checkIn(pid, "sync", 100, event.CheckInInProgress, t0.Add(6*time.Hour), nil))
	e.saveCheckIns(start)
	end := e.saveCheckIns(inEnv("", checkIn(pid, "sync", 100, event.CheckInOK, t0.Add(6*time.Hour+time.Minute), nil)))[0]
	if end.Environment != "staging" || end.Transition != TransitionRecovered || envStatuses(end.Monitor) != "production:ok staging:ok" || end.Monitor.Status != MonitorOK {
		t.Errorf("the end of staging's run: %+v (%s), want staging recovered", end, envStatuses(end.Monitor))
	}
}

// testJudgeMonitorEnvironments: the monitors job judges each environment
// on its own schedule: production checking in on time is not missed
// when staging stops, and staging's missed and timed-out runs are
// written, and alert, in staging.
func testJudgeMonitorEnvironments(e *env) {
	t, db, ctx, pid := e.t, e.db, e.ctx, e.project.ID
	e.saveCheckIns(checkIn(pid, "sync", 1, event.CheckInOK, t0, hourly()), inEnv("staging", checkIn(pid, "sync", 2, event.CheckInOK, t0, hourly())))
	e.saveCheckIns(checkIn(pid, "sync", 3, event.CheckInOK, t0.Add(time.Hour), nil))
	ts, err := db.JudgeMonitors(ctx, t0.Add(time.Hour+2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 1 || ts[0].Environment.Name != "staging" || ts[0].Environment.Status != MonitorFailing || ts[0].CheckIn.Environment != "staging" ||
		ts[0].CheckIn.Status != event.CheckInMissed || ts[0].Monitor.Status != MonitorFailing {
		t.Fatalf("JudgeMonitors = %+v, want staging's run missed", ts)
	}
	m, cis := e.monitor("sync")
	if envStatuses(m) != "production:ok staging:failing" || cis[0].Environment != "staging" || cis[0].Status != event.CheckInMissed {
		t.Errorf("after staging's missed run: %s, newest check-in %+v", envStatuses(m), cis[0])
	}
	for _, en := range m.Environments {
		if en.Name == DefaultMonitorEnvironment && !en.NextExpected.Equal(t0.Add(2*time.Hour)) {
			t.Errorf("production next expected %s, want 12:00", en.NextExpected)
		}
	}

	// A staging run that outlives its max runtime times out in staging.
	e.saveCheckIns(checkIn(pid, "long", 10, event.CheckInOK, t0, hourly()))
	e.saveCheckIns(inEnv("staging", checkIn(pid, "long", 11, event.CheckInInProgress, t0, nil)))
	ts, err = db.JudgeMonitors(ctx, t0.Add(31*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 1 || ts[0].Monitor.Slug != "long" || ts[0].Environment.Name != "staging" || ts[0].CheckIn.Status != event.CheckInTimeout {
		t.Fatalf("JudgeMonitors = %+v, want long's staging run timed out", ts)
	}
	if m, _ := e.monitor("long"); envStatuses(m) != "production:ok staging:failing" {
		t.Errorf("long after the timeout: %s", envStatuses(m))
	}
	failing := 0
	for _, n := range e.outbox() {
		if n.Reason != ReasonMonitorFailing || n.Payload.Monitor.Environment != "staging" {
			t.Errorf("%s notification of %q, want staging's failing only", n.Reason, n.Payload.Monitor.Environment)
		}
		failing++
	}
	if failing == 0 {
		t.Error("no failing notifications")
	}
}

// testMonitorEnvironmentsBounded: a monitor takes at most
// MaxEnvironmentsPerMonitor environments; check-ins naming another are
// dropped, and its known environments still count.
func testMonitorEnvironmentsBounded(e *env) {
	pid := e.project.ID
	reqs := make([]CheckInRequest, MaxEnvironmentsPerMonitor+1)
	for i := range reqs {
		reqs[i] = inEnv(fmt.Sprintf("env-%d", i), checkIn(pid, "sync", i, event.CheckInOK, t0, hourly()))
	}
	res := e.saveCheckIns(reqs...)
	if res[MaxEnvironmentsPerMonitor-1].Dropped != "" || !strings.Contains(res[MaxEnvironmentsPerMonitor].Dropped, "environments") {
		e.t.Fatalf("the last two dropped %q, %q; want the last dropped", res[MaxEnvironmentsPerMonitor-1].Dropped, res[MaxEnvironmentsPerMonitor].Dropped)
	}
	if m, cis := e.monitor("sync"); len(m.Environments) != MaxEnvironmentsPerMonitor || len(cis) != MaxEnvironmentsPerMonitor {
		e.t.Errorf("%d environments and %d check-ins, want %d", len(m.Environments), len(cis), MaxEnvironmentsPerMonitor)
	}
	if r := e.saveCheckIns(inEnv("env-0", checkIn(pid, "sync", 1000, event.CheckInError, t0.Add(time.Hour), nil)))[0]; r.Dropped != "" || r.Transition != TransitionFailing {
		e.t.Errorf("a check-in of a known environment: %+v", r)
	}
}
