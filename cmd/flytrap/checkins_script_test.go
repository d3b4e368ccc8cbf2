package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/getsentry/sentry-go"
	"github.com/rogpeppe/go-internal/testscript"
)

// cmdSendcheckin: sendcheckin [-env ENV] DSN SLUG STATUS [CRONTAB] reports
// a run of a cron job with the real sentry-go, as its docs show:
// CaptureCheckIn in_progress with a monitor config (CRONTAB, else every
// hour), then the run's STATUS (ok or error) with the ID it returned, 1.5
// seconds long, from environment ENV (production when not given). It
// waits until the API shows the monitor's last check-in with STATUS.
func cmdSendcheckin(ts *testscript.TestScript, neg bool, args []string) {
	env := "production"
	if len(args) > 1 && args[0] == "-env" {
		env, args = args[1], args[2:]
	}
	if neg || len(args) < 3 || len(args) > 4 {
		ts.Fatalf("usage: sendcheckin [-env ENV] DSN SLUG STATUS [CRONTAB]")
	}
	dsn, err := url.Parse(args[0])
	ts.Check(err)
	client, err := sentry.NewClient(sentry.ClientOptions{Dsn: args[0], Release: "worker@1.0", Environment: env,
		Transport: sentry.NewHTTPSyncTransport()})
	ts.Check(err)
	hub := sentry.NewHub(client, sentry.NewScope())
	cfg := &sentry.MonitorConfig{Schedule: sentry.IntervalSchedule(1, sentry.MonitorScheduleUnitHour), CheckInMargin: 5, MaxRuntime: 30}
	if len(args) == 4 {
		cfg.Schedule, cfg.Timezone = sentry.CrontabSchedule(args[3]), "Europe/Vienna"
	}
	id := hub.CaptureCheckIn(&sentry.CheckIn{MonitorSlug: args[1], Status: sentry.CheckInStatusInProgress}, cfg)
	if id == nil {
		ts.Fatalf("sendcheckin: sentry-go sent no check-in")
	}
	hub.CaptureCheckIn(&sentry.CheckIn{ID: *id, MonitorSlug: args[1], Status: sentry.CheckInStatus(args[2]), Duration: 1500 * time.Millisecond}, nil)
	project := strings.Trim(dsn.Path, "/")
	deadline := time.Now().Add(20 * time.Second)
	for {
		req, err := http.NewRequest("GET", ts.Getenv("URL")+"/api/v1/projects/"+project+"/monitors/"+url.PathEscape(args[1]), nil)
		ts.Check(err)
		req.Header.Set("Authorization", "Bearer "+ts.Getenv("DEV_TOKEN"))
		resp, err := http.DefaultClient.Do(req)
		ts.Check(err)
		var m struct {
			CheckIns []struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			} `json:"checkins"`
		}
		ok := resp.StatusCode == 200 && json.NewDecoder(resp.Body).Decode(&m) == nil && len(m.CheckIns) > 0 &&
			m.CheckIns[0].ID == string(*id) && m.CheckIns[0].Status == args[2]
		resp.Body.Close()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("sendcheckin: the monitor %s shows no %s check-in %s", args[1], args[2], *id)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
