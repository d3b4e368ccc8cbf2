package ops

import (
	"context"
	"io"
	"net/http/httptest"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"
)

func TestMetricsReportMemory(t *testing.T) {
	rec := httptest.NewRecorder()
	Metrics(func(context.Context, io.Writer) {}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	want := []string{"go_memstats_heap_alloc_bytes", "go_memstats_heap_inuse_bytes", "go_memstats_heap_idle_bytes", "go_memstats_heap_released_bytes", "go_memstats_sys_bytes", "go_gc_gogc_percent", "go_gc_gomemlimit_bytes"}
	if runtime.GOOS == "linux" {
		want = append(want, "process_resident_memory_bytes")
	}
	for _, name := range want {
		m := regexp.MustCompile(`(?m)^` + name + ` (\d+)$`).FindStringSubmatch(rec.Body.String())
		if m == nil {
			t.Errorf("no %s in\n%s", name, rec.Body)
			continue
		}
		if v, _ := strconv.ParseInt(m[1], 10, 64); v <= 0 {
			t.Errorf("%s = %d, want > 0", name, v)
		}
	}
	if _, err := CPUSeconds(); err == nil {
		m := regexp.MustCompile(`(?m)^process_cpu_seconds_total (\d+\.\d+)$`).FindStringSubmatch(rec.Body.String())
		if m == nil {
			t.Fatalf("no process_cpu_seconds_total in\n%s", rec.Body)
		}
		if v, _ := strconv.ParseFloat(m[1], 64); v <= 0 {
			t.Errorf("process_cpu_seconds_total = %v, want > 0", v)
		}
	}
}

// TestGCPercent reads the GOGC in force, off included.
func TestGCPercent(t *testing.T) {
	prev := debug.SetGCPercent(250)
	t.Cleanup(func() { debug.SetGCPercent(prev) })
	if got := GCPercent(); got != 250 {
		t.Errorf("GCPercent() = %d, want 250", got)
	}
	debug.SetGCPercent(-1)
	if got := GCPercent(); got != -1 {
		t.Errorf("GCPercent() with the collector off = %d, want -1", got)
	}
}
