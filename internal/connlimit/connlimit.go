// Package connlimit bounds the connections one client address holds open
// at once, so that the memory requests stalled on purpose hold (their
// headers, up to the server's MaxHeaderBytes, and buffers) is bounded per
// address rather than by what one machine can open. Idle keep-alive
// connections do not count against a new one: an address at its limit
// gives up its longest-idle connection instead, so that many clients
// behind one NAT address are refused only when all their connections are
// busy, the shape of requests stalled on purpose.
package connlimit

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// DefaultPerClient is the connections one client address may hold open at
// once by default: SDKs keep a few keep-alive connections, a browser six
// per host plus one live stream per tab, so a busy office or a fleet of
// workers behind one NAT address stays well under it.
const DefaultPerClient = 128

// Listener is a net.Listener that bounds each client address to max open
// connections. A connection from an address that holds max is accepted
// in place of the address's longest-idle connection, which is closed
// (the idle one a client is least likely to reuse next: HTTP clients
// reuse their most recent one); when none of them is idle, the new
// connection is closed as soon as it is accepted. A refused connection
// costs a file descriptor for as long as it takes to close it, and no
// goroutine, buffer or TLS handshake.
//
// A connection is idle from when ConnState is told http.StateIdle until
// it is told another state, so the http.Server serving on the Listener
// must have ConnState as its hook; without it no connection is idle and
// every one over the limit is refused. An HTTP/1 connection is idle a
// moment earlier, from when its response is written: net/http clears the
// connection's write deadline then and only then tells the hook, so a
// client that read the response and at once opened another connection
// would otherwise find the address at its limit with nothing idle.
type Listener struct {
	net.Listener
	// OnRefuse, when set before Accept is first called, is told of each
	// connection closed for being over the limit (to count and log it);
	// it runs in Accept, so it must not block.
	OnRefuse func(remote net.Addr)
	max      int
	mu       sync.Mutex
	clients  map[string]*client
}

// client is what one address holds: its open connections and, oldest
// first, the idle ones among them.
type client struct {
	open       int
	idle, last *conn
}

// New limits ln to max open connections per client address (an IPv4
// address, or an IPv6 /64, which one subscriber usually holds whole).
func New(ln net.Listener, max int) *Listener {
	return &Listener{Listener: ln, max: max, clients: map[string]*client{}}
}

// Accept returns the next connection whose address is under its limit or
// has an idle connection to give up; the others are closed.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key := clientKey(c.RemoteAddr())
		l.mu.Lock()
		cl := l.clients[key]
		if cl == nil {
			cl = &client{}
			l.clients[key] = cl
		}
		var victim *conn
		ok := cl.open < l.max
		if !ok && cl.idle != nil {
			victim = cl.idle
			cl.unlink(victim)
			ok = true
		}
		if ok {
			// The victim keeps its place until its Close gives it back,
			// just below, so the address holds one more for a moment.
			cl.open++
		} else if cl.open == 0 {
			delete(l.clients, key)
		}
		l.mu.Unlock()
		if victim != nil {
			victim.Close()
		}
		if !ok {
			if l.OnRefuse != nil {
				l.OnRefuse(c.RemoteAddr())
			}
			c.Close()
			continue
		}
		return &conn{Conn: c, l: l, cl: cl, key: key}, nil
	}
}

// ConnState is the http.Server's ConnState hook that tells the Listener
// which of its connections are idle; it takes the connection as Accept
// returned it or, under TLS, the *tls.Conn around it. It costs one lock
// and no allocation, as it runs twice for every request.
func (l *Listener) ConnState(nc net.Conn, s http.ConnState) {
	if tc, ok := nc.(interface{ NetConn() net.Conn }); ok {
		nc = tc.NetConn()
	}
	c, ok := nc.(*conn)
	if !ok || c.l != l {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.released {
		return
	}
	c.active, c.deadlineSet = s == http.StateActive, false
	switch {
	case s == http.StateIdle && !c.idle:
		c.cl.push(c)
	case s != http.StateIdle && c.idle:
		c.cl.unlink(c)
	}
}

// writeDeadlineSet tells the Listener that c's write deadline was set,
// cleared when zero. net/http clears it once it has written an HTTP/1
// response, just before it tells the hook StateIdle, so a connection
// active since the hook last heard of it whose deadline is cleared is idle
// already. One whose deadline was set while active is not: a handler
// (ResponseController.SetWriteDeadline) or HTTP/2's writes
// (WriteByteTimeout) set it, and clear it while the connection is busy.
// A handler that clears a deadline it never set looks finished; none of
// Flytrap's does.
func (l *Listener) writeDeadlineSet(c *conn, zero bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case c.released || !c.active || c.idle:
	case !zero:
		c.deadlineSet = true
	case !c.deadlineSet:
		c.cl.push(c)
	}
}

func (l *Listener) release(c *conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c.released = true
	if c.idle {
		c.cl.unlink(c)
	}
	c.cl.open--
	if c.cl.open == 0 {
		delete(l.clients, c.key)
	}
}

// push appends c, gone idle, to the idle list; l.mu is held.
func (cl *client) push(c *conn) {
	c.idle = true
	c.prev, c.next = cl.last, nil
	if cl.last != nil {
		cl.last.next = c
	} else {
		cl.idle = c
	}
	cl.last = c
}

// unlink takes c out of the idle list; l.mu is held.
func (cl *client) unlink(c *conn) {
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		cl.idle = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		cl.last = c.prev
	}
	c.idle, c.prev, c.next = false, nil, nil
}

// conn gives its address's place back when closed, once however often
// net/http, TLS, a hijacker and Accept, making room, close it.
type conn struct {
	net.Conn
	l    *Listener
	cl   *client
	key  string
	once sync.Once
	// Guarded by l.mu: idle says c is in cl's idle list, between prev
	// and next; released, that its place was given back, after which
	// it is never idle again; active, that the hook was last told
	// http.StateActive, and deadlineSet, that a write deadline was set
	// since (see writeDeadlineSet).
	idle, released      bool
	active, deadlineSet bool
	prev, next          *conn
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c) })
	return err
}

// SetWriteDeadline tells the Listener, after setting the deadline, whether
// a response was written (see Listener.writeDeadlineSet).
func (c *conn) SetWriteDeadline(t time.Time) error {
	err := c.Conn.SetWriteDeadline(t)
	c.l.writeDeadlineSet(c, t.IsZero())
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
