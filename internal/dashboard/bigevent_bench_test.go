package dashboard

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/testutil/bigevent"
)

// BenchmarkIssuePage1MB serves the issue page of an issue whose latest
// event is about 1 MB (package bigevent), the slowest dashboard page of a big project
// (docs/benchmarks.md).
func BenchmarkIssuePage1MB(b *testing.B) {
	f := newFixture(b)
	at := now.Add(-time.Minute)
	ev := sampleEvent(f.web.ID, "55555555555555555555555555555555", at)
	bigevent.Fill(ev, &ev.Exceptions[0], at)
	if raw, err := event.Marshal(ev); err != nil || len(raw) < 900_000 {
		b.Fatalf("the event is %d bytes, %v; want about 1 MB", len(raw), err)
	}
	path := issuePath(f.save(ev).IssueID)
	if r := f.get(roleMember, path); r.StatusCode != http.StatusOK || !strings.Contains(r.Body, "deep249") {
		b.Fatalf("HTTP %d, or the page lacks the last frame", r.StatusCode)
	}
	// As curl asks for it, and as Chromium does (zstd, then gzip when a
	// browser has no zstd); sent-bytes is what goes on the wire.
	for _, accept := range []string{"", "gzip", "gzip, deflate, br, zstd"} {
		b.Run("accept="+accept, func(b *testing.B) {
			h := map[string]string{"Accept-Encoding": accept}
			b.ReportAllocs()
			var sent int
			for b.Loop() {
				sent = len(f.do(request{role: roleMember, path: path, header: h}).Body)
			}
			b.ReportMetric(float64(sent), "sent-bytes")
		})
	}
}
