package artifactapi_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/artifactapi"
)

// cutBody is a request body whose connection fails after its first bytes,
// as net/http's does when the body's read deadline passes: the read
// fails, and the request's context is cancelled.
type cutBody struct {
	rest   []byte
	cancel context.CancelFunc
}

func (b *cutBody) Read(p []byte) (int, error) {
	if len(b.rest) == 0 {
		b.cancel()
		return 0, &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
	}
	n := copy(p, b.rest)
	b.rest = b.rest[n:]
	return n, nil
}

func (b *cutBody) Close() error { return nil }

// TestBodyReadFails: a body whose read fails on every route that reads
// one is answered 408, with the connection closed. The handler wrote
// nothing once the read had cancelled the request's context, so net/http
// answered 200 to a chunk or file it never stored, and sentry-cli went on
// to assemble it.
func TestBodyReadFails(t *testing.T) {
	var h *artifactapi.Handler
	e := newEnvWith(t, func(hh *artifactapi.Handler) { h = hh })
	chunkType, chunks := chunkBody(t, bytes.Repeat([]byte("c"), 4096))
	var file bytes.Buffer
	mw := multipart.NewWriter(&file)
	fw, _ := mw.CreateFormFile("file", "app.min.js")
	fw.Write(bytes.Repeat([]byte("f"), 4096))
	mw.WriteField("name", "~/app.min.js")
	mw.Close()
	for _, tt := range []struct {
		name, path, contentType string
		body                    []byte
	}{
		{"chunk", "/api/0/organizations/x/chunk-upload/", chunkType, chunks.Bytes()},
		{"release file", "/api/0/projects/x/web-shop/releases/1.0/files/", mw.FormDataContentType(), file.Bytes()},
		{"assemble", "/api/0/organizations/x/artifactbundle/assemble/", "application/json", []byte(`{"checksum":"` + strings.Repeat("a", 40) + `","chunks":[]}`)},
		{"release", "/api/0/organizations/x/releases/", "application/json", []byte(`{"version":"1.0","projects":["web-shop"]}`)},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		req := httptest.NewRequestWithContext(ctx, "POST", tt.path, &cutBody{rest: tt.body[:len(tt.body)/2], cancel: cancel})
		req.Header.Set("Authorization", "Bearer "+e.token)
		req.Header.Set("Content-Type", tt.contentType)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		cancel()
		if rec.Code != 408 || rec.Header().Get("Connection") != "close" || !strings.Contains(rec.Body.String(), "Content-Length") {
			t.Errorf("%s: %d %v %s, want 408 with Connection: close and a detail", tt.name, rec.Code, rec.Header(), rec.Body)
		}
	}
}
