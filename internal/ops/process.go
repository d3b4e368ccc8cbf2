package ops

import (
	"io"
	"runtime"
)

// WriteProcessMetrics writes the process's memory figures: the resident
// set (process_resident_memory_bytes, where ResidentBytes can read it) and
// the Go runtime's view of it (go_memstats_*), so an operator or
// `flytrap bench` can tell memory the Go heap holds from memory the
// runtime keeps, SQLite's C-translated allocator and the mapped binary.
func WriteProcessMetrics(w io.Writer) {
	if rss, err := ResidentBytes(); err == nil {
		Metric(w, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", int64(rss))
	}
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
}
