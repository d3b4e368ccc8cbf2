package dashboard

import (
	"time"

	"github.com/getflytrap/flytrap/internal/store"
)

// chart is an event-count bar chart, laid out here and drawn by the
// templates as inline SVG: no chart library and no script, and the numbers
// come from the store, never from an SDK.
type chart struct {
	Label  string // accessible name, e.g. "Events in the last 24 hours"
	Width  float64
	Height float64
	Total  int64
	Max    int64
	Bars   []bar
	// Start and End label the x axis.
	Start, End string
	// StartHour is the hourly chart's first hour in RFC 3339 UTC, which
	// app.js shows in the reader's zone instead of Start's UTC.
	StartHour string
}

// bar is one time slot of a chart.
type bar struct {
	X, Y, W, H float64
	SlotH      float64 // full-height hover area
	Count      int64
	Tip        string // "Nov 22, 10:00 UTC: 3 events"
	// Hour is an hourly bar's hour in RFC 3339 UTC, for app.js to put
	// the reader's zone in Tip.
	Hour string
}

// Chart geometry in SVG user units; the SVG scales to its box.
const (
	chartWidth  = 280
	chartHeight = 60
	barGap      = 1
	minBarH     = 2 // a slot with events is always visible
)

// hourlyChart charts the 24 hours ending with the one containing now.
func hourlyChart(buckets []store.Bucket, now time.Time) chart {
	end := now.UTC().Truncate(time.Hour)
	start := end.Add(-23 * time.Hour)
	counts := make([]int64, 24)
	for _, b := range buckets {
		if i := int(b.Hour.UTC().Sub(start) / time.Hour); i >= 0 && i < 24 && !b.Hour.Before(start) {
			counts[i] += b.Count
		}
	}
	tips := make([]string, 24)
	for i := range tips {
		tips[i] = start.Add(time.Duration(i)*time.Hour).Format("Jan 2, 15:04 UTC") + ": " + plural(counts[i], "event", "events")
	}
	c := layout(counts, tips)
	for i := range c.Bars {
		c.Bars[i].Hour = start.Add(time.Duration(i) * time.Hour).Format(time.RFC3339)
	}
	c.Label = "Events per hour in the last 24 hours"
	c.Start, c.End = start.Format("15:04 UTC"), "now"
	c.StartHour = start.Format(time.RFC3339)
	return c
}

// dailyChart charts the 14 UTC days ending with today.
func dailyChart(buckets []store.Bucket, now time.Time) chart {
	const days = 14
	today := now.UTC().Truncate(24 * time.Hour)
	start := today.AddDate(0, 0, -(days - 1))
	counts := make([]int64, days)
	for _, b := range buckets {
		h := b.Hour.UTC()
		if h.Before(start) {
			continue
		}
		if i := int(h.Sub(start) / (24 * time.Hour)); i < days {
			counts[i] += b.Count
		}
	}
	tips := make([]string, days)
	for i := range tips {
		tips[i] = start.AddDate(0, 0, i).Format("Mon Jan 2") + ": " + plural(counts[i], "event", "events")
	}
	c := layout(counts, tips)
	c.Label = "Events per day in the last 14 days"
	c.Start, c.End = start.Format("Jan 2"), "today"
	return c
}

// layout scales counts into bars filling the chart.
func layout(counts []int64, tips []string) chart {
	c := chart{Width: chartWidth, Height: chartHeight}
	for _, n := range counts {
		c.Total += n
		c.Max = max(c.Max, n)
	}
	slot := float64(chartWidth) / float64(len(counts))
	for i, n := range counts {
		h := 0.0
		if c.Max > 0 && n > 0 {
			h = max(minBarH, float64(n)/float64(c.Max)*chartHeight)
		}
		c.Bars = append(c.Bars, bar{
			X: float64(i) * slot, W: slot - barGap,
			Y: chartHeight - h, H: h, SlotH: chartHeight,
			Count: n, Tip: tips[i],
		})
	}
	return c
}
