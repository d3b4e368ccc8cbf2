package ops

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// WriteProcessMetrics writes the process's memory figures: the resident
// set (process_resident_memory_bytes, where ResidentBytes can read it) and
// the Go runtime's view of it (go_memstats_*), so an operator or
// `flytrap bench` can tell memory the Go heap holds from memory the
// runtime keeps, SQLite's C-translated allocator and the mapped binary.
// It also writes the GOGC and memory limit in force (go_gc_gogc_percent,
// go_gc_gomemlimit_bytes) and the CPU time used
// (process_cpu_seconds_total), from which `flytrap bench` takes the CPU
// an event costs, a figure that holds up on a machine shared with other
// work where rates do not.
// It also writes the GOGC in force (go_gc_gogc_percent) and the CPU time
// used (process_cpu_seconds_total) and the process's start time
// (process_start_time_seconds), from which `flytrap bench` takes the
// CPU an event costs, a figure that holds up on a machine shared with
// other work where rates do not.
func WriteProcessMetrics(w io.Writer) {
	if rss, err := ResidentBytes(); err == nil {
		Metric(w, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", int64(rss))
	}
	if cpu, err := CPUSeconds(); err == nil {
		// Fractional, unlike Metric's integers: a run's events are
		// milliseconds of it each.
		fmt.Fprintf(w, "# HELP process_cpu_seconds_total User and system CPU time spent in seconds.\n# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %.6f\n", cpu)
	}
	// With it a reader of the counters above tells a restart, which
	// sets them back, from a quiet spell.
	Metric(w, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.", started.Unix())
	var m runtime.MemStats
	// Its stop-the-world pause is microseconds, and only scrapes pay it.
	runtime.ReadMemStats(&m)
	for _, s := range []struct {
		name, help string
		v          uint64
	}{
		{"go_memstats_heap_alloc_bytes", "Bytes of allocated heap objects, live and not yet collected.", m.HeapAlloc},
		{"go_memstats_heap_inuse_bytes", "Bytes in in-use heap spans.", m.HeapInuse},
		{"go_memstats_heap_idle_bytes", "Bytes in idle heap spans, returned to the OS or not.", m.HeapIdle},
		{"go_memstats_heap_released_bytes", "Bytes of idle heap spans returned to the OS.", m.HeapReleased},
		{"go_memstats_sys_bytes", "Bytes of memory the Go runtime obtained from the OS.", m.Sys},
	} {
		Metric(w, s.name, "gauge", s.help, int64(s.v))
	}
	Metric(w, "go_gc_gogc_percent", "gauge", "The collector's GOGC in force (flytrap dev raises it while busy: --busy-gogc).", GCPercent())
	Metric(w, "go_gc_gomemlimit_bytes", "gauge", "The collector's memory limit in force (--memory-limit; flytrap dev lowers it while busy with a raised GOGC).", debug.SetMemoryLimit(-1))
}

// started is when this process started, near enough: when its packages
// were initialized.
var started = time.Now()

// GCPercent returns the GOGC in force, without setting it: -1 when the
// collector is off (the runtime reports -1 as the largest uint64).
func GCPercent() int64 {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return -1
	}
	return int64(s[0].Value.Uint64())
}
