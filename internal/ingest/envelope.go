package ingest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// maxEnvelopeItems bounds the work one request can cause; SDKs send a
// handful of items per envelope.
const maxEnvelopeItems = 1000

// maxHeaderLine bounds an envelope's header line and each item header.
const maxHeaderLine = maxEnvelopeHeaderBytes

// envelope is a parsed Sentry envelope
// (https://develop.sentry.dev/sdk/data-model/envelopes/).
type envelope struct {
	header envelopeHeader
	items  []envelopeItem
}

// envelopeHeader holds the header fields ingest uses; others are ignored.
type envelopeHeader struct {
	eventID string    // as sent; validated where it is used
	dsn     string    // carries the key when no auth header was sent
	sentAt  time.Time // zero when absent or unparsable
}

// envelopeItem is one item; the payload of an item that was skipped is
// nil, and size says how long it was.
type envelopeItem struct {
	n       int // its place in the envelope, from 1
	typ     string
	payload []byte
	size    int64
}

// errEnvelope marks a malformed envelope (a 400), as opposed to an error
// of the stream or a limit.
type errEnvelope struct{ msg string }

func (e *errEnvelope) Error() string { return e.msg }

func malformed(format string, args ...any) error {
	return &errEnvelope{msg: fmt.Sprintf(format, args...)}
}

// errItemTooLarge is a kept item over its own limit; size is -1 when its
// end was not found within the limit.
type errItemTooLarge struct {
	n     int
	typ   string
	size  int64
	limit int64
}

func (e *errItemTooLarge) Error() string {
	if e.size < 0 {
		return fmt.Sprintf("envelope item %d (%s) is more than %d bytes; the limit is %d bytes", e.n, e.typ, e.limit, e.limit)
	}
	return fmt.Sprintf("envelope item %d (%s) is %d bytes; the limit is %d bytes", e.n, e.typ, e.size, e.limit)
}

// errKeptTooLarge is an envelope whose kept items together pass their
// limit.
var errKeptTooLarge = errors.New("ingest: the kept items of the envelope are over their limit")

// envelopeReader reads an envelope item by item from a stream. It keeps
// (copies out) the payloads of the items keep selects, and skips the
// others without holding them: their bytes pass through the reader's
// fixed buffer only. A 100 MiB minidump attachment thus costs the decoder
// and 64 KiB, not 100 MiB.
type envelopeReader struct {
	br    *bufio.Reader
	keep  func(typ string) bool
	lease *lease // charged for kept payloads; nil charges nothing
	// maxItem bounds one kept payload, maxKept all of them together.
	maxItem, maxKept int64
	kept             int64
	n                int // items read
	// long assembles a header line longer than the buffer.
	long []byte
}

// envelopeBufSize is the reader's buffer. It is not charged to the
// in-flight budget: like net/http's own buffers of a connection it is a
// fixed cost of a request, and requests that send nothing must not crowd
// out the others (1,025 idle ones, each charged a 64 KiB buffer, spent the
// whole 64 MiB budget). Header lines are short (an SDK's item header is
// under 200 bytes); one longer than the buffer is assembled in memory that
// is charged.
const envelopeBufSize = 4 << 10

var envelopeBufs = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, envelopeBufSize) }}

// newEnvelopeReader reads src through a pooled buffer, charging what it
// keeps to l; call close to return the buffer.
func newEnvelopeReader(src io.Reader, l *lease, keep func(string) bool, maxItem, maxKept int64) (*envelopeReader, error) {
	br := envelopeBufs.Get().(*bufio.Reader)
	br.Reset(src)
	return &envelopeReader{br: br, lease: l, keep: keep, maxItem: maxItem, maxKept: maxKept}, nil
}

// close returns the buffer to the pool; the reader must not be used after.
func (r *envelopeReader) close() {
	if r.br != nil {
		r.br.Reset(nil)
		envelopeBufs.Put(r.br)
		r.br = nil
	}
}

// line reads up to the next '\n' and returns what precedes it without a
// trailing '\r'; at the end of the stream, what is left (eof reports it).
// The slice is valid until the next read. A line longer than
// maxHeaderLine is errLongLine.
func (r *envelopeReader) line() (line []byte, eof bool, err error) {
	line, err = r.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		line, err = r.longLine(line)
	}
	switch {
	case err == nil:
		line = line[:len(line)-1]
	case err == io.EOF:
		eof = true
	default:
		return nil, false, err
	}
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) > maxHeaderLine {
		return nil, false, errLongLine
	}
	return line, eof, nil
}

