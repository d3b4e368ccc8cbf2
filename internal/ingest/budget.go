package ingest

import (
	"fmt"
	"net/http"
	"sync/atomic"
)

// overloadRetryAfter is the Retry-After, in seconds, of a request refused
// because the budget is spent: bodies in flight are done in milliseconds,
// and a Sentry SDK pauses all sending for that long, so it stays short.
const overloadRetryAfter = 1

// budget bounds what all of a Handler's requests hold at once: the bytes of
// body kept in memory (decoded, or as sent when not encoded) and the number
// of decompressors, whose windows (up to 16 MiB for brotli) are the memory
// a body does not account for. Without it, each request is bounded but
// concurrent ones are not: a hundred 77-byte bombs held gigabytes.
type budget struct {
	maxBytes, maxDecodes int64
	bytes, decodes       atomic.Int64
}

// take adds n to used unless that passes limit. Concurrent takers may see
// each other's transient additions and be refused a little early, never
// late.
func take(used *atomic.Int64, n, limit int64) bool {
	if used.Add(n) > limit {
		used.Add(-n)
		return false
	}
	return true
}

// lease is one request's share of the budget. Its methods are not safe for
// concurrent use; a request reads its body from one goroutine.
type lease struct {
	b        *budget
	bytes    int64
	window   int64 // a decoder's window, held until the decode ends
	decoding bool
}

// grow charges n more bytes, before they are allocated.
func (l *lease) grow(n int64) bool {
	if !take(&l.b.bytes, n, l.b.maxBytes) {
		return false
	}
	l.bytes += n
	return true
}

// chargeWindow charges a decompressor's window, which it allocates as it
// decodes and frees when the decode ends.
func (l *lease) chargeWindow(n int64) bool {
	if !take(&l.b.bytes, n, l.b.maxBytes) {
		return false
	}
	l.window += n
	return true
}

// startDecode takes a decompressor slot.
func (l *lease) startDecode() bool {
	l.decoding = take(&l.b.decodes, 1, l.b.maxDecodes)
	return l.decoding
}

// endDecode gives the decompressor slot back once the body is decoded,
// before the request is done with the bytes.
func (l *lease) endDecode() {
	if l.window != 0 {
		l.b.bytes.Add(-l.window)
		l.window = 0
	}
	if l.decoding {
		l.b.decodes.Add(-1)
		l.decoding = false
	}
}

// release returns everything the lease holds.
func (l *lease) release() {
	l.endDecode()
	l.b.bytes.Add(-l.bytes)
	l.bytes = 0
}

// overloaded refuses a request the budget has no room for. It is a 503,
// not a 429: the server is busy, the project is not over any quota, so no
// X-Sentry-Rate-Limits header is sent.
func overloaded(what string) *apiError {
	return &apiError{status: http.StatusServiceUnavailable, code: "overloaded", reason: ReasonOverloaded, retryAfter: overloadRetryAfter,
		msg: fmt.Sprintf("the server is %s right now; retry in %d second", what, overloadRetryAfter)}
}
