package ingest

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/zlib"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Sizes on the body-reading path.
const (
	// maxEnvelopeHeaderBytes bounds an envelope's header lines: the first
	// (decoded before its dsn's key is checked) and each item's. SDK
	// headers (event_id, dsn, sdk, sent_at, trace) take well under 4 KiB.
	maxEnvelopeHeaderBytes = 64 << 10
	// firstReadSize is the buffer a body of unknown size starts with;
	// most events fit.
	firstReadSize = 16 << 10
	// maxZstdWindow caps the history a zstd decoder keeps (the format
	// recommends decoders support 8 MiB), so each concurrent decode holds
	// at most this much beside the body.
	maxZstdWindow = 8 << 20
	// maxBrotliWindow is the largest window a standard brotli stream
	// declares.
	maxBrotliWindow = 16 << 20
)

var (
	errOverLimit   = errors.New("ingest: the body is over its size limit")
	errRawTooLarge = errors.New("ingest: the body as sent is over MaxBodyBytes")
)

// chargedBuffer accumulates a stream in memory, charging every growth of
// its buffer to a lease before allocating it, so that the bytes held by all
// requests stay within the handler's budget whatever the senders claim.
type chargedBuffer struct {
	lease *lease
	limit int64 // bytes allowed; one more is an error
	known int64 // the stream's size when the sender stated it, else -1
	buf   []byte
	eof   bool
}

// grow makes room for more bytes. Buffers double, so bodies of unknown
// size cost amortized linear copying, and never exceed the stated size or
// the limit by more than one byte, the one that shows the end or the
// overflow.
func (c *chargedBuffer) grow() error {
	have := int64(cap(c.buf))
	next := min(max(2*have, firstReadSize), c.limit+1)
	if c.known >= 0 {
		next = min(next, c.known+1)
	}
	if next <= have {
		return errOverLimit
	}
	if err := c.lease.grow(next - have); err != nil {
		return err
	}
	nb := make([]byte, len(c.buf), next)
	copy(nb, c.buf)
	c.buf = nb
	return nil
}

// fill reads from src until done reports the buffered bytes are enough or
// src ends.
func (c *chargedBuffer) fill(src io.Reader, done func([]byte) bool) error {
	for !c.eof && !done(c.buf) {
		if len(c.buf) == cap(c.buf) {
			if err := c.grow(); err != nil {
				return err
			}
		}
		n, err := src.Read(c.buf[len(c.buf):cap(c.buf)])
		c.buf = c.buf[:len(c.buf)+n]
		if int64(len(c.buf)) > c.limit {
			return errOverLimit
		}
		if err == io.EOF {
			c.eof = true
		} else if err != nil {
			return err
		}
	}
	return nil
}

// body is a request body, decoded as it arrives.
type body struct {
	chargedBuffer
	raw    *rawReader
	enc    string    // the Content-Encoding; "" for none
	src    io.Reader // the decoded stream
	free   func()    // releases the decoder's resources; may be nil
	window int64     // the zstd window allowed
}

// openBody starts reading the request body of project (0 while its key is
// not checked yet), at most maxRaw bytes as sent and limit decoded. It
// takes no memory beyond a decoder's state before the caller asks for
// bytes, so authentication can come between. The caller must release the
// body once done with its bytes.
func (h *Handler) openBody(r *http.Request, project, maxRaw, limit int64) (*body, *apiError) {
	if r.ContentLength > maxRaw {
		return nil, tooLarge("the request body is %d bytes; the limit is %d bytes", r.ContentLength, maxRaw)
	}
	// Held after the key and the rate limit, which refuse at once.
	h.pace(r.Context())
	l := &lease{b: h.budget, holder: holder{project: project}, client: clientKey(h.clientIP(r))}
	if project == 0 {
		l.holder.client = l.client
	}
	b := &body{
		chargedBuffer: chargedBuffer{lease: l, limit: limit, known: -1},
		raw:           &rawReader{r: r.Body, max: maxRaw},
		enc:           strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))),
	}
	if b.enc == "" || b.enc == "identity" {
		b.enc, b.src, b.known = "", b.raw, r.ContentLength
		return b, nil
	}
	// A decoder slot is taken once the client has sent something: one
	// that sends nothing must not hold one of the few slots until its
	// deadline (16 such requests stopped every compressed event).
	if err := b.raw.await(); err != nil {
		return nil, b.fail(err)
	}
	if err := b.lease.startDecode(h.bodyDeadline(r), r.Context().Done()); err != nil {
		return nil, budgetError(err)
	}
	if aerr := b.openDecoder(); aerr != nil {
		b.release()
		return nil, aerr
	}
	return b, nil
}

