package event

import "testing"

func TestSyntheticTitle(t *testing.T) {
	synthetic := &Mechanism{Type: "generic", Synthetic: true}
	tests := []struct {
		name string
		ev   Event
		want string
	}{
		{"captureMessage with attachStacktrace", Event{Message: "Checkout total mismatch",
			Exceptions: []Exception{{Value: "Checkout total mismatch", Mechanism: synthetic, Frames: []Frame{{Filename: "app.js"}}}}},
			"Checkout total mismatch"},
		{"synthetic type is not the title", Event{Message: "crash",
			Exceptions: []Exception{{Type: "EXC_BAD_ACCESS", Value: "v", Mechanism: synthetic}}}, "crash"},
		{"synthetic without message: its value", Event{Exceptions: []Exception{{Type: "SIGSEGV", Value: "Segfault", Mechanism: synthetic}}},
			"Segfault"},
		{"not synthetic: type and value", Event{Message: "m", Exceptions: []Exception{{Type: "SIGSEGV", Value: "Segfault",
			Mechanism: &Mechanism{Type: "signalhandler"}}}}, "SIGSEGV: Segfault"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.ev.Title(); got != tt.want {
				t.Errorf("Title() = %q, want %q", got, tt.want)
			}
		})
	}
}
