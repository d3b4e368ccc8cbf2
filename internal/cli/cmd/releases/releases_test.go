package releases

import "testing"

func TestPercent(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	// At run time, not as an exact constant.
	share := 0.29
	for _, tt := range []struct {
		in   *float64
		want string
	}{
		{nil, "-"},
		{f(100), "100.00%"},
		{f(100 * (1 - 1.0/14)), "92.85%"}, // cut, not rounded to 92.86
		{f(99.999), "99.99%"},             // one crash in 100,000 is not 100%
		{f(share * 100), "29.00%"},        // 28.999999999999996
		{f(0), "0.00%"},
	} {
		if got := percent(tt.in); got != tt.want {
			t.Errorf("percent(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
