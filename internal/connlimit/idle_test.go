package connlimit

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// idleServer serves, on a Listener limited to max (under TLS, HTTP/2 as
// well), / at once, /block
// until unblock is closed and /hijack by hijacking the connection; idle
// is sent to each time a connection goes idle and busy each time a
// handler holds its connection.
type idleServer struct {
	ln      *Listener
	dial    func() *rawClient
	idle    chan struct{}
	busy    chan struct{}
	refused atomic.Int64
	// url and client are httptest's, for clients of its own making.
	url    string
	client func() *http.Client
}

func newIdleServer(t *testing.T, max int, useTLS bool) *idleServer {
	t.Helper()
	s := &idleServer{idle: make(chan struct{}, 4*max+16), busy: make(chan struct{}, 16)}
	unblock := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("/block", func(w http.ResponseWriter, r *http.Request) {
		s.busy <- struct{}{}
		<-unblock
	})
	mux.HandleFunc("/hijack", func(w http.ResponseWriter, r *http.Request) {
		c, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		s.busy <- struct{}{}
		<-unblock
		c.Close()
	})
	srv := httptest.NewUnstartedServer(mux)
	inner := srv.Listener
	s.ln = New(inner, max)
	s.ln.OnRefuse = func(net.Addr) { s.refused.Add(1) }
	srv.Listener = s.ln
	srv.Config.ConnState = func(c net.Conn, st http.ConnState) {
		s.ln.ConnState(c, st)
		if st == http.StateIdle {
			s.idle <- struct{}{}
		}
	}
	if useTLS {
		srv.EnableHTTP2 = true
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(unblock) })
	s.url, s.client = srv.URL, srv.Client
	addr := inner.Addr().String()
	s.dial = func() *rawClient {
		t.Helper()
		var c net.Conn
		var err error
		if useTLS {
			c, err = tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
		} else {
			c, err = net.Dial("tcp", addr)
		}
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		t.Cleanup(func() { c.Close() })
		return &rawClient{c: c, r: bufio.NewReader(c)}
	}
	return s
}

// wait waits for what ch signals.
func wait(t *testing.T, ch chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// rawClient sends HTTP/1.1 requests on one connection, so a test knows
// which connection each request used.
type rawClient struct {
	c net.Conn
	r *bufio.Reader
}

func (c *rawClient) send(path string) {
	c.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c.c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path)
}

// get sends a request for path and reads its answer.
func (c *rawClient) get(path string) error {
	c.send(path)
	c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// closed says whether the server closed c, reading at most 5 s.
func (c *rawClient) closed() bool {
	c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := c.r.ReadByte()
	return err != nil && !isTimeout(err)
}

// TestIdleConnectionsMakeRoom fills an address's limit with idle
// keep-alive connections, one of which went idle, active and idle again,
// and one busy; a new connection is served in place of the longest-idle
// one, in plain HTTP and under TLS, where the hook sees the *tls.Conn.
func TestIdleConnectionsMakeRoom(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", useTLS), func(t *testing.T) {
			s := newIdleServer(t, DefaultPerClient, useTLS)
			var conns []*rawClient
			for i := range DefaultPerClient {
				c := s.dial()
				if err := c.get("/"); err != nil {
					t.Fatalf("connection %d: %v", i, err)
				}
				wait(t, s.idle, fmt.Sprintf("connection %d to go idle", i))
				conns = append(conns, c)
			}
			// The first goes active and idle again: the second is now the
			// longest idle. The third is busy, and not given up.
			if err := conns[0].get("/"); err != nil {
				t.Fatal(err)
			}
			wait(t, s.idle, "the first connection to go idle again")
			conns[2].send("/block")
			wait(t, s.busy, "the third connection's handler")

			if err := s.dial().get("/"); err != nil {
				t.Fatalf("connection %d from an address whose others are idle: %v", DefaultPerClient+1, err)
			}
			if !conns[1].closed() {
				t.Error("the longest-idle connection was not closed")
			}
			if err := conns[0].get("/"); err != nil {
				t.Errorf("the connection that went idle again was closed: %v", err)
			}
			if n := s.refused.Load(); n != 0 {
				t.Errorf("%d connections refused, want 0", n)
			}
		})
	}
}

// TestBusyConnectionsAreKept: an address at its limit whose connection is
// in a handler, has sent nothing yet or was hijacked (a WebSocket) has
// nothing to give up, so a new connection is refused.
func TestBusyConnectionsAreKept(t *testing.T) {
	for _, path := range []string{"/block", "", "/hijack"} {
		t.Run("path="+path, func(t *testing.T) {
			s := newIdleServer(t, 1, false)
			c := s.dial()
			if path != "" {
				c.send(path)
				wait(t, s.busy, "the handler")
			}
			if err := s.dial().get("/"); err == nil || isTimeout(err) {
				t.Fatalf("a connection over the limit of a busy address: %v, want it closed", err)
			}
			if n := s.refused.Load(); n != 1 {
				t.Errorf("%d connections refused, want 1", n)
			}
		})
	}
}

