// Package connlimit bounds the connections one client address holds open
// at once, so that the memory requests stalled on purpose hold (their
// headers, up to the server's MaxHeaderBytes, and buffers) is bounded per
// address rather than by what one machine can open.
package connlimit

import (
	"net"
	"sync"
)

// DefaultPerClient is the connections one client address may hold open at
// once by default: SDKs keep a few keep-alive connections, a browser six
// per host plus one live stream per tab, so a busy office or a fleet of
// workers behind one NAT address stays well under it.
const DefaultPerClient = 128

// Listener is a net.Listener that closes, as soon as it is accepted, a
// connection from a client address that already holds Max open ones. A
// refused connection costs a file descriptor for as long as it takes to
// close it, and no goroutine, buffer or TLS handshake.
type Listener struct {
	net.Listener
	// OnRefuse, when set before Accept is first called, is told of each
	// connection closed for being over the limit (to count and log it);
	// it runs in Accept, so it must not block.
	OnRefuse func(remote net.Addr)
	max      int
	mu       sync.Mutex
	open     map[string]int
}

// New limits ln to max open connections per client address (an IPv4
// address, or an IPv6 /64, which one subscriber usually holds whole).
func New(ln net.Listener, max int) *Listener {
	return &Listener{Listener: ln, max: max, open: map[string]int{}}
}

// Accept returns the next connection whose address is under its limit;
// those over it are closed.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key := clientKey(c.RemoteAddr())
		l.mu.Lock()
		n := l.open[key]
		if n < l.max {
			l.open[key] = n + 1
		}
		l.mu.Unlock()
		if n >= l.max {
			if l.OnRefuse != nil {
				l.OnRefuse(c.RemoteAddr())
			}
			c.Close()
			continue
		}
		return &conn{Conn: c, l: l, key: key}, nil
	}
}

func (l *Listener) release(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[key] <= 1 {
		delete(l.open, key)
		return
	}
	l.open[key]--
}

// conn gives its address's place back when closed, once however often
// net/http, TLS and a hijacker close it.
type conn struct {
	net.Conn
	l    *Listener
	key  string
	once sync.Once
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.key) })
	return err
}

// CloseWrite lets net/http half-close a TCP connection before closing it,
// as it does on the connection itself, so a response sent before the
// request body was read is not lost to a reset.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// clientKey is the address a connection counts against: its IP, or for
// IPv6 its /64.
func clientKey(a net.Addr) string {
	var ip net.IP
	switch a := a.(type) {
	case *net.TCPAddr:
		ip = a.IP
	default:
		host, _, err := net.SplitHostPort(a.String())
		if err != nil {
			return a.String()
		}
		ip = net.ParseIP(host)
		if ip == nil {
			return host
		}
	}
	if ip.To4() == nil {
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return ip.To4().String()
}