var errLongLine = errors.New("ingest: a header line is too long")

// longLine reads the rest of a line that began with first and filled the
// buffer, into memory charged to the budget once, at most maxHeaderLine
// bytes and its "\r\n"; errLongLine beyond.
func (r *envelopeReader) longLine(first []byte) ([]byte, error) {
	const most = maxHeaderLine + 2
	if r.long == nil {
		if r.lease != nil {
			if err := r.lease.grow(most); err != nil {
				return nil, err
			}
		}
		r.long = make([]byte, 0, most)
	}
	r.long = append(r.long[:0], first...)
	for {
		chunk, err := r.br.ReadSlice('\n')
		if len(r.long)+len(chunk) > most {
			return nil, errLongLine
		}
		r.long = append(r.long, chunk...)
		if !errors.Is(err, bufio.ErrBufferFull) {
			return r.long, err
		}
	}
}

// errLongHeader is an envelope header line over maxHeaderLine.
var errLongHeader = malformed("the envelope header (first line) is longer than %d bytes", maxHeaderLine)

// header reads the envelope header (the first line).
func (r *envelopeReader) header() (envelopeHeader, error) {
	line, _, err := r.line()
	if errors.Is(err, errLongLine) {
		return envelopeHeader{}, errLongHeader
	}
	if err != nil {
		return envelopeHeader{}, err
	}
	return parseEnvelopeHeader(line)
}

// next reads the next item; io.EOF when there are no more. Blank lines
// between items are skipped. A payload is exactly "length" bytes when the
// item header gives a length, so binary attachments may contain
// newlines, else it runs to the next newline. The final newline is
// optional, because hand-rolled clients get it wrong.
func (r *envelopeReader) next() (envelopeItem, error) {
	var (
		line []byte
		eof  bool
		err  error
	)
	for {
		line, eof, err = r.line()
		if errors.Is(err, errLongLine) {
			return envelopeItem{}, malformed("item %d: the item header is longer than %d bytes", r.n+1, maxHeaderLine)
		}
		if err != nil {
			return envelopeItem{}, err
		}
		if len(bytes.TrimSpace(line)) > 0 {
			break
		}
		if eof {
			return envelopeItem{}, io.EOF
		}
	}
	r.n++
	n := r.n
	if n > maxEnvelopeItems {
		return envelopeItem{}, malformed("the envelope has more than %d items", maxEnvelopeItems)
	}
	ih, err := parseJSONObject(line)
	if err != nil {
		return envelopeItem{}, malformed("item %d: the item header is %v", n, err)
	}
	item := envelopeItem{n: n, typ: stringField(ih, "type")}
	if item.typ == "error" {
		// Older SDKs named the event item "error"; the payload is
		// the same, so it is decoded and counted as an event.
		item.typ = "event"
	}
	keep := r.keep(item.typ)
	l, present := ih["length"]
	if !present || l == nil {
		if keep {
			item.payload, err = r.keepLine(n, item.typ)
			item.size = int64(len(item.payload))
		} else {
			item.size, err = r.skipLine()
		}
		return item, err
	}
	size, ok := intValue(l)
	if !ok || size < 0 {
		return envelopeItem{}, malformed("item %d: length must be a non-negative integer, got %s", n, clamp(compactJSON(l), 64))
	}
	item.size = size
	var got int64
	if keep {
		// Refused before a byte of it is read.
		if size > r.maxItem {
			return envelopeItem{}, &errItemTooLarge{n: n, typ: item.typ, size: size, limit: r.maxItem}
		}
		if err := r.charge(size); err != nil {
			return envelopeItem{}, err
		}
		item.payload = make([]byte, size)
		var m int
		m, err = io.ReadFull(r.br, item.payload)
		got = int64(m)
	} else {
		var m int
		// Discard takes an int; chunks keep 32-bit platforms right.
		for got < size && err == nil {
			m, err = r.br.Discard(int(min(size-got, 1<<30)))
			got += int64(m)
		}
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return envelopeItem{}, malformed("item %d: the item header declares %d bytes but only %d follow", n, size, got)
	}
	if err != nil {
		return envelopeItem{}, err
	}
	// The newline after a sized payload is a separator, not data.
	if b, _ := r.br.Peek(2); bytes.HasPrefix(b, []byte("\r\n")) {
		_, _ = r.br.Discard(2)
	} else if bytes.HasPrefix(b, []byte("\n")) {
		_, _ = r.br.Discard(1)
	}
	return item, nil
}

