package notify_test

import (
	"testing"

	"github.com/getflytrap/flytrap/internal/notify"
	"github.com/getflytrap/flytrap/internal/store"
)

func TestHeading(t *testing.T) {
	tests := []struct {
		reason string
		events int64
		want   string
	}{
		{store.RuleNewIssue, 0, "New issue"},
		{store.RuleRegression, 0, "Regression: a resolved issue is back"},
		{store.ReasonDigest, 1, "Still happening: 1 more event"},
		{store.ReasonDigest, 199, "Still happening: 199 more events"},
		{store.ReasonNewIssuesHeld, 1, "1 more new issue (alerts paused after 20 in 10 minutes); the latest"},
		{store.ReasonNewIssuesHeld, 980, "980 more new issues (alerts paused after 20 in 10 minutes); the latest"},
		{store.RuleFrequency, 0, "Issue is spiking"},
		{store.RuleFrequency, 4, "Issue is spiking: 4 events in 4 minutes"},
		{store.RuleFrequency, 1, "Issue is spiking: 1 event in 1 minute"},
		{store.ReasonMonitorFailing, 0, "Cron monitor failing"},
		{store.ReasonMonitorRecovered, 0, "Cron monitor recovered"},
	}
	for _, tt := range tests {
		m := notify.Message{Reason: tt.reason}
		m.Payload.Events = tt.events
		m.Payload.Held = tt.events
		m.Payload.WindowEvents, m.Payload.WindowMinutes = tt.events, tt.events
		if got := m.Heading(); got != tt.want {
			t.Errorf("Heading(%s, %d events) = %q, want %q", tt.reason, tt.events, got, tt.want)
		}
	}
}
