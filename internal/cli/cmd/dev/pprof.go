package dev

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"

	"github.com/getflytrap/flytrap/internal/ops"
)

// checkPprofAddr accepts only loopback addresses: profiles show
// goroutines' stacks and heap contents' shapes, which nobody else needs.
func checkPprofAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%s is not a loopback address", host)
	}
	return nil
}

// servePprof serves pprofServer on ln until ctx ends.
func servePprof(ctx context.Context, ln net.Listener) {
	srv := pprofServer()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	// Profiling is a diagnostic: its failing must not stop the server.
	_ = srv.Serve(ln)
}

// pprofServer serves net/http/pprof's handlers. They are on a mux of their
// own, so the main server's never carries them; the main server's header
// bounds apply, as a request stalled here holds as much as one there.
func pprofServer() *http.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return &http.Server{Handler: mux, ReadHeaderTimeout: ops.ReadHeaderTimeout, MaxHeaderBytes: ops.MaxHeaderBytes}
}
