package bench

import (
	"strings"
	"testing"
)

// TestCPUUsed: a server that restarted between the readings has no CPU
// figure, whether its counter went back or its start time changed (a
// restarted server that has already used more CPU than before).
func TestCPUUsed(t *testing.T) {
	tests := []struct {
		name          string
		before, after cpuReading
		want          float64
		wantErr       string
	}{
		{"same process", cpuReading{10, 1000}, cpuReading{12.5, 1000}, 2.5, ""},
		{"older server without a start time", cpuReading{10, 0}, cpuReading{12.5, 0}, 2.5, ""},
		{"counter went back", cpuReading{10, 0}, cpuReading{0.2, 0}, 0, "counter went back"},
		{"start time changed", cpuReading{10, 1000}, cpuReading{11, 1060}, 0, "start time changed"},
		{"start time changed and counter went back", cpuReading{10, 1000}, cpuReading{0.2, 1060}, 0, "restarted during the run"},
	}
	for _, tt := range tests {
		got, err := cpuUsed(tt.before, tt.after)
		switch {
		case tt.wantErr == "" && (err != nil || got != tt.want):
			t.Errorf("%s: cpuUsed = %v, %v; want %v", tt.name, got, err, tt.want)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: cpuUsed = %v, %v; want an error saying %q", tt.name, got, err, tt.wantErr)
		}
	}
}
