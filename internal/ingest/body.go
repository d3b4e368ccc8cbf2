package ingest

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
)

// readBody reads the request body, at most MaxBodyBytes as sent, and undoes
// its Content-Encoding, failing once the decoded size would exceed limit, so
// a small compressed bomb costs at most limit bytes of memory.
func (h *Handler) readBody(r *http.Request, limit int64) ([]byte, *apiError) {
	maxRaw := h.cfg.MaxBodyBytes
	if r.ContentLength > maxRaw {
		return nil, tooLarge("the request body is %d bytes; the limit is %d bytes", r.ContentLength, maxRaw)
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxRaw+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge("the request body exceeds the server's limit of %d bytes", mbe.Limit)
		}
		return nil, badRequest("unreadable_body", "the request body could not be read: %v", err)
	}
	if int64(len(raw)) > maxRaw {
		return nil, tooLarge("the request body exceeds %d bytes", maxRaw)
	}
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	if enc == "" || enc == "identity" {
		if int64(len(raw)) > limit {
			return nil, tooLarge("the body is %d bytes; the limit is %d bytes", len(raw), limit)
		}
		return raw, nil
	}
	return decompress(enc, raw, limit)
}

// decompress undoes one Content-Encoding.
func decompress(enc string, raw []byte, limit int64) ([]byte, *apiError) {
	var (
		rd  io.Reader
		err error
	)
	src := bytes.NewReader(raw)
	switch enc {
	case "gzip", "x-gzip":
		rd, err = gzip.NewReader(src)
	case "deflate":
		// RFC 9110 says zlib-wrapped, but browsers' CompressionStream
		// ("deflate-raw") and some servers send raw DEFLATE.
		if isZlib(raw) {
			rd, err = zlib.NewReader(src)
		} else {
			rd = flate.NewReader(src)
		}
	case "br":
		rd = brotli.NewReader(src)
	case "zstd":
		var d *zstd.Decoder
		d, err = zstd.NewReader(src, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(uint64(max(limit, zstd.MinWindowSize))))
		if err == nil {
			defer d.Close()
			rd = d
		}
	default:
		return nil, &apiError{status: http.StatusUnsupportedMediaType, code: "unsupported_encoding", reason: ReasonBadRequest,
			msg: fmt.Sprintf("Content-Encoding %q is not supported; use gzip, deflate, br or zstd (one encoding, not a list)", enc)}
	}
	if err == nil {
		var out []byte
		out, err = io.ReadAll(io.LimitReader(rd, limit+1))
		if err == nil {
			if int64(len(out)) > limit {
				return nil, tooLarge("the %s-decoded body exceeds %d bytes", enc, limit)
			}
			return out, nil
		}
	}
	if errors.Is(err, zstd.ErrWindowSizeExceeded) || errors.Is(err, zstd.ErrDecoderSizeExceeded) {
		return nil, tooLarge("the zstd-encoded body needs more than %d bytes to decode", limit)
	}
	return nil, badRequest("invalid_encoding", "the body is not valid %s data (Content-Encoding: %s): %v", enc, enc, err)
}

// isZlib reports whether b starts with a zlib header (RFC 1950): method 8,
// a window of at most 32 KiB and a header checksum divisible by 31. A raw
// DEFLATE stream passes this only by accident, about once in a thousand streams, and
// then fails to decode with a 400 rather than being misread.
func isZlib(b []byte) bool {
	return len(b) >= 2 && b[0]&0x0f == 8 && b[0]>>4 <= 7 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0
}

// unwrapRaven undoes the base64(zlib(JSON)) encoding that old raven clients
// (raven-python, raven-php, raven-ruby) used for store bodies. Bodies that
// already look like JSON are returned as they are.
func unwrapRaven(body []byte, limit int64) ([]byte, *apiError) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] == '{' || trimmed[0] == '[' || !isBase64(trimmed) {
		return body, nil
	}
	dec, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, bytes.NewReader(trimmed)))
	if err != nil {
		return nil, badRequest("invalid_body", "the body is neither JSON nor base64(zlib(JSON)): %v", err)
	}
	zr, err := zlib.NewReader(bytes.NewReader(dec))
	if err != nil {
		return nil, badRequest("invalid_body", "the base64 body does not hold zlib data: %v", err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, badRequest("invalid_body", "the base64 body holds invalid zlib data: %v", err)
	}
	if int64(len(out)) > limit {
		return nil, tooLarge("the decoded event exceeds %d bytes", limit)
	}
	return out, nil
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
