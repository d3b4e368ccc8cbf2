package ingest

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"golang.org/x/text/unicode/norm"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/schedule"
)

// itemCheckIn is a cron monitor's check-in
// (https://develop.sentry.dev/sdk/telemetry/check-ins/).
const itemCheckIn = "check_in"

// Bounds on check-ins and their monitor_config, as Sentry's: a slug cut to
// 50 characters, margins and run times of at most 28 days in
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
	switch {
	case strings.TrimSpace(rawSlug) == "":
		return event.CheckIn{}, errors.New("without a monitor_slug, the monitor's name")
	case slug == "":
		return event.CheckIn{}, fmt.Errorf("with monitor_slug %s, which has no letter or digit a slug keeps: a-z and 0-9 (accents removed), '-' and '_', as Sentry's", clamp(compactJSON(rawSlug), 64))
	}
	ci := event.CheckIn{ID: hex.EncodeToString(id[:]), Slug: slug, Received: d.received}
	if legacy := LegacySlug(rawSlug); legacy != slug && legacy != "" && len(legacy) <= maxMonitorSlug {
		ci.LegacySlug = legacy // longer ones were refused: no monitor has them
	}
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

// slugify makes a monitor slug of s: lowercase, accents split off their
// letters and dropped ("Café" is "cafe", as Sentry makes it), runs of
// other characters than a-z, 0-9, '-' and '_' made one '-', no '-' at
// either end, cut to maxMonitorSlug. A slug of only other scripts, such
// as CJK, comes out empty, as in Sentry. Sentry drops ASCII punctuation
// where this makes it '-' ("tasks.cleanup" is "taskscleanup" there): the
// slugs of monitors made before stay as they were.
func slugify(s string) string {
	var b strings.Builder
	dash := false
	add := func(r rune) {
		switch {
		case r >= 'A' && r <= 'Z':
			r += 'a' - 'A'
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '-' && b.Len() > 0:
		case unicode.Is(unicode.Mn, r):
			return // an accent split off its letter
		default:
			dash = true
			return
		}
		if dash && b.Len() > 0 {
			b.WriteByte('-')
		}
		dash = false
		b.WriteRune(r)
	}
	for _, r := range s {
		if r < utf8.RuneSelf {
			add(r)
		} else {
			for _, d := range norm.NFKD.String(string(r)) {
				add(d)
			}
		}
		if b.Len() > maxMonitorSlug {
			break // the rest cannot change the first maxMonitorSlug
		}
	}
	slug := strings.Trim(b.String(), "-")
	if len(slug) > maxMonitorSlug {
		slug = strings.TrimRight(slug[:maxMonitorSlug], "-")
	}
	return slug
}

// LegacySlug is the slug rule of earlier releases: lowercase, every
// character but a-z, 0-9, '-' and '_' (accented letters too) made a '-'
// run, no '-' at either end ("Café" is "caf"; slugs longer than
// maxMonitorSlug were refused). It is kept, and not in slugify's place,
// so that a monitor those releases made of a non-ASCII monitor_slug is
// found, and renamed, by the check-ins that now make another slug.
func LegacySlug(s string) string {
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
