package store

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"sync"
)

// maxPayload bounds a decompressed event, far above what ingest accepts, so
// a corrupt row cannot make a reader allocate without limit.
const maxPayload = 256 << 20

// Payloads are raw DEFLATE from the standard library. zstd compressed
// event JSON a little better, but its package added 0.4 MB to every binary
// that links the store, and the EC2 dashboard binary has a size budget.
// Event JSON still shrinks 4-8x. Writers cost ~1 MB each to build, so they
// are pooled.
var writers = sync.Pool{New: func() any {
	w, err := flate.NewWriter(nil, flate.DefaultCompression)
	if err != nil {
		panic(err) // only for an invalid level
	}
	return w
}}

func compress(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(b)/4 + 64)
	w := writers.Get().(*flate.Writer)
	defer writers.Put(w)
	w.Reset(&buf)
	if _, err := w.Write(b); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func decompress(b []byte) ([]byte, error) {
	r := flate.NewReader(bytes.NewReader(b))
	defer r.Close()
	out, err := io.ReadAll(io.LimitReader(r, maxPayload+1))
	if err != nil {
		return nil, fmt.Errorf("decompress event payload: %w", err)
	}
	if len(out) > maxPayload {
		return nil, fmt.Errorf("decompress event payload: over %d bytes", maxPayload)
	}
	return out, nil
}
