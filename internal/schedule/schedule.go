// Package schedule computes when a cron monitor's job is next expected to
// run: a crontab in a time zone, or a fixed interval, as Sentry Crons
// reads a check-in's monitor_config.
package schedule

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	// Time zones are read from the binary, so that ingest (a Lambda on
	// AWS, whose image may have no zoneinfo) accepts the same zones the
	// dashboard's monitors job reads.
	_ "time/tzdata"

	"github.com/getflytrap/flytrap/internal/event"
)

// Schedule says when a job runs next.
type Schedule interface {
	// Next is the first run strictly after t.
	Next(t time.Time) time.Time
}

// MaxInterval bounds an interval schedule: a year.
const MaxInterval = 366 * 24 * time.Hour

// Units of interval schedules, as Sentry names them.
var units = map[string]time.Duration{
	"minute": time.Minute,
	"hour":   time.Hour,
	"day":    24 * time.Hour,
	"week":   7 * 24 * time.Hour,
}

// Of returns the schedule of a monitor config, or an error that says what
// is wrong with it.
func Of(c event.MonitorConfig) (Schedule, error) {
	loc := time.UTC
	if c.Timezone != "" {
		l, err := time.LoadLocation(c.Timezone)
		if err != nil || !ianaName(c.Timezone) {
			return nil, fmt.Errorf("timezone %q is not an IANA time zone such as Europe/Vienna", c.Timezone)
		}
		loc = l
	}
	switch c.ScheduleType {
	case event.ScheduleCrontab:
		v := strings.TrimSpace(c.Crontab)
		// The zone comes from timezone; @every is robfig/cron's, not
		// a crontab.
		if strings.HasPrefix(v, "TZ=") || strings.HasPrefix(v, "CRON_TZ=") || strings.HasPrefix(v, "@every") {
			return nil, fmt.Errorf("crontab %q is not five fields (minute hour day month weekday) or @hourly, @daily, @weekly, @monthly, @yearly", v)
		}
		s, err := cron.ParseStandard(v)
		if err != nil {
			return nil, fmt.Errorf("crontab %q is not five fields (minute hour day month weekday) or @hourly, @daily, @weekly, @monthly, @yearly: %v", v, err)
		}
		if s.Next(time.Now().In(loc)).IsZero() {
			// robfig/cron gives up after five years: 0 0 30 2 *.
			return nil, fmt.Errorf("crontab %q never runs", v)
		}
		return crontab{s: s, loc: loc}, nil
	case event.ScheduleInterval:
		if c.Interval <= 0 {
			return nil, errors.New("interval value must be a positive number")
		}
		switch c.Unit {
		case "month":
			if c.Interval > 12 {
				return nil, errors.New("interval is longer than a year")
			}
			return months(c.Interval), nil
		case "year":
			if c.Interval > 1 {
				return nil, errors.New("interval is longer than a year")
			}
			return months(12), nil
		}
		u, ok := units[c.Unit]
		if !ok {
			return nil, fmt.Errorf("interval unit %q is not minute, hour, day, week, month or year", c.Unit)
		}
		if c.Interval > int64(MaxInterval/u) {
			return nil, errors.New("interval is longer than a year")
		}
		return every(time.Duration(c.Interval) * u), nil
	}
	return nil, fmt.Errorf("schedule type %q is not crontab or interval", c.ScheduleType)
}

// ianaName reports whether name has the shape of an IANA zone's name
// (Europe/Vienna, Etc/GMT+5, UTC): time.LoadLocation also takes "Local"
// and the files of the server's zoneinfo directory (localtime,
// posixrules, paths with "//" or ".."), which follow the server's own
// zone or file system rather than the job's.
func ianaName(name string) bool {
	if name == "Local" {
		return false
	}
	for _, part := range strings.Split(name, "/") {
		if part == "" || part[0] < 'A' || part[0] > 'Z' {
			return false
		}
		for _, r := range part {
			if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_' || r == '-' || r == '+') {
				return false
			}
		}
	}
	return true
}

// crontab runs at the times its expression names in loc, across daylight
// saving changes as the wall clock there does.
type crontab struct {
	s   cron.Schedule
	loc *time.Location
}

func (c crontab) Next(t time.Time) time.Time { return c.s.Next(t.In(c.loc)).UTC() }

// every runs a fixed duration after the last run.
type every time.Duration

func (e every) Next(t time.Time) time.Time { return t.Add(time.Duration(e)).UTC() }

// months runs a number of calendar months after the last run.
type months int

func (m months) Next(t time.Time) time.Time { return t.UTC().AddDate(0, int(m), 0) }

// Text is a config's schedule as pages show it: the crontab, or the
// interval as "<n> <unit>".
func Text(c event.MonitorConfig) string {
	if c.ScheduleType == event.ScheduleInterval {
		return strconv.FormatInt(c.Interval, 10) + " " + c.Unit
	}
	return c.Crontab
}

// Describe is a config's schedule for people: Text, with "every" before
// an interval and the crontab's zone after it when set.
func Describe(c event.MonitorConfig) string {
	s := Text(c)
	if c.ScheduleType == event.ScheduleInterval {
		s = "every " + s
	}
	if c.Timezone != "" {
		s += " (" + c.Timezone + ")"
	}
	return s
}
