package ops

import "testing"

func TestParseStatm(t *testing.T) {
	tests := []struct {
		in      string
		want    uint64
		wantErr bool
	}{
		{"27305 9412 2290 6940 0 14062 0\n", 9412 * 4096, false},
		{"1 0 0 0 0 0 0", 0, false},
		{"27305", 0, true},
		{"27305 x 2290", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		got, err := parseStatm(tt.in, 4096)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("parseStatm(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestResidentBytes(t *testing.T) {
	// A Go test binary is resident in more than a megabyte.
	if n, err := ResidentBytes(); err != nil || n < 1<<20 {
		t.Fatalf("ResidentBytes() = %d, %v; want > 1 MiB", n, err)
	}
}
