package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/bootstrap"
	"github.com/getflytrap/flytrap/internal/ingest"
)

// TestBusyServerRaisesGOGC: while events arrive at over 100 a second, the
// server runs the collector at BusyGCPercent, /metrics says so, and
// stopping the server puts back the GOGC and memory limit it found.
func TestBusyServerRaisesGOGC(t *testing.T) {
	prev := debug.SetGCPercent(100)
	prevLimit := debug.SetMemoryLimit(200 << 20)
	t.Cleanup(func() { debug.SetGCPercent(prev); debug.SetMemoryLimit(prevLimit) })
	ctx := context.Background()
	db := openDB(t)
	b, err := bootstrap.Ensure(ctx, db, bootstrap.Input{})
	if err != nil {
		t.Fatal(err)
	}
	s := New(db, Config{Ingest: ingest.Config{IPSalt: []byte("salt")}, Workers: 2, BusyGCPercent: 350},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	ln := httptest.NewUnstartedServer(nil).Listener
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx, ln) }()
	base := "http://" + ln.Addr().String()
	gogc := func() string {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		m := regexp.MustCompile(`(?m)^go_gc_gogc_percent (\d+)$`).FindSubmatch(body)
		if m == nil {
			t.Fatalf("no go_gc_gogc_percent in /metrics:\n%s", body)
		}
		return string(m[1])
	}
	if got := gogc(); got != "100" {
		t.Fatalf("idle server: GOGC %s, want 100", got)
	}

	// Eight senders keep the rate far above 100 a second until the
	// pacer's next tick has seen it.
	stop := make(chan struct{})
	var senders sync.WaitGroup
	url := base + "/api/" + itoa(b.Project.ID) + "/store/?sentry_key=" + b.Key.PublicKey
	for range 8 {
		senders.Add(1)
		go func() {
			defer senders.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := http.Post(url, "application/json", strings.NewReader(`{"message":"busy"}`))
				if err != nil {
					return
				}
				resp.Body.Close()
			}
		}()
	}
	deadline := time.Now().Add(20 * time.Second)
	got := gogc()
	for got != "350" && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		got = gogc()
	}
	close(stop)
	senders.Wait()
	if got != "350" {
		t.Errorf("busy server: GOGC %s, want 350", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if now := debug.SetGCPercent(100); now != 100 {
		t.Errorf("GOGC after the server stopped = %d, want the 100 it found", now)
	}
	if now := debug.SetMemoryLimit(-1); now != 200<<20 {
		t.Errorf("memory limit after the server stopped = %d, want the %d it found", now, 200<<20)
	}
}
