package main

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"testing"

	"github.com/getflytrap/flytrap/internal/bench"
)

// TestBenchAgainstDev runs `flytrap bench` against a real `flytrap dev`,
// briefly: every event it reports accepted must be stored and counted
// through the REST API, and the server's RSS read from /metrics.
func TestBenchAgainstDev(t *testing.T) {
	dir := t.TempDir()
	startDev(t, dir, nil, "--rate-limit", "-1")
	var out, errOut bytes.Buffer
	cmd := exec.Command(flytrapBin, "bench", "--data-dir", dir, "--duration", "2s", "--connections", "4",
		"--distinct", "5", "--drain-timeout", "60s", "--json")
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("flytrap bench: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errOut.String())
	}
	var rep bench.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	s := rep.Server
	if s.Accepted == 0 || s.Requests != s.Accepted || rep.Baseline == nil || rep.Baseline.Accepted == 0 {
		t.Errorf("server %+v, baseline %+v: want every request accepted", s, rep.Baseline)
	}
	if p := rep.Processed; p == nil || p.Source != bench.SourceREST || !p.Complete || p.Stored != s.Accepted {
		t.Errorf("processed %+v, want all %d accepted events stored", p, s.Accepted)
	}
	if rep.RSS == nil || rep.RSS.BeforeBytes <= 0 || rep.RSS.PeakBytes < rep.RSS.BeforeBytes {
		t.Errorf("RSS %+v", rep.RSS)
	}
	if len(rep.Notes) != 0 {
		t.Errorf("notes: %q", rep.Notes)
	}
}
