package connlimit

import (
	"net"
	"sync/atomic"
	"testing"
	"time"
)

func TestClientKey(t *testing.T) {
	for _, tt := range []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv4(203, 0, 113, 7), Port: 5}, "203.0.113.7"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:aaaa::1"), Port: 5}, "2001:db8:1:2::/64"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:bbbb::9"), Port: 6}, "2001:db8:1:2::/64"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:3::1"), Port: 5}, "2001:db8:1:3::/64"},
		{&net.UnixAddr{Name: "@", Net: "unix"}, "@"},
	} {
		if got := clientKey(tt.addr); got != tt.want {
			t.Errorf("clientKey(%v) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}

// TestListenerLimitsPerAddress accepts up to the limit from one address,
// closes the next one unaccepted, serves another address meanwhile, and
// counts a connection closed twice (net/http, then a hijacker) once.
func TestListenerLimitsPerAddress(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := New(inner, 2)
	defer ln.Close()
	var refused atomic.Int64
	ln.OnRefuse = func(net.Addr) { refused.Add(1) }
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	dial := func(local net.IP) net.Conn {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: local}}
		c, err := d.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	wait := func(what string) net.Conn {
		t.Helper()
		select {
		case c := <-accepted:
			return c
		case <-time.After(5 * time.Second):
			t.Fatalf("%s was not accepted", what)
			return nil
		}
	}
	one := net.IPv4(127, 0, 0, 1)
	dial(one)
	first := wait("the first connection")
	dial(one)
	wait("the second connection")
	over := dial(one)
	over.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := over.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("the third connection from one address: %v, want it closed", err)
	}
	if n := refused.Load(); n != 1 {
		t.Errorf("OnRefuse called %d times, want 1", n)
	}
	dial(net.IPv4(127, 0, 0, 2))
	wait("another address's connection")

	first.Close()
	first.Close()
	dial(one)
	wait("a connection after one was closed")
	over = dial(one)
	over.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := over.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("a closed connection's place was given back twice: %v", err)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
