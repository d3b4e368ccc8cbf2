package store

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// maxPayload bounds a decompressed event, far above what ingest accepts, so
// a corrupt row cannot make a reader allocate without limit.
const maxPayload = 256 << 20

// Payloads are zstd frames: compared with DEFLATE, zstd compresses event
// JSON 3x and decompresses it 4x faster, and slightly smaller
// (docs/benchmarks.md). Rows written by earlier versions hold raw DEFLATE
// and stay readable: a zstd frame starts with the magic number below, and
// a raw DEFLATE stream never can (those bytes would open a stored block
// whose length and inverted length disagree), so the frame header is the
// format marker and no migration rewrites old rows.
var zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}

// The encoder and decoder are safe for concurrent EncodeAll and DecodeAll
// calls; they are built on first use because programs that link the store
// without touching events (the CLI's other commands) need not pay for them.
var (
	zstdEncoder = sync.OnceValue(func() *zstd.Encoder {
		// Zero frames: an empty payload is still a frame, never an empty
		// value that would read as (broken) DEFLATE. The fastest level:
		// its 256 KB match table stays in cache beside SQLite and HTTP
		// where the default's 1 MB one does not, which took compression
		// from 6.5% to 4.3% of the server's CPU under load, for 0.7%
		// larger payloads (docs/benchmarks.md).
		e, err := zstd.NewWriter(nil, zstd.WithZeroFrames(true), zstd.WithEncoderLevel(zstd.SpeedFastest))
		if err != nil {
			panic(err) // only for invalid options
		}
		return e
	})
	zstdDecoder = sync.OnceValue(func() *zstd.Decoder {
		d, err := zstd.NewReader(nil, zstd.WithDecoderMaxMemory(maxPayload))
		if err != nil {
			panic(err) // only for invalid options
		}
		return d
	})
)

func compress(b []byte) []byte {
	return zstdEncoder().EncodeAll(b, make([]byte, 0, len(b)/4+64))
}

func decompress(b []byte) ([]byte, error) {
	if !bytes.HasPrefix(b, zstdMagic) {
		return inflate(b)
	}
	out, err := zstdDecoder().DecodeAll(b, nil)
	if err != nil {
		return nil, fmt.Errorf("decompress event payload: %w", err)
	}
	return out, nil
}

// inflate reads a payload stored as raw DEFLATE before payloads were zstd.
func inflate(b []byte) ([]byte, error) {
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
