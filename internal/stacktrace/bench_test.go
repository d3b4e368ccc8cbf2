package stacktrace

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkParse parses the text stacks the Flytrap SDKs send, 20 frames
// each: the processor's parse stacks stage for one exception.
func BenchmarkParse(b *testing.B) {
	var v8, firefox, python strings.Builder
	v8.WriteString("TypeError: Cannot read properties of undefined (reading 'total')\n")
	python.WriteString("Traceback (most recent call last):\n")
	for i := range 20 {
		fmt.Fprintf(&v8, "    at handler%d (https://shop.example.com/static/js/chunk-%d.js:%d:12)\n", i, i%5, 100+i)
		fmt.Fprintf(&firefox, "handler%d@https://shop.example.com/static/js/chunk-%d.js:%d:12\n", i, i%5, 100+i)
		fmt.Fprintf(&python, "  File \"/srv/app/shop/views_%d.py\", line %d, in handler%d\n    total = order.summary.total\n", i%5, 100+i, i)
	}
	python.WriteString("AttributeError: 'NoneType' object has no attribute 'total'\n")
	tests := []struct {
		name, stack string
	}{
		{"v8", v8.String()},
		{"firefox", firefox.String()},
		{"python", python.String()},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			if n := len(Parse(tt.stack)); n != 20 {
				b.Fatalf("parsed %d frames, want 20", n)
			}
			b.SetBytes(int64(len(tt.stack)))
			b.ReportAllocs()
			for b.Loop() {
				Parse(tt.stack)
			}
		})
	}
}