// readBody reads a whole body of at most one event's worth (the store,
// Flytrap and security endpoints), charged to project. The caller
// releases the body once done with its bytes.
func (h *Handler) readBody(r *http.Request, project int64) (*body, []byte, *apiError) {
	b, aerr := h.openBody(r, project, h.cfg.MaxBodyBytes, h.cfg.MaxEventBytes)
	if aerr != nil {
		return nil, nil, aerr
	}
	data, aerr := b.all()
	if aerr != nil {
		b.release()
		return nil, nil, aerr
	}
	return b, data, nil
}

// openDecoder sets src to a decoder of the body's Content-Encoding.
func (b *body) openDecoder() *apiError {
	var err error
	switch b.enc {
	case "gzip", "x-gzip":
		var z *gzip.Reader
		if z, err = newGzipReader(b.raw); err == nil {
			b.src, b.free = z, func() { gzipReaders.Put(z) }
		}
	case "deflate":
		// RFC 9110 says zlib-wrapped, but browsers' CompressionStream
		// ("deflate-raw") and some servers send raw DEFLATE.
		br := bufio.NewReader(b.raw)
		head, _ := br.Peek(2) // a short or failed peek fails the decode below
		if isZlib(head) {
			b.src, err = zlib.NewReader(br)
		} else {
			b.src = flate.NewReader(br)
		}
	case "br":
		// A brotli decoder's ring buffer is as large as the window the
		// stream declares in its first byte, up to 16 MiB for 77 bytes
		// sent, so it is charged to the budget before the decoder exists.
		br := bufio.NewReaderSize(b.raw, 16)
		head, _ := br.Peek(1) // an empty or failed peek fails the decode below
		b.window = brotliWindow(head)
		if err := b.lease.chargeWindow(b.window); err != nil {
			return budgetError(err)
		}
		b.src = brotli.NewReader(br)
	case "zstd":
		b.window = min(max(b.limit, zstd.MinWindowSize), maxZstdWindow)
		if err := b.lease.chargeWindow(b.window); err != nil {
			return budgetError(err)
		}
		var d *zstd.Decoder
		d, err = zstd.NewReader(b.raw, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(uint64(b.window)))
		if err == nil {
			b.src, b.free = d, d.Close
		}
	default:
		return &apiError{status: http.StatusUnsupportedMediaType, code: "unsupported_encoding", reason: ReasonBadRequest,
			msg: fmt.Sprintf("Content-Encoding %q is not supported; use gzip, deflate, br or zstd (one encoding, not a list)", b.enc)}
	}
	if err != nil {
		return b.fail(err)
	}
	return nil
}

// gzipReaders holds gzip readers between requests: a new one allocates
// and clears a 32 KiB window and its Huffman tables, which cost more CPU
// than inflating a typical 1 KB event (docs/benchmarks.md). The readers
// are klauspost/compress's (linked for zstd already), which inflate event
// JSON 1.1 to 1.5x faster than compress/gzip's (BenchmarkInflate).
var gzipReaders sync.Pool

// newGzipReader returns a pooled gzip reader reading r.
func newGzipReader(r io.Reader) (*gzip.Reader, error) {
	z, ok := gzipReaders.Get().(*gzip.Reader)
	if !ok {
		return gzip.NewReader(r)
	}
	if err := z.Reset(r); err != nil {
		gzipReaders.Put(z)
		return nil, err
	}
	return z, nil
}

// stream returns the decoded body as a stream that fails past the decoded
// limit, for a reader that keeps only part of it (an envelope's events).
// The caller calls endDecode once the stream has ended.
func (b *body) stream() io.Reader {
	if b.enc == "" {
		return b.src // rawReader enforces the limit as sent, the same one
	}
	return &limitReader{r: b.src, left: b.limit}
}

// limitReader fails with errOverLimit once more than left bytes came
// through, and keeps failing.
type limitReader struct {
	r    io.Reader
	left int64
	err  error
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	// One byte over the limit is enough to tell.
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		l.err = errOverLimit
		return n, l.err
	}
	if err != nil && err != io.EOF {
		l.err = err
	}
	return n, err
}

// all reads the rest of the body and returns all of it.
func (b *body) all() ([]byte, *apiError) {
	if err := b.fill(b.src, func([]byte) bool { return false }); err != nil {
		return nil, b.fail(err)
	}
	b.endDecode()
	return b.buf, nil
}

// endDecode frees the decoder and its slot once the body is decoded; the
// decoded bytes stay charged until release.
func (b *body) endDecode() {
	if b.free != nil {
		b.free()
		b.free = nil
	}
	b.src = nil
	b.lease.endDecode()
}

// release returns the body's share of the budget. The bytes must no longer
// be used.
func (b *body) release() {
	b.endDecode()
	b.lease.release()
	b.buf = nil
}

