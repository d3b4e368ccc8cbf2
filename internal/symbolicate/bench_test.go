//go:build unix

package symbolicate

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/artifact"
	"github.com/getflytrap/flytrap/internal/event"
)

// vlq appends n in the source-map base64 VLQ encoding.
func vlq(sb *strings.Builder, n int) {
	const digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	v := n << 1
	if n < 0 {
		v = (-n << 1) | 1
	}
	for {
		d := v & 31
		v >>= 5
		if v > 0 {
			d |= 32
		}
		sb.WriteByte(digits[d])
		if v == 0 {
			return
		}
	}
}

// bigMap is a source map of about size bytes shaped like a large bundle's:
// minified lines of many segments into 200 sources whose content it
// carries, with names. lines and perLine say where its mappings are.
func bigMap(size int) (body []byte, lines, perLine int) {
	const sources = 200
	rng := rand.New(rand.NewPCG(1, 2))
	var srcs, contents []string
	for i := range sources {
		srcs = append(srcs, fmt.Sprintf("webpack://shop/./src/module%03d.js", i))
		var c strings.Builder
		for l := range 120 {
			fmt.Fprintf(&c, "  const value%d = compute(input%d, options.flag%d); // line %d\n", l, l, l, l)
		}
		contents = append(contents, c.String())
	}
	names := make([]string, 500)
	for i := range names {
		names[i] = fmt.Sprintf("identifier%d", i)
	}
	perLine = 500
	var m strings.Builder
	prevSrc, prevLine, prevCol, prevName := 0, 0, 0, 0
	budget := size
	for i := range srcs {
		budget -= len(srcs[i]) + len(contents[i]) + 120 // escaped newlines
	}
	for m.Len() < budget {
		if lines > 0 {
			m.WriteByte(';')
		}
		lines++
		for s := range perLine {
			if s > 0 {
				m.WriteByte(',')
			}
			vlq(&m, 7+rng.IntN(20)) // generated column delta
			src, line, col := rng.IntN(sources), rng.IntN(120), rng.IntN(60)
			vlq(&m, src-prevSrc)
			vlq(&m, line-prevLine)
			vlq(&m, col-prevCol)
			prevSrc, prevLine, prevCol = src, line, col
			if s%3 == 0 {
				name := rng.IntN(len(names))
				vlq(&m, name-prevName)
				prevName = name
			}
		}
	}
	b, err := json.Marshal(map[string]any{"version": 3, "file": "app.min.js", "sources": srcs, "sourcesContent": contents,
		"names": names, "mappings": m.String()})
	if err != nil {
		panic(err)
	}
	return b, lines, perLine
}

// BenchmarkColdParse5MB parses a 5 MB map, as the first frame into a new
// release's bundle does. Target: under 100 ms.
func BenchmarkColdParse5MB(b *testing.B) {
	body, _, _ := bigMap(5 << 20)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	cpu := cpuTime(b)
	for b.Loop() {
		if pm := parseMap(body, DefaultMaxMapSize); pm.err != nil {
			b.Fatal(pm.err)
		}
	}
	b.ReportMetric(float64(len(body))/(1<<20), "MB")
	b.ReportMetric(float64((cpuTime(b)-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

// BenchmarkWarmFrames symbolicates events of 20 frames into a 5 MB map
// that is cached, as the steady state of a deployed release is, from
// several goroutines as the workers run. Target: at least 100,000
// frames/s.
func BenchmarkWarmFrames(b *testing.B) {
	body, lines, perLine := bigMap(5 << 20)
	const url = "https://shop.example.com/static/js/app.min.js"
	s := New(Config{Maps: &fakeMaps{byPath: map[string]artifact.Map{url: {Key: "big", Body: body}}}})
	const framesPerEvent = 20
	template := make([]event.Frame, framesPerEvent)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range template {
		template[i] = event.Frame{AbsPath: url, Function: "a", Lineno: 1 + rng.IntN(lines), Colno: 1 + rng.IntN(perLine*10)}
	}
	warm := event.Event{ProjectID: 1, Exceptions: []event.Exception{{Frames: append([]event.Frame(nil), template...)}}}
	if err := s.Symbolicate(context.Background(), &warm); err != nil {
		b.Fatal(err)
	}
	for _, f := range warm.Exceptions[0].Frames {
		if f.Unmapped != "" || !strings.HasPrefix(f.AbsPath, "webpack://shop/") || f.ContextLine == "" {
			b.Fatalf("frame not mapped: %+v", f)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ev := event.Event{ProjectID: 1, Exceptions: []event.Exception{{Frames: append([]event.Frame(nil), template...)}}}
			if err := s.Symbolicate(context.Background(), &ev); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*framesPerEvent)/b.Elapsed().Seconds(), "frames/s")
}

// cpuTime is the CPU time the process has used. On a machine shared with
// other work, wall time per operation says more about the neighbours than
// about the code; CPU time per operation does not (the garbage collector's
// background work is in it too).
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
