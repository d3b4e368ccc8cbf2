package dev

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/ops"
)

func TestCheckPprofAddr(t *testing.T) {
	tests := []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:6060", true},
		{"127.0.0.2:0", true},
		{"[::1]:6060", true},
		{"localhost:6060", true},
		{"0.0.0.0:6060", false},
		{":6060", false},
		{"10.1.2.3:6060", false},
		{"example.com:6060", false},
		{"127.0.0.1", false},
	}
	for _, tt := range tests {
		if err := checkPprofAddr(tt.addr); (err == nil) != tt.ok {
			t.Errorf("checkPprofAddr(%q) = %v, want ok %v", tt.addr, err, tt.ok)
		}
	}
}

func TestServePprof(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		servePprof(ctx, ln)
		close(done)
	}()
	resp, err := http.Get("http://" + ln.Addr().String() + "/debug/pprof/heap?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "HeapAlloc") {
		t.Errorf("heap profile: %d %.200s", resp.StatusCode, b)
	}
	// The main server's header bounds, where Go's defaults were a 1 MiB
	// header and no timeout.
	req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/debug/pprof/", nil)
	req.Header.Set("X-Big", strings.Repeat("x", ops.MaxHeaderBytes+8<<10))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("a header over ops.MaxHeaderBytes: %v %v, want 431", resp, err)
	} else {
		resp.Body.Close()
	}
	if got := pprofServer().ReadHeaderTimeout; got != ops.ReadHeaderTimeout {
		t.Errorf("ReadHeaderTimeout = %v, want ops.ReadHeaderTimeout", got)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("servePprof did not stop when its context ended")
	}
}
