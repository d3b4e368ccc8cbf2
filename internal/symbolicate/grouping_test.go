package symbolicate

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/artifact"
	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/process"
	"github.com/getflytrap/flytrap/internal/store"
)

// The stage the processor runs is this package's Symbolicator.
var _ process.Symbolicator = (*Symbolicator)(nil)

// recordingSaver keeps what the processor would store.
type recordingSaver struct{ reqs []store.SaveRequest }

func (s *recordingSaver) SaveBatch(_ context.Context, reqs []store.SaveRequest, _ ...store.TxHook) ([]store.SaveResult, error) {
	s.reqs = append(s.reqs, reqs...)
	return make([]store.SaveResult, len(reqs)), nil
}

func (s *recordingSaver) SaveSessions(_ context.Context, reqs []store.SessionsRequest) ([]store.SessionsResult, error) {
	return make([]store.SessionsResult, len(reqs)), nil
}

func (s *recordingSaver) SaveCheckIns(_ context.Context, reqs []store.CheckInRequest) ([]store.CheckInResult, error) {
	return make([]store.CheckInResult, len(reqs)), nil
}

func (s *recordingSaver) SaveFeedback(_ context.Context, reqs []store.FeedbackRequest) ([]store.FeedbackResult, error) {
	return make([]store.FeedbackResult, len(reqs)), nil
}

// bundleOnly is a fixture stack cut to its bundle's frames: the frames
// below (Node's eval of the fixture) differ between the builds only
// because the harness loaded them differently.
func bundleOnly(t *testing.T, stackFile string) string {
	lines := strings.Split(string(readFile(t, stackFile)), "\n")
	return strings.Join(lines[:5], "\n")
}

// Two builds of the same source (an IIFE and an ES module, so every
// position differs, with different maps under different file names) are
// one issue once symbolicated, and two without source maps.
func TestMinifiedBuildsGroupTogether(t *testing.T) {
	maps := &fakeMaps{byPath: map[string]artifact.Map{urlA: mapA(t), urlB: mapB(t)}}
	fingerprints := func(sym process.Symbolicator) []store.SaveRequest {
		saver := &recordingSaver{}
		p := process.New(process.Config{Saver: saver, Symbolicator: sym})
		var bodies [][]byte
		for i, stack := range []string{"testdata/build-a/stack.txt", "testdata/build-b/stack.txt"} {
			ev := event.Event{EventID: strings.Repeat(string(rune('a'+i)), 32), ProjectID: 7, Platform: "javascript", Source: event.SourceFlytrap,
				Exceptions: []event.Exception{{RawStack: bundleOnly(t, stack)}}}
			b, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			bodies = append(bodies, b)
		}
		for _, out := range p.ProcessBatch(context.Background(), bodies) {
			if out.Err != nil {
				t.Fatal(out.Err)
			}
		}
		return saver.reqs
	}
	got := fingerprints(New(Config{Maps: maps}))
	if got[0].Fingerprint != got[1].Fingerprint {
		t.Errorf("symbolicated builds: fingerprints %s and %s, want one issue", got[0].Fingerprint, got[1].Fingerprint)
	}
	if got[0].Culprit != "src/cart.js in lineTotal" {
		t.Errorf("culprit %q, want src/cart.js in lineTotal", got[0].Culprit)
	}
	if raw := fingerprints(nil); raw[0].Fingerprint == raw[1].Fingerprint {
		t.Errorf("without source maps the two builds group together: the test proves nothing")
	}
}
