package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes rep as indented JSON, for scripts and CI.
func WriteJSON(w io.Writer, rep *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// WriteTable writes rep for a person: the baseline and the server side by
// side, then what followed the load.
func WriteTable(w io.Writer, rep *Report) error {
	rate := "as fast as answered"
	if rep.Rate > 0 {
		rate = Thousands(int64(rep.Rate)) + " req/s"
	}
	fmt.Fprintf(w, "flytrap bench %s: %s events (%s B JSON, %s B gzip), %d distinct errors, %d connections, %gs, %s\n\n",
		rep.URL, rep.Size, Thousands(int64(rep.EventBytes)), Thousands(int64(rep.BodyBytes)), rep.Distinct, rep.Connections, rep.Seconds, rate)
	// Right-aligned numbers; the labels, padded alike, stay on the left,
	// and the remark after the last tab is no cell, so no padding trails.
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', tabwriter.AlignRight)
	row := func(name string, f func(LoadResult) string, extra string) {
		cells := []string{fmt.Sprintf("%-12s", name)}
		if rep.Baseline != nil {
			cells = append(cells, f(*rep.Baseline))
		}
		cells = append(cells, f(rep.Server))
		fmt.Fprintln(tw, strings.TrimRight(strings.Join(cells, "\t")+"\t   "+extra, " "))
	}
	head := []string{fmt.Sprintf("%-12s", "")}
	if rep.Baseline != nil {
		head = append(head, "bare net/http")
	}
	fmt.Fprintln(tw, strings.Join(append(head, "flytrap"), "\t")+"\t")
	share := ""
	if rep.Baseline != nil {
		share = fmt.Sprintf("%.1f%% of bare", 100*rep.ShareOfBaseline)
	}
	count := func(f func(LoadResult) int64) func(LoadResult) string {
		return func(r LoadResult) string { return Thousands(f(r)) }
	}
	msf := func(f func(Latency) float64) func(LoadResult) string {
		return func(r LoadResult) string { return strconv.FormatFloat(f(r.Latency), 'f', 1, 64) + " ms" }
	}
	row("accepted/s", count(func(r LoadResult) int64 { return int64(r.AcceptedPerSec + 0.5) }), share)
	row("requests", count(func(r LoadResult) int64 { return r.Requests }), "")
	row("2xx", count(func(r LoadResult) int64 { return r.Accepted }), "")
	row("429", count(func(r LoadResult) int64 { return r.TooMany }), "")
	row("503", count(func(r LoadResult) int64 { return r.Unavailable }), "")
	row("other status", count(func(r LoadResult) int64 { return r.Other }), "")
	row("no answer", count(func(r LoadResult) int64 { return r.Errors }), "")
	row("latency p50", msf(func(l Latency) float64 { return l.P50 }), "of 2xx")
	row("latency p90", msf(func(l Latency) float64 { return l.P90 }), "")
	row("latency p99", msf(func(l Latency) float64 { return l.P99 }), "")
	row("latency max", msf(func(l Latency) float64 { return l.Max }), "")
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if err := writeProbe(w, rep.Probe); err != nil {
		return err
	}
	if p := rep.Processed; p != nil {
		state := "all"
		if !p.Complete {
			state = "only"
		}
		fmt.Fprintf(w, "processed   %s %s of %s accepted events stored (counted via %s), %.1fs after the load stopped: %s/s end to end\n",
			state, Thousands(p.Stored), Thousands(rep.Server.Accepted), p.Source, p.DrainSeconds, Thousands(int64(p.PerSec+0.5)))
	}
	if m := rep.RSS; m != nil {
		fmt.Fprintf(w, "server RSS  %s before, %s peak, %s after\n", MiB(m.BeforeBytes), MiB(m.PeakBytes), MiB(m.AfterBytes))
	}
	if c := rep.CPU; c != nil {
		per := ""
		if c.PerStoredEventMS > 0 {
			per = fmt.Sprintf(", %.3f ms per stored event", c.PerStoredEventMS)
		}
		fmt.Fprintf(w, "server CPU  %.2fs over the load and the drain%s\n", c.Seconds, per)
	}
	for _, n := range rep.Notes {
		fmt.Fprintln(w, "note:", n)
	}
	return nil
}

// writeProbe writes the page probe's reads, idle beside under the load,
// and a blank line; nothing when there was no probe.
func writeProbe(w io.Writer, p *Probe) error {
	if p == nil {
		return nil
	}
	fmt.Fprintf(w, "page probe: GET %s, one at a time every %g ms, %gs idle, then during the load\n",
		p.Path, p.IntervalMS, math.Round(p.Idle.Seconds*10)/10)
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', tabwriter.AlignRight)
	row := func(name string, f func(ProbeResult) string, extra string) {
		fmt.Fprintln(tw, strings.TrimRight(fmt.Sprintf("%-12s\t%s\t%s\t   %s", name, f(p.Idle), f(p.Load), extra), " "))
	}
	fmt.Fprintf(tw, "%-12s\tidle\tunder load\t\n", "")
	count := func(f func(ProbeResult) int64) func(ProbeResult) string {
		return func(r ProbeResult) string { return Thousands(f(r)) }
	}
	msf := func(f func(ProbeLatency) float64) func(ProbeResult) string {
		return func(r ProbeResult) string { return strconv.FormatFloat(f(r.Latency), 'f', 1, 64) + " ms" }
	}
	row("reads", count(func(r ProbeResult) int64 { return r.Requests }), "")
	row("non-2xx", count(func(r ProbeResult) int64 { return r.Non2xx }), "")
	row("no answer", count(func(r ProbeResult) int64 { return r.Errors }), "")
	row("page p50", msf(func(l ProbeLatency) float64 { return l.P50 }), "of 2xx")
	row("page p95", msf(func(l ProbeLatency) float64 { return l.P95 }), "")
	row("page max", msf(func(l ProbeLatency) float64 { return l.Max }), "")
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w)
	return err
}

// MiB formats a byte count in mebibytes with one decimal.
func MiB(b int64) string {
	return strconv.FormatFloat(float64(b)/(1<<20), 'f', 1, 64) + " MiB"
}

// Thousands formats n with commas between groups of three digits.
func Thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