// charge accounts for n more kept bytes, before they are allocated.
func (r *envelopeReader) charge(n int64) error {
	if r.kept+n > r.maxKept {
		return errKeptTooLarge
	}
	if r.lease != nil {
		if err := r.lease.grow(n); err != nil {
			return err
		}
	}
	r.kept += n
	return nil
}

// keepLine reads a payload that runs to the next newline into memory of
// its own, at most maxItem bytes.
func (r *envelopeReader) keepLine(n int, typ string) ([]byte, error) {
	var out []byte
	for {
		chunk, err := r.br.ReadSlice('\n')
		if len(chunk) > 0 && chunk[len(chunk)-1] == '\n' && err == nil {
			chunk = chunk[:len(chunk)-1]
		}
		if int64(len(out)+len(chunk)) > r.maxItem+1 { // +1: a '\r' may follow
			return nil, &errItemTooLarge{n: n, typ: typ, size: -1, limit: r.maxItem}
		}
		if need := len(out) + len(chunk); need > cap(out) {
			// Grow by doubling, charging the growth first; the
			// common case, a line within the buffer, allocates once.
			c := max(need, 2*cap(out))
			if out != nil {
				c = min(c, int(r.maxItem)+1)
			}
			if err := r.charge(int64(c - cap(out))); err != nil {
				return nil, err
			}
			nb := make([]byte, len(out), c)
			copy(nb, out)
			out = nb
		}
		out = append(out, chunk...)
		switch {
		case err == nil, err == io.EOF:
			out = bytes.TrimSuffix(out, []byte("\r"))
			if int64(len(out)) > r.maxItem {
				return nil, &errItemTooLarge{n: n, typ: typ, size: int64(len(out)), limit: r.maxItem}
			}
			return out, nil
		case !errors.Is(err, bufio.ErrBufferFull):
			return nil, err
		}
	}
}

// skipLine discards a payload that runs to the next newline and returns
// its length.
func (r *envelopeReader) skipLine() (int64, error) {
	var size int64
	for {
		chunk, err := r.br.ReadSlice('\n')
		size += int64(len(chunk))
		switch {
		case err == nil:
			return size - 1, nil
		case err == io.EOF:
			return size, nil
		case !errors.Is(err, bufio.ErrBufferFull):
			return 0, err
		}
	}
}

// parseEnvelope splits an envelope held in memory into its header and
// items, keeping every payload.
func parseEnvelope(body []byte) (*envelope, error) {
	keepAll := func(string) bool { return true }
	rd := bytes.NewReader(body)
	r, err := newEnvelopeReader(rd, nil, keepAll, int64(len(body)), int64(len(body)))
	if err != nil {
		return nil, err
	}
	defer r.close()
	hdr, err := r.header()
	if err != nil {
		return nil, err
	}
	env := &envelope{header: hdr}
	for {
		it, err := r.next()
		if err == io.EOF {
			return env, nil
		}
		var big *errItemTooLarge
		if errors.As(err, &big) {
			// Longer than the whole body: the length is a lie.
			return nil, malformed("item %d: the item header declares %d bytes but only %d follow", big.n, big.size, r.br.Buffered()+rd.Len())
		}
		if err != nil {
			return nil, err
		}
		env.items = append(env.items, it)
	}
}

// parseEnvelopeHeader parses an envelope's first line.
func parseEnvelopeHeader(line []byte) (envelopeHeader, error) {
	if len(bytes.TrimSpace(line)) == 0 {
		return envelopeHeader{}, malformed("the envelope header (first line) is missing")
	}
	obj, err := parseJSONObject(line)
	if err != nil {
		return envelopeHeader{}, malformed("the envelope header (first line) is %v", err)
	}
	hdr := envelopeHeader{eventID: stringField(obj, "event_id"), dsn: stringField(obj, "dsn")}
	if t, ok := parseTimestamp(obj["sent_at"]); ok {
		hdr.sentAt = t
	}
	return hdr, nil
}

// stringField returns obj[k] if it is a string.
func stringField(obj map[string]any, k string) string {
	s, _ := obj[k].(string)
	return s
}

// intValue converts a JSON number with an integral value to int64.
func intValue(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	if i, err := n.Int64(); err == nil {
		return i, true
	}
	f, err := n.Float64()
	if err != nil || f != float64(int64(f)) {
		return 0, false
	}
	return int64(f), true
}
