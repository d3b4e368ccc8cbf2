// Package bodydeadline gives a request body a read deadline that moves with
// its progress, so a client that announces a body and trickles it, or
// stalls, loses its connection within seconds instead of holding it for the
// server's whole read timeout, while a slow but steady upload finishes.
//
// Ingest sets it on every event request with its own flags (--body-timeout,
// --min-body-rate); Handler sets it with the defaults on every other
// request that has a body: sign-in and other forms, the REST API. Source
// map uploads, once their token is checked, set it again with the server's
// upload rate (DefaultUploadRate unless configured).
package bodydeadline

import (
	"io"
	"net/http"
	"time"
)

const (
	// DefaultGrace and DefaultRate give a client 10 s plus 1 s per
	// 32 KiB it has sent to finish its body: a 1 MiB body may take 42 s,
	// a form that announced its length and stalls is cut off after 10 s.
	DefaultGrace = 10 * time.Second
	DefaultRate  = 32 << 10
	// MaxTime caps the time a body of unknown length, or one that could
	// finish sooner at the rate, may take: the server-wide read timeout
	// bodies had before they had deadlines of their own.
	MaxTime = 2 * time.Minute
	// DefaultUploadRate is the rate an authenticated upload (source
	// maps, with an API token that may write) must keep up unless the
	// server sets another (flytrap dev's --min-upload-rate): sentry-cli
	// sends 4 chunk requests at once, so DefaultRate would demand about
	// 1 Mbit/s of a CI runner's uplink, and a slower one lost its upload.
	// Such an upload is bounded by its size limits and its token instead;
	// a stalled one is still cut off after the grace.
	DefaultUploadRate = 1 << 10
)

// Set gives r's body a read deadline: grace, plus a second per rate bytes
// received, at most MaxTime, or the time its Content-Length takes at the
// rate when that is longer (a 20 MiB attachment over a 128 KiB/s link
// takes 160 s and must not be lost at 120 s). A read past the deadline
// fails and the connection is closed. A second Set on a body (ingest's,
// after Handler's) replaces the grace and rate, counted from the first.
// It reports false, leaving r as it was, when the connection has no read
// deadlines (a test recorder, the Lambda adapter): the body is in memory
// already.
func Set(w http.ResponseWriter, r *http.Request, grace time.Duration, rate int64) bool {
	if b, ok := r.Body.(*body); ok {
		b.grace, b.rate, b.most = grace, rate, longest(r.ContentLength, grace, rate)
		_ = b.rc.SetReadDeadline(b.deadline()) // supported: the first Set set one
		return true
	}
	b := &body{ReadCloser: r.Body, rc: http.NewResponseController(w), start: time.Now(), grace: grace, rate: rate,
		most: longest(r.ContentLength, grace, rate)}
	if b.rc.SetReadDeadline(b.deadline()) != nil {
		return false
	}
	r.Body = b
	return true
}

// Of returns the deadline r's body must arrive by as it stands, and false
// when Set did not give it one.
func Of(r *http.Request) (time.Time, bool) {
	if b, ok := r.Body.(*body); ok {
		return b.deadline(), true
	}
	return time.Time{}, false
}

// Handler calls Set with DefaultGrace and DefaultRate on every request
// with a body before next sees it. Requests without one, the WebSocket
// handshake among them, keep the server's timeouts: a deadline would
// outlive the handshake on the hijacked connection. A handler that sets
// its own deadlines (ingest, with its flags) calls Set again, and its
// grace and rate are the ones that hold.
func Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			Set(w, r, DefaultGrace, DefaultRate)
		}
		next.ServeHTTP(w, r)
	})
}

// longest is the longest a body of length bytes (-1: unknown) may take at
// the rate: MaxTime, or more for a body that needs more at the rate.
func longest(length int64, grace time.Duration, rate int64) time.Duration {
	if length <= 0 {
		return MaxTime
	}
	return max(MaxTime, grace+time.Duration(float64(length)/float64(rate)*float64(time.Second)))
}

// body extends its connection's read deadline as bytes arrive.
type body struct {
	io.ReadCloser
	rc       *http.ResponseController
	start    time.Time
	grace    time.Duration
	rate     int64
	received int64
	most     time.Duration // the longest the body may take
}

func (b *body) deadline() time.Time {
	earned := time.Duration(float64(b.received) / float64(b.rate) * float64(time.Second))
	return b.start.Add(min(b.grace+earned, b.most))
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.received += int64(n)
	switch {
	case err == io.EOF:
		// net/http reads ahead to notice a client hanging up, and a
		// deadline passing there would cancel the request's context
		// while the handler still works on the body.
		_ = b.rc.SetReadDeadline(time.Time{})
	case n > 0:
		_ = b.rc.SetReadDeadline(b.deadline()) // supported: Set set the first one
	}
	return n, err
}
