package store

import (
	"sync"

	"github.com/klauspost/compress/zstd"
)

// maxPayload bounds a decompressed event, far above what ingest accepts, so
// a corrupt row cannot make a reader allocate without limit.
const maxPayload = 256 << 20

// Event JSON compresses about 5-10x with zstd; the coders are safe for
// concurrent EncodeAll/DecodeAll and costly to build, so they are shared.
var (
	encoder = sync.OnceValues(func() (*zstd.Encoder, error) { return zstd.NewWriter(nil) })
	decoder = sync.OnceValues(func() (*zstd.Decoder, error) {
		return zstd.NewReader(nil, zstd.WithDecoderMaxMemory(maxPayload))
	})
)

func compress(b []byte) ([]byte, error) {
	enc, err := encoder()
	if err != nil {
		return nil, err
	}
	return enc.EncodeAll(b, nil), nil
}

func decompress(b []byte) ([]byte, error) {
	dec, err := decoder()
	if err != nil {
		return nil, err
	}
	return dec.DecodeAll(b, nil)
}
