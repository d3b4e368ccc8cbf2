package bodydeadline

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const mib = 1 << 20

// TestDeadline: an event with a 20 MiB attachment over a 128 KiB/s link
// takes 160 s, and was refused 408 at the two-minute cap, losing the
// event. A body whose Content-Length needs longer at the minimum rate gets
// that long, while it keeps earning its time at that rate; a body of
// unknown length keeps the cap.
func TestDeadline(t *testing.T) {
	const rate = DefaultRate
	start := time.Unix(0, 0)
	for _, tt := range []struct {
		name           string
		length, got    int64
		wantAfterStart time.Duration
	}{
		{"20 MiB at 128 KiB/s, 120 s in", 20 * mib, 15 * mib, DefaultGrace + 15*mib*time.Second/rate},
		{"100 MiB stalled after 1 MiB", 100 * mib, 1 * mib, DefaultGrace + 1*mib*time.Second/rate},
		{"a small body keeps the cap", 1000, 1000, DefaultGrace + 1000*time.Second/rate},
		{"unknown length: the cap", -1, 50 * mib, MaxTime},
	} {
		b := &body{start: start, grace: DefaultGrace, rate: rate, received: tt.got,
			most: longest(tt.length, DefaultGrace, rate)}
		if got := b.deadline().Sub(start); got != tt.wantAfterStart {
			t.Errorf("%s: deadline %v after the start, want %v", tt.name, got, tt.wantAfterStart)
		}
	}
}

// TestSlowClient: through a real connection, a body that stalls is cut off
// after the grace, one sent steadily above the rate finishes however long
// it takes, and a request without a body keeps the server's timeouts.
func TestSlowClient(t *testing.T) {
	const grace, rate = 300 * time.Millisecond, 1000
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != http.NoBody && !Set(w, r, grace, rate) {
			t.Error("Set: no read deadlines on a real connection")
		}
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusRequestTimeout)
			return
		}
		fmt.Fprintf(w, "read %d", n)
	}))
	defer srv.Close()
	// send writes the request's head and then chunks of the body, one
	// every gap, and returns the answer's status line and how long it
	// took.
	send := func(length int, chunks []string, gap time.Duration) (string, time.Duration) {
		t.Helper()
		c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", length)
		go func() {
			for _, ch := range chunks {
				time.Sleep(gap)
				if _, err := io.WriteString(c, ch); err != nil {
					return
				}
			}
		}()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		line, _ := bufio.NewReader(c).ReadString('\n')
		return strings.TrimSpace(line), time.Since(start)
	}

	if line, took := send(100, []string{"x"}, 0); line != "HTTP/1.1 408 Request Timeout" || took > 2*time.Second {
		t.Errorf("a stalled body: %q after %v, want 408 after about %v", line, took, grace)
	}
	// 20 bytes every 10 ms is 2,000 B/s, twice the rate: 1,000 bytes take
	// half a second, longer than the grace.
	chunks := make([]string, 50)
	for i := range chunks {
		chunks[i] = strings.Repeat("y", 20)
	}
	if line, took := send(1000, chunks, 10*time.Millisecond); line != "HTTP/1.1 200 OK" || took < grace {
		t.Errorf("a steady body: %q after %v, want 200 after more than %v", line, took, grace)
	}
}

// TestHandler: Handler gives bodies a deadline and leaves requests without
// one alone, so a WebSocket's hijacked connection inherits none.
func TestHandler(t *testing.T) {
	var timed []bool
	srv := httptest.NewServer(Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, ok := Of(r)
		timed = append(timed, ok)
	})))
	defer srv.Close()
	for _, req := range []struct{ method, body string }{{"GET", ""}, {"POST", "a=b"}} {
		r, _ := http.NewRequest(req.method, srv.URL, strings.NewReader(req.body))
		if req.body == "" {
			r.Body = nil
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if len(timed) != 2 || timed[0] || !timed[1] {
		t.Errorf("deadlines set: %v, want [false true] (GET, POST)", timed)
	}
}

// TestSetTwice: a handler's own Set (ingest's flags) replaces the grace of
// Handler's, counted from the request's start, on the same body.
func TestSetTwice(t *testing.T) {
	var got time.Duration
	srv := httptest.NewServer(Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		first, _ := Of(r)
		inner := r.Body
		Set(w, r, time.Minute, DefaultRate)
		second, _ := Of(r)
		if r.Body != inner {
			t.Error("the second Set wrapped the body again")
		}
		got = second.Sub(first)
	})))
	defer srv.Close()
	resp, err := http.Post(srv.URL, "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got != time.Minute-DefaultGrace {
		t.Errorf("the second Set moved the deadline by %v, want %v", got, time.Minute-DefaultGrace)
	}
}
