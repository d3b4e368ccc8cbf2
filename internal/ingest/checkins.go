package ingest

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/google/uuid"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/schedule"
)

// itemCheckIn is a cron monitor's check-in
// (https://develop.sentry.dev/sdk/telemetry/check-ins/).
const itemCheckIn = "check_in"

// Bounds on check-ins and their monitor_config, as Sentry's: a slug of at
// most 50 characters, margins and run times of at most 28 days in
// minutes, thresholds of at most 720 check-ins.
const (
	maxMonitorSlug = 50
	maxMinutes     = 40320
	maxThreshold   = 720
	// maxCheckInDuration bounds a run's reported length: a year.
	maxCheckInDuration = 366 * 24 * 3600
	// Sentry's defaults for what monitor_config leaves out.
	defaultMargin     = 1
	defaultMaxRuntime = 30
)

// decodeCheckIn reads a check_in item. A check-in without a valid ID,
// slug or status, or with a monitor_config that cannot be followed, is
// refused (an error), as Relay refuses it.
func (d *decoder) decodeCheckIn(payload []byte) (event.CheckIn, error) {
	obj, err := parseJSONObject(payload)
	if err != nil {
		return event.CheckIn{}, err
	}
	rawID, _ := obj["check_in_id"].(string)
	id, err := uuid.Parse(strings.TrimSpace(rawID))
	if err != nil {
		return event.CheckIn{}, errors.New("without a check_in_id, a UUID")
	}
	rawSlug, _ := obj["monitor_slug"].(string)
	slug := slugify(rawSlug)
	if slug == "" {
		return event.CheckIn{}, errors.New("without a monitor_slug, the monitor's name (letters, digits, '-' and '_')")
	}
	if len(slug) > maxMonitorSlug {
		return event.CheckIn{}, fmt.Errorf("with a monitor_slug of %d characters, more than %d", len(slug), maxMonitorSlug)
	}
	ci := event.CheckIn{ID: hex.EncodeToString(id[:]), Slug: slug, Received: d.received}
	ci.Status, _ = obj["status"].(string)
	switch ci.Status {
	case event.CheckInInProgress, event.CheckInOK, event.CheckInError:
	default:
		return event.CheckIn{}, fmt.Errorf("with status %s; a check-in's are in_progress, ok and error", clamp(compactJSON(obj["status"]), 32))
	}
	if v := obj["duration"]; v != nil {
		n, ok := v.(json.Number)
		f, err := n.Float64()
		if !ok || err != nil || math.IsNaN(f) || f < 0 || f > maxCheckInDuration {
			return event.CheckIn{}, fmt.Errorf("with duration %s, not a number of seconds from 0 to a year", clamp(compactJSON(v), 32))
		}
		ci.Duration = &f
	}
	ci.Release, _ = obj["release"].(string)
	ci.Release = clamp(strings.TrimSpace(ci.Release), maxName)
	if p := event.ReleaseProblem(ci.Release); ci.Release != "" && p != "" {
		return event.CheckIn{}, fmt.Errorf("with a release that %s", p)
	}
	ci.Environment, _ = obj["environment"].(string)
	ci.Environment = clamp(strings.TrimSpace(ci.Environment), maxName)
	if p := event.EnvironmentProblem(ci.Environment); ci.Environment != "" && p != "" {
		return event.CheckIn{}, fmt.Errorf("with an environment that %s", p)
	}
	if v := obj["monitor_config"]; v != nil {
		cfg, err := monitorConfig(v)
		if err != nil {
			return event.CheckIn{}, fmt.Errorf("with a monitor_config whose %v", err)
		}
		ci.Config = &cfg
	}
	return ci, nil
}

// monitorConfig reads and checks a check-in's monitor_config; what it
// leaves out takes Sentry's defaults.
func monitorConfig(v any) (event.MonitorConfig, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return event.MonitorConfig{}, fmt.Errorf("value is %s, not an object", jsonKind(v))
	}
	sched, ok := obj["schedule"].(map[string]any)
	if !ok {
		return event.MonitorConfig{}, errors.New("schedule is missing: {\"type\": \"crontab\", \"value\": \"0 * * * *\"} or {\"type\": \"interval\", \"value\": 1, \"unit\": \"hour\"}")
	}
	c := event.MonitorConfig{
		MarginMinutes: defaultMargin, MaxRuntimeMinutes: defaultMaxRuntime,
		FailureThreshold: 1, RecoveryThreshold: 1,
	}
	c.ScheduleType, _ = sched["type"].(string)
	switch c.ScheduleType {
	case event.ScheduleCrontab:
		s, _ := sched["value"].(string)
		c.Crontab = clamp(strings.TrimSpace(s), 128)
	case event.ScheduleInterval:
		n, ok := intValue(sched["value"])
		if !ok {
			return event.MonitorConfig{}, fmt.Errorf("interval value %s is not a whole number", clamp(compactJSON(sched["value"]), 32))
		}
		c.Interval = n
		c.Unit, _ = sched["unit"].(string)
		c.Unit = clamp(c.Unit, 16)
	}
	if tz, _ := obj["timezone"].(string); tz != "" {
		c.Timezone = clamp(strings.TrimSpace(tz), 64)
	}
	for _, f := range []struct {
		name     string
		min, max int64
		to       *int64
	}{
		{"checkin_margin", 0, maxMinutes, &c.MarginMinutes},
		{"max_runtime", 1, maxMinutes, &c.MaxRuntimeMinutes},
		{"failure_issue_threshold", 1, maxThreshold, &c.FailureThreshold},
		{"recovery_threshold", 1, maxThreshold, &c.RecoveryThreshold},
	} {
		v := obj[f.name]
		if v == nil {
			continue
		}
		n, ok := intValue(v)
		if !ok || n < f.min || n > f.max {
			return event.MonitorConfig{}, fmt.Errorf("%s %s is not a whole number from %d to %d", f.name, clamp(compactJSON(v), 32), f.min, f.max)
		}
		*f.to = n
	}
	if _, err := schedule.Of(c); err != nil {
		return event.MonitorConfig{}, err
	}
	return c, nil
}

// slugify makes a monitor slug of s as Sentry does: lowercase, with runs
// of characters other than letters, digits, '-' and '_' made one '-', and
// no '-' at either end. A slug a user typed in Sentry's shape is kept as
// it is.
func slugify(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(strings.TrimSpace(s)) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '-':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		default:
			dash = true
		}
		if b.Len() > maxMonitorSlug+1 {
			// Long enough to be refused; the rest cannot change that.
			break
		}
	}
	return strings.Trim(b.String(), "-")
}
