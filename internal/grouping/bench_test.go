package grouping

import (
	"fmt"
	"testing"

	"github.com/getflytrap/flytrap/internal/event"
)

// BenchmarkGroup fingerprints the events the processor groups most: an
// exception with 20 frames (half of them the app's), and a message.
func BenchmarkGroup(b *testing.B) {
	ex := event.Exception{Type: "TypeError", Value: "Cannot read properties of undefined (reading 'total')"}
	app := true
	for i := range 20 {
		var inApp *bool
		if i%2 == 0 {
			inApp = &app
		}
		ex.Frames = append(ex.Frames, event.Frame{Filename: fmt.Sprintf("/static/js/chunk-%d.a1b2c3d4.js", i%5),
			Function: fmt.Sprintf("handler%d", i), Lineno: 100 + i, Colno: 12, InApp: inApp,
			ContextLine: "  return order.summary.total;"})
	}
	tests := []struct {
		name string
		ev   event.Event
	}{
		{"exception", event.Event{Platform: "javascript", Exceptions: []event.Exception{ex}}},
		{"message", event.Event{Platform: "python", Message: "payment 4711 failed for order 0xdeadbeef after 3 retries"}},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			if g := Group(&tt.ev); len(g.Hash) != 32 {
				b.Fatalf("hash %q is not 32 hex characters", g.Hash)
			}
			b.ReportAllocs()
			for b.Loop() {
				Group(&tt.ev)
			}
		})
	}
}