// fail maps an error from reading or decoding the body to the answer. An
// error of the connection explains a decoder's error (a cut stream), so it
// is reported instead.
func (b *body) fail(err error) *apiError {
	b.endDecode()
	if aerr := budgetError(err); aerr != nil {
		return aerr
	}
	switch {
	case errors.Is(err, errOverLimit) && b.enc == "":
		return tooLarge("the request body exceeds %d bytes", b.limit)
	case errors.Is(err, errOverLimit):
		return tooLarge("the %s-decoded body exceeds %d bytes", b.enc, b.limit)
	}
	if b.raw.err != nil {
		err = b.raw.err
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return tooLarge("the request body exceeds the server's limit of %d bytes", mbe.Limit)
	case errors.Is(err, errRawTooLarge):
		return tooLarge("the request body exceeds %d bytes", b.raw.max)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return &apiError{status: http.StatusRequestTimeout, code: "body_timeout", reason: ReasonBadRequest,
			msg: "the request body arrived too slowly or was shorter than its Content-Length; send the whole body at once"}
	case b.raw.err != nil:
		return badRequest("unreadable_body", "the request body could not be read: %v", err)
	case errors.Is(err, zstd.ErrWindowSizeExceeded) || errors.Is(err, zstd.ErrDecoderSizeExceeded):
		return tooLarge("the zstd-encoded body needs a window of more than %d bytes to decode", b.window)
	}
	return badRequest("invalid_encoding", "the body is not valid %s data (Content-Encoding: %s): %v", b.enc, b.enc, err)
}

// brotliWindow is the ring-buffer size a brotli stream asks for, read from
// its first byte (RFC 7932, section 9.1: WBITS in the first 1, 4 or 7 bits).
// The large-window extension (not used by HTTP) is charged at 16 MiB; the
// decoder refuses it.
func brotliWindow(head []byte) int64 {
	if len(head) == 0 || head[0]&1 == 0 {
		return 1 << 16
	}
	if n := (head[0] >> 1) & 7; n != 0 {
		return 1<<(17+int64(n)) - 16
	}
	switch m := (head[0] >> 4) & 7; m {
	case 0:
		return 1 << 17
	case 1:
		return maxBrotliWindow
	default:
		return 1 << (8 + int64(m))
	}
}

// rawReader is the body as sent: it fails past max bytes and remembers
// the connection's error, so it is not mistaken for bad encoding.
type rawReader struct {
	r   io.Reader
	max int64
	n   int64
	err error
	// first is the byte await read, until Read hands it on.
	first []byte
}

// await blocks until the body's first byte has arrived (or the body is
// empty, or reading fails, which it returns), and keeps it for Read.
func (r *rawReader) await() error {
	var one [1]byte
	n, err := r.Read(one[:])
	r.first = append(r.first[:0], one[:n]...)
	if err == io.EOF {
		return nil
	}
	return err
}

func (r *rawReader) Read(p []byte) (int, error) {
	if len(r.first) > 0 && len(p) > 0 {
		n := copy(p, r.first)
		r.first = r.first[n:]
		return n, nil
	}
	if r.err != nil {
		return 0, r.err
	}
	// One byte over max is enough to tell the body is too large.
	if left := r.max + 1 - r.n; int64(len(p)) > left {
		p = p[:left]
	}
	n, err := r.r.Read(p)
	r.n += int64(n)
	switch {
	case r.n > r.max:
		r.err = errRawTooLarge
		return n, r.err
	case err != nil && err != io.EOF:
		r.err = err
	}
	return n, err
}

// isZlib reports whether b starts with a zlib header (RFC 1950): method 8,
// a window of at most 32 KiB and a header checksum divisible by 31. A raw
// DEFLATE stream passes this only by accident, about once in a thousand streams, and
// then fails to decode with a 400 rather than being misread.
func isZlib(b []byte) bool {
	return len(b) >= 2 && b[0]&0x0f == 8 && b[0]>>4 <= 7 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0
}

// unwrapRaven undoes the base64(zlib(JSON)) encoding that old raven clients
// (raven-python, raven-php, raven-ruby) used for store bodies, charging the
// decoded event to l. Bodies that already look like JSON are returned as
// they are.
func unwrapRaven(l *lease, body []byte, limit int64) ([]byte, *apiError) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] == '{' || trimmed[0] == '[' || !isBase64(trimmed) {
		return body, nil
	}
	zr, err := zlib.NewReader(base64.NewDecoder(base64.StdEncoding, bytes.NewReader(trimmed)))
	if err != nil {
		return nil, badRequest("invalid_body", "the body is neither JSON nor base64(zlib(JSON)): %v", err)
	}
	out := chargedBuffer{lease: l, limit: limit, known: -1}
	err = out.fill(zr, func([]byte) bool { return false })
	if aerr := budgetError(err); aerr != nil {
		return nil, aerr
	}
	switch {
	case errors.Is(err, errOverLimit):
		return nil, tooLarge("the decoded event exceeds %d bytes", limit)
	case err != nil:
		return nil, badRequest("invalid_body", "the base64 body holds invalid zlib data: %v", err)
	}
	return out.buf, nil
}

func isBase64(b []byte) bool {
	for _, c := range b {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/', c == '=':
		default:
			return false
		}
	}
	return true
}
