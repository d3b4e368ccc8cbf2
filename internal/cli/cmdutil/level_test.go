package cmdutil

import "testing"

func TestLevel(t *testing.T) {
	for in, want := range map[string]string{"": "", "error": "error", "Warning": "warning", "FATAL": "fatal"} {
		if got, err := Level(in); err != nil || got != want {
			t.Errorf("Level(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"err", "warn", "critical", " error"} {
		if _, err := Level(in); err == nil {
			t.Errorf("Level(%q) accepted", in)
		} else if code, _ := ExitCode(err); code != ExitUsage {
			t.Errorf("Level(%q): exit %d, want %d", in, code, ExitUsage)
		}
	}
}
