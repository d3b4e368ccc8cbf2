package schedule

import (
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
)

func TestNext(t *testing.T) {
	at := time.Date(2026, 3, 28, 22, 30, 0, 0, time.UTC) // a Saturday; Europe's clocks go forward the next night
	for _, c := range []struct {
		name string
		cfg  event.MonitorConfig
		from time.Time
		want time.Time
	}{
		{"crontab in UTC", event.MonitorConfig{ScheduleType: "crontab", Crontab: "*/15 * * * *"}, at, at.Add(15 * time.Minute)},
		{"crontab in a zone", event.MonitorConfig{ScheduleType: "crontab", Crontab: "30 2 * * *", Timezone: "America/New_York"}, at,
			time.Date(2026, 3, 29, 6, 30, 0, 0, time.UTC)},
		// 09:00 in Vienna is 08:00 UTC before the change, 07:00 after.
		{"across a DST change", event.MonitorConfig{ScheduleType: "crontab", Crontab: "0 9 * * *", Timezone: "Europe/Vienna"}, at,
			time.Date(2026, 3, 29, 7, 0, 0, 0, time.UTC)},
		// Etc/GMT+5 is five hours behind UTC: 17:30 there.
		{"a zone with a sign", event.MonitorConfig{ScheduleType: "crontab", Crontab: "0 0 * * *", Timezone: "Etc/GMT+5"}, at,
			time.Date(2026, 3, 29, 5, 0, 0, 0, time.UTC)},
		{"UTC by name", event.MonitorConfig{ScheduleType: "crontab", Crontab: "@hourly", Timezone: "UTC"}, at, at.Add(30 * time.Minute)},
		{"a nickname", event.MonitorConfig{ScheduleType: "crontab", Crontab: "@hourly"}, at, at.Add(30 * time.Minute)},
		{"minutes", event.MonitorConfig{ScheduleType: "interval", Interval: 90, Unit: "minute"}, at, at.Add(90 * time.Minute)},
		{"weeks", event.MonitorConfig{ScheduleType: "interval", Interval: 2, Unit: "week"}, at, at.AddDate(0, 0, 14)},
		{"months", event.MonitorConfig{ScheduleType: "interval", Interval: 1, Unit: "month"}, at, time.Date(2026, 4, 28, 22, 30, 0, 0, time.UTC)},
		{"a year", event.MonitorConfig{ScheduleType: "interval", Interval: 1, Unit: "year"}, at, time.Date(2027, 3, 28, 22, 30, 0, 0, time.UTC)},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := Of(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Next(c.from); !got.Equal(c.want) || got.Location() != time.UTC {
				t.Errorf("Next(%s) = %s, want %s", c.from, got, c.want)
			}
		})
	}
}

func TestOfRefuses(t *testing.T) {
	for _, c := range []struct {
		cfg  event.MonitorConfig
		want string
	}{
		{event.MonitorConfig{ScheduleType: "crontab", Crontab: "* * *"}, "not five fields"},
		{event.MonitorConfig{ScheduleType: "crontab", Crontab: "CRON_TZ=UTC 0 * * * *"}, "not five fields"},
		{event.MonitorConfig{ScheduleType: "crontab", Crontab: "0 0 31 2 *"}, "never runs"},
		{event.MonitorConfig{ScheduleType: "crontab", Crontab: "@daily", Timezone: "../../etc/passwd"}, "not an IANA time zone"},
		{event.MonitorConfig{ScheduleType: "crontab", Crontab: "@daily", Timezone: "Local"}, "not an IANA time zone"},
		{event.MonitorConfig{ScheduleType: "crontab", Crontab: "@daily", Timezone: "localtime"}, "not an IANA time zone"},
		{event.MonitorConfig{ScheduleType: "crontab", Crontab: "@daily", Timezone: "posixrules"}, "not an IANA time zone"},
		{event.MonitorConfig{ScheduleType: "crontab", Crontab: "@daily", Timezone: "Europe//Vienna"}, "not an IANA time zone"},
		{event.MonitorConfig{ScheduleType: "interval", Interval: 13, Unit: "month"}, "longer than a year"},
		{event.MonitorConfig{ScheduleType: "interval", Interval: 2, Unit: "year"}, "longer than a year"},
		{event.MonitorConfig{ScheduleType: "interval", Interval: -1, Unit: "hour"}, "positive"},
		{event.MonitorConfig{ScheduleType: "daily"}, `schedule type "daily"`},
	} {
		if _, err := Of(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Of(%+v) = %v, want an error with %q", c.cfg, err, c.want)
		}
	}
}

// TestDescribe: the schedule as the dashboard and alerts show it.
func TestDescribe(t *testing.T) {
	for _, c := range []struct {
		cfg  event.MonitorConfig
		want string
	}{
		{event.MonitorConfig{ScheduleType: "crontab", Crontab: "0 * * * *"}, "0 * * * *"},
		{event.MonitorConfig{ScheduleType: "crontab", Crontab: "0 2 * * *", Timezone: "Europe/Vienna"}, "0 2 * * * (Europe/Vienna)"},
		{event.MonitorConfig{ScheduleType: "interval", Interval: 2, Unit: "hour"}, "every 2 hour"},
	} {
		if got := Describe(c.cfg); got != c.want {
			t.Errorf("Describe(%+v) = %q, want %q", c.cfg, got, c.want)
		}
	}
}
