package grouping

import (
	"fmt"
	"testing"

	"github.com/getflytrap/flytrap/internal/event"
)

// BenchmarkGroup fingerprints the events the processor groups most: an
// exception with 20 frames (half of them the app's), and a message; then
// the platforms whose generated names grouping rewrites (PHP paths, Java
// codegen classes), and a fingerprint with variables.
func BenchmarkGroup(b *testing.B) {
	app := true
	frames := func(frame func(i int) event.Frame) []event.Frame {
		var out []event.Frame
		for i := range 20 {
			f := frame(i)
			if i%2 == 0 {
				f.InApp = &app
			}
			out = append(out, f)
		}
		return out
	}
	js := event.Exception{Type: "TypeError", Value: "Cannot read properties of undefined (reading 'total')",
		Frames: frames(func(i int) event.Frame {
			return event.Frame{Filename: fmt.Sprintf("/static/js/chunk-%d.a1b2c3d4.js", i%5),
				Function: fmt.Sprintf("handler%d", i), Lineno: 100 + i, Colno: 12,
				ContextLine: "  return order.summary.total;"}
		})}
	php := event.Exception{Type: "ErrorException", Value: "Undefined array key \"total\"",
		Frames: frames(func(i int) event.Frame {
			return event.Frame{Filename: fmt.Sprintf("/var/www/shop/releases/42/src/Order/Handler%d.php", i%5),
				Function: fmt.Sprintf("App\\Order\\Handler%d::handle", i), Lineno: 100 + i}
		})}
	java := event.Exception{Type: "java.lang.IllegalStateException", Value: "order has no total",
		Frames: frames(func(i int) event.Frame {
			// Of the in-app (even) frames, one in four a lambda and one
			// in four a Spring proxy; the others inner classes.
			module, function := fmt.Sprintf("com.example.shop.OrderService%d", i), "process"
			switch i % 8 {
			case 0:
				module += "$$Lambda$1234/0x0000000800c0a440"
				function = "run"
			case 2:
				function = fmt.Sprintf("lambda$process$%d", i)
			case 4:
				module += "$$SpringCGLIB$$0"
			default:
				module += "$Validator"
			}
			return event.Frame{Filename: fmt.Sprintf("OrderService%d.java", i), Module: module, Function: function, Lineno: 100 + i}
		})}
	tests := []struct {
		name string
		ev   event.Event
	}{
		{"exception", event.Event{Platform: "javascript", Exceptions: []event.Exception{js}}},
		{"message", event.Event{Platform: "python", Message: "payment 4711 failed for order 0xdeadbeef after 3 retries"}},
		{"php", event.Event{Platform: "php", Exceptions: []event.Exception{php}}},
		{"java", event.Event{Platform: "java", Exceptions: []event.Exception{java}}},
		{"fingerprint variables", event.Event{Platform: "javascript", Exceptions: []event.Exception{js}, Transaction: "/checkout",
			Tags:        []event.Tag{{Key: "region", Value: "eu-west-1"}},
			Fingerprint: []string{"{{ default }}", "{{ transaction }}", "{{ function }}", "{{ tags.region }}"}}},
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
