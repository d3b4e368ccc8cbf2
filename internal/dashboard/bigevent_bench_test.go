package dashboard

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
)

// bigEvent is an event of about 1 MB shaped as scripts/bigproject makes
// them, as a deep recursion in a browser app sends: 250 frames with eight
// local variables each and 100 breadcrumbs of 4 KB of data, with markup
// in the strings the page must escape.
func bigEvent(projectID int64, id string, at time.Time) *event.Event {
	ev := sampleEvent(projectID, id, at)
	ex := &ev.Exceptions[0]
	ex.Frames = nil
	for f := range 250 {
		vars := map[string]any{}
		for v := range 8 {
			vars[fmt.Sprintf("var%d", v)] = strings.Repeat(fmt.Sprintf("value %d of frame %d <b>&amp; ", v, f), 6)
		}
		raw, _ := json.Marshal(vars)
		ex.Frames = append(ex.Frames, event.Frame{Filename: fmt.Sprintf("/static/js/big-%d.js", f), Function: fmt.Sprintf("deep%d", f),
			Lineno: f + 1, Colno: 1, ContextLine: "  recurse(x);", Vars: raw})
	}
	ev.Breadcrumbs = nil
	for b := range 100 {
		data, _ := json.Marshal(map[string]string{"payload": strings.Repeat(fmt.Sprintf("crumb %d <script>x</script> ", b), 4096/30)})
		ev.Breadcrumbs = append(ev.Breadcrumbs, event.Breadcrumb{Timestamp: at, Category: "xhr", Level: "info",
			Message: fmt.Sprintf("POST /api/%d", b), Data: data})
	}
	return ev
}

// BenchmarkIssuePage1MB serves the issue page of an issue whose latest
// event is about 1 MB, the slowest dashboard page of a big project
// (docs/benchmarks.md).
func BenchmarkIssuePage1MB(b *testing.B) {
	f := newFixture(b)
	ev := bigEvent(f.web.ID, "55555555555555555555555555555555", now.Add(-time.Minute))
	if raw, err := event.Marshal(ev); err != nil || len(raw) < 900_000 {
		b.Fatalf("the event is %d bytes, %v; want about 1 MB", len(raw), err)
	}
	path := issuePath(f.save(ev).IssueID)
	if r := f.get(roleMember, path); r.StatusCode != http.StatusOK || !strings.Contains(r.Body, "deep249") {
		b.Fatalf("HTTP %d, or the page lacks the last frame", r.StatusCode)
	}
	b.ReportAllocs()
	for b.Loop() {
		f.get(roleMember, path)
	}
}
