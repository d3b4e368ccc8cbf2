package ingest

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
)

// encodings are the Content-Encodings SDKs use, with an encoder each;
// "deflate (raw)" is sent as "deflate" without the zlib wrapper.
var encodings = []struct {
	name, header string
	encode       func(io.Writer) io.WriteCloser
}{
	{"gzip", "gzip", func(w io.Writer) io.WriteCloser { return gzip.NewWriter(w) }},
	{"x-gzip", "x-gzip", func(w io.Writer) io.WriteCloser { return gzip.NewWriter(w) }},
	{"deflate (zlib)", "deflate", func(w io.Writer) io.WriteCloser { return zlib.NewWriter(w) }},
	{"deflate (raw)", "deflate", func(w io.Writer) io.WriteCloser {
		fw, _ := flate.NewWriter(w, flate.BestCompression) // the level is valid
		return fw
	}},
	{"br", "br", func(w io.Writer) io.WriteCloser { return brotli.NewWriter(w) }},
	{"zstd", "zstd", func(w io.Writer) io.WriteCloser {
		zw, _ := zstd.NewWriter(w) // no options, cannot fail
		return zw
	}},
	{"identity", "identity", func(w io.Writer) io.WriteCloser { return nopCloser{w} }},
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func encode(t testing.TB, enc func(io.Writer) io.WriteCloser, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := enc(&buf)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestCompressedBodies(t *testing.T) {
	routes := []struct {
		name, path string
		header     map[string]string
		body       string
		wantTitle  string
	}{
		{"envelope", "/api/42/envelope/", sentryAuth(testKey), jsEnvelope, "TypeError: x is undefined"},
		{"store", "/api/42/store/", sentryAuth(testKey), jsEvent, "TypeError: x is undefined"},
		{"flytrap", "/api/errors", map[string]string{"x-api-key": testKey}, flytrapErrBody, "TypeError: Cannot read property 'foo' of undefined"},
	}
	for _, enc := range encodings {
		for _, rt := range routes {
			t.Run(enc.name+" "+rt.name, func(t *testing.T) {
				h, q := newTestHandler(t, defaultKeys, nil)
				hdr := map[string]string{"Content-Encoding": enc.header}
				for k, v := range rt.header {
					hdr[k] = v
				}
				rec := req{path: rt.path, header: hdr, body: encode(t, enc.encode, []byte(rt.body))}.do(h)
				if rec.Code != 200 {
					t.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
				if ev := q.only(t); ev.Title() != rt.wantTitle {
					t.Errorf("title %q, want %q", ev.Title(), rt.wantTitle)
				}
			})
		}
	}
}

func TestRavenStoreBody(t *testing.T) {
	h, q := newTestHandler(t, defaultKeys, nil)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	_, _ = zw.Write([]byte(`{"message":"from raven-python","platform":"python"}`))
	_ = zw.Close()
	body := base64.StdEncoding.EncodeToString(z.Bytes())
	rec := req{path: "/api/42/store/", header: map[string]string{"X-Sentry-Auth": "Sentry sentry_key=" + testKey + ", sentry_version=6", "Content-Type": "application/octet-stream"}, body: []byte(body)}.do(h)
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if ev := q.only(t); ev.Message != "from raven-python" || ev.Platform != "python" {
		t.Errorf("event %+v", ev)
	}
}

// TestDecompressionBombs sends bodies that are small on the wire and huge
// decoded; each must be refused with 413 after decoding at most the limit.
func TestDecompressionBombs(t *testing.T) {
	const limit = 64 << 10
	huge := []byte(`{"message":"` + strings.Repeat("a", 16<<20) + `"}`)
	for _, enc := range encodings {
		if enc.header == "identity" {
			continue
		}
		wire := encode(t, enc.encode, huge)
		t.Run(enc.name, func(t *testing.T) {
			if len(wire) > limit {
				t.Fatalf("the bomb is %d bytes on the wire; it should fit under the body limit", len(wire))
			}
			for _, path := range []string{"/api/42/store/", "/api/errors"} {
				h, q := newTestHandler(t, defaultKeys, func(c *Config) { c.MaxEventBytes = limit })
				rec := req{path: path, header: map[string]string{"Content-Encoding": enc.header, "X-Sentry-Auth": "Sentry sentry_key=" + testKey, "x-api-key": testKey}, body: wire}.do(h)
				if rec.Code != 413 {
					t.Errorf("%s: status %d, want 413: %s", path, rec.Code, rec.Body)
				}
				if len(q.bodies) != 0 {
					t.Errorf("%s: queued an event", path)
				}
			}
			// An envelope is capped by MaxEnvelopeBytes once decoded,
			// attachments included.
			h, _ := newTestHandler(t, defaultKeys, func(c *Config) { c.MaxBodyBytes, c.MaxEnvelopeBytes = 1<<20, 1<<20 })
			env := encode(t, enc.encode, append([]byte("{}\n{\"type\":\"attachment\"}\n"), huge...))
			rec := req{path: "/api/42/envelope/", header: map[string]string{"Content-Encoding": enc.header, "X-Sentry-Auth": "Sentry sentry_key=" + testKey}, body: env}.do(h)
			if rec.Code != 413 {
				t.Errorf("envelope: status %d, want 413: %s", rec.Code, rec.Body)
			}
		})
	}
	t.Run("raven base64 zlib", func(t *testing.T) {
		h, _ := newTestHandler(t, defaultKeys, func(c *Config) { c.MaxEventBytes = limit })
		var z bytes.Buffer
		zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
		_, _ = zw.Write(huge)
		_ = zw.Close()
		body := base64.StdEncoding.EncodeToString(z.Bytes())
		if len(body) > limit {
			t.Fatalf("bomb is %d bytes", len(body))
		}
		rec := req{path: "/api/42/store/", header: sentryAuth(testKey), body: []byte(body)}.do(h)
		if rec.Code != 413 {
			t.Errorf("status %d, want 413: %s", rec.Code, rec.Body)
		}
	})
}

func TestBodyLimitWithoutContentLength(t *testing.T) {
	h, _ := newTestHandler(t, defaultKeys, func(c *Config) { c.MaxBodyBytes, c.MaxEnvelopeBytes = 1000, 1000 })
	body := envelopeOf(`{}`, true, [2]string{"attachment", strings.Repeat("x", 2000)})
	rec := req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: body, chunked: true}.do(h)
	if rec.Code != 413 {
		t.Fatalf("status %d, want 413: %s", rec.Code, rec.Body)
	}
	if code, msg := errorResponse(t, rec); code != "too_large" || !strings.Contains(msg, "1000") {
		t.Errorf("error %q %q: the message should name the limit", code, msg)
	}
}

func TestIsZlib(t *testing.T) {
	zl := encode(t, func(w io.Writer) io.WriteCloser { return zlib.NewWriter(w) }, []byte("hello hello hello"))
	raw := encode(t, func(w io.Writer) io.WriteCloser { fw, _ := flate.NewWriter(w, 6); return fw }, []byte("hello hello hello"))
	tests := []struct {
		name string
		in   []byte
		want bool
	}{
		{"zlib stream", zl, true},
		{"raw deflate stream", raw, false},
		{"too short", []byte{0x78}, false},
		{"zlib header, bad checksum", []byte{0x78, 0x9d}, false},
		{"window over 32 KiB", []byte{0x88, 0x1c}, false},
	}
	for _, tt := range tests {
		if got := isZlib(tt.in); got != tt.want {
			t.Errorf("%s: isZlib(% x) = %v", tt.name, tt.in[:min(2, len(tt.in))], got)
		}
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestBodyReadErrors(t *testing.T) {
	t.Run("outer http.MaxBytesReader", func(t *testing.T) {
		h, _ := newTestHandler(t, defaultKeys, nil)
		rec := httptest.NewRecorder()
		r := req{path: "/api/42/store/", header: sentryAuth(testKey), body: []byte(jsEvent), chunked: true}.request()
		r.Body = http.MaxBytesReader(rec, r.Body, 10)
		h.ServeHTTP(rec, r)
		if code, msg := errorResponse(t, rec); rec.Code != 413 || code != "too_large" || !strings.Contains(msg, "limit of 10 bytes") {
			t.Errorf("status %d, %q %q", rec.Code, code, msg)
		}
	})
	t.Run("broken connection", func(t *testing.T) {
		h, _ := newTestHandler(t, defaultKeys, nil)
		rec := httptest.NewRecorder()
		r := req{path: "/api/42/store/", header: sentryAuth(testKey)}.request()
		r.Body = io.NopCloser(failingReader{})
		h.ServeHTTP(rec, r)
		if code, msg := errorResponse(t, rec); rec.Code != 400 || code != "unreadable_body" || !strings.Contains(msg, "connection reset") {
			t.Errorf("status %d, %q %q", rec.Code, code, msg)
		}
	})
}
