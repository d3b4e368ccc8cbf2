package store

import (
	"bytes"
	"compress/flate"
	"strings"
	"testing"
)

// deflate is how payloads were stored before zstd: raw DEFLATE.
func deflate(t testing.TB, b []byte, level ...int) []byte {
	t.Helper()
	lvl := flate.DefaultCompression
	if len(level) > 0 {
		lvl = level[0]
	}
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, lvl)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestPayloadFormats(t *testing.T) {
	event := []byte(`{"message":"héllo","extra":"` + strings.Repeat("x", 5000) + `"}`)
	tests := []struct {
		name    string
		stored  []byte
		want    []byte
		wantErr string
	}{
		{name: "zstd, as written now", stored: compress(event), want: event},
		{name: "empty zstd", stored: compress(nil), want: []byte{}},
		{name: "DEFLATE of earlier versions", stored: deflate(t, event), want: event},
		// Stored blocks are the only DEFLATE blocks whose first byte could
		// look like anything; they must not be taken for zstd.
		{name: "uncompressed DEFLATE", stored: deflate(t, event, flate.NoCompression), want: event},
		{name: "truncated zstd", stored: compress(event)[:20], wantErr: "decompress event payload"},
		{name: "zstd magic, then garbage", stored: append(bytes.Clone(zstdMagic), "garbage"...), wantErr: "decompress event payload"},
		{name: "neither", stored: []byte("plain text"), wantErr: "decompress event payload"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decompress(tt.stored)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tt.want) {
				t.Errorf("decompress = %d bytes, %v; want %d bytes", len(got), err, len(tt.want))
			}
		})
	}
}

// TestPayloadBound refuses a frame that inflates past maxPayload instead
// of allocating it.
func TestPayloadBound(t *testing.T) {
	huge := compress(make([]byte, maxPayload+1))
	if _, err := decompress(huge); err == nil {
		t.Fatalf("a %d-byte payload decompressed", maxPayload+1)
	}
}
