package ops

import (
	"math"
	"runtime/debug"
	"testing"
)

func TestSetMemoryLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	tests := []struct {
		name    string
		mb      int64
		env     string
		preset  int64
		want    int64
		wantSet int64
	}{
		{"default applies", 200, "", math.MaxInt64, 200 << 20, 200 << 20},
		{"GOMEMLIMIT wins", 200, "1GiB", 1 << 30, 1 << 30, 1 << 30},
		{"0 leaves it alone", 0, "", 512 << 20, 512 << 20, 512 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			debug.SetMemoryLimit(tt.preset)
			got := SetMemoryLimit(tt.mb, func(k string) string {
				if k == "GOMEMLIMIT" {
					return tt.env
				}
				return ""
			})
			if got != tt.want {
				t.Errorf("SetMemoryLimit = %d, want %d", got, tt.want)
			}
			if now := debug.SetMemoryLimit(-1); now != tt.wantSet {
				t.Errorf("limit in force %d, want %d", now, tt.wantSet)
			}
		})
	}
}