// TestIdleHTTP2ConnectionMakesRoom: an HTTP/2 connection with no request
// open is idle too (the HTTP/2 server tells the hook so, with the
// *tls.Conn), and gives way to a new one.
func TestIdleHTTP2ConnectionMakesRoom(t *testing.T) {
	s := newIdleServer(t, 1, true)
	for i := range 2 {
		// Each its own client, so its own connection.
		tr := s.client().Transport.(*http.Transport).Clone()
		t.Cleanup(tr.CloseIdleConnections)
		resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get(s.url)
		if err != nil {
			t.Fatalf("client %d: %v", i+1, err)
		}
		resp.Body.Close()
		if resp.ProtoMajor != 2 {
			t.Fatalf("client %d spoke %s, want HTTP/2", i+1, resp.Proto)
		}
		wait(t, s.idle, fmt.Sprintf("client %d's connection to go idle", i+1))
	}
}

// TestFinishedResponseMakesRoom: a connection whose response was written
// but whose goroutine has not yet told the hook it is idle gives way to a
// new one, as an idle one does: a client that read its answer and at once
// opened another connection found its address at the limit with nothing
// idle, and was refused. The hook holds the first connection's StateIdle
// until the second was answered, so the window is no race. (httptest's
// server takes a lock of its own around the hook, which would hold every
// connection, so the server is net/http's.)
func TestFinishedResponseMakesRoom(t *testing.T) {
	// httptest's certificate, for a TLS listener of this test's own.
	certs := httptest.NewTLSServer(http.NotFoundHandler())
	certs.Close()
	for _, useTLS := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", useTLS), func(t *testing.T) {
			inner, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ln := New(inner, 1)
			var refused atomic.Int64
			ln.OnRefuse = func(net.Addr) { refused.Add(1) }
			held, release := make(chan struct{}, 4), make(chan struct{})
			srv := &http.Server{
				Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}),
				ConnState: func(c net.Conn, st http.ConnState) {
					if st == http.StateIdle {
						held <- struct{}{}
						<-release
					}
					ln.ConnState(c, st)
				},
			}
			var serving net.Listener = ln
			if useTLS {
				serving = tls.NewListener(ln, &tls.Config{Certificates: certs.TLS.Certificates})
			}
			go srv.Serve(serving)
			t.Cleanup(func() {
				close(release)
				srv.Close()
			})
			dial := func() *rawClient {
				var c net.Conn
				var err error
				if useTLS {
					c, err = tls.Dial("tcp", inner.Addr().String(), &tls.Config{InsecureSkipVerify: true})
				} else {
					c, err = net.Dial("tcp", inner.Addr().String())
				}
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				t.Cleanup(func() { c.Close() })
				return &rawClient{c: c, r: bufio.NewReader(c)}
			}

			first := dial()
			if err := first.get("/"); err != nil {
				t.Fatal(err)
			}
			wait(t, held, "the first connection's hook to be held")
			if err := dial().get("/"); err != nil {
				t.Fatalf("a connection while the other's answered one was not yet idle: %v", err)
			}
			if !first.closed() {
				t.Error("the answered connection was not closed")
			}
			if n := refused.Load(); n != 0 {
				t.Errorf("%d connections refused, want 0", n)
			}
		})
	}
}

// TestWriteDeadlineOfABusyConnection: a connection whose handler set a
// write deadline and cleared it is still busy, and is not given up.
func TestWriteDeadlineOfABusyConnection(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := New(inner, 1)
	defer ln.Close()
	done := make(chan struct{})
	defer close(done)
	mux := http.NewServeMux()
	entered := make(chan struct{}, 1)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		rc.SetWriteDeadline(time.Now().Add(time.Minute))
		rc.SetWriteDeadline(time.Time{})
		entered <- struct{}{}
		<-done
	})
	srv := &http.Server{Handler: mux, ConnState: ln.ConnState}
	go srv.Serve(ln)
	defer srv.Close()
	busy, err := net.Dial("tcp", inner.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	fmt.Fprintf(busy, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	wait(t, entered, "the handler")
	c, err := net.Dial("tcp", inner.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rc := &rawClient{c: c, r: bufio.NewReader(c)}
	if err := rc.get("/"); err == nil || isTimeout(err) {
		t.Fatalf("a connection over the limit of a busy address: %v, want it closed", err)
	}
}
