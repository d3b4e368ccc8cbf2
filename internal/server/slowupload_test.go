package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/artifact"
	"github.com/getflytrap/flytrap/internal/bootstrap"
	"github.com/getflytrap/flytrap/internal/ingest"
)

// TestSlowUploadFinishes: sentry-cli's chunk upload over a slow link
// (4 KiB/s, below the 32 KiB/s other bodies must keep up) was cut off
// after about 11 s and answered 200 with nothing stored. With a token it
// finishes and the chunk is stored; one that stalls is answered 408, not
// 200.
func TestSlowUploadFinishes(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	b, err := bootstrap.Ensure(ctx, db, bootstrap.Input{})
	if err != nil {
		t.Fatal(err)
	}
	s := New(db, Config{Ingest: ingest.Config{IPSalt: []byte("salt")}, Workers: 1, Artifacts: artifact.Dir{Root: t.TempDir()}},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv := httptest.NewUnstartedServer(s.Handler())
	srv.Config = s.app.HTTPServer(s.Handler())
	srv.Start()
	t.Cleanup(srv.Close)

	chunk := make([]byte, 48<<10)
	rand.Read(chunk)
	sum := sha1.Sum(chunk)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", hex.EncodeToString(sum[:]))
	fw.Write(chunk)
	mw.Close()

	// upload sends the chunk's head and then its body, 4 KiB a second,
	// stopping after sent bytes, and returns the answer's status line.
	upload := func(t *testing.T, sent int) string {
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "POST /api/0/organizations/flytrap/chunk-upload/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"+
			"Content-Type: %s\r\nContent-Length: %d\r\n\r\n", b.APIToken, mw.FormDataContentType(), body.Len())
		go func() {
			for rest := body.Bytes()[:sent]; len(rest) > 0; {
				time.Sleep(time.Second)
				n := min(len(rest), 4<<10)
				if _, err := c.Write(rest[:n]); err != nil {
					return
				}
				rest = rest[n:]
			}
		}()
		c.SetReadDeadline(time.Now().Add(40 * time.Second))
		line, _ := bufio.NewReader(c).ReadString('\n')
		return strings.TrimSpace(line)
	}
	t.Run("steady", func(t *testing.T) {
		t.Parallel()
		if line := upload(t, body.Len()); line != "HTTP/1.1 200 OK" {
			t.Fatalf("a chunk sent at 4 KiB/s: %q, want 200", line)
		}
		var n int
		if err := db.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM artifact_chunk_uploads").Scan(&n); err != nil || n != 1 {
			t.Errorf("chunks stored: %d (%v), want 1", n, err)
		}
	})
	t.Run("stalled", func(t *testing.T) {
		t.Parallel()
		if line := upload(t, 8<<10); line != "HTTP/1.1 408 Request Timeout" {
			t.Errorf("a chunk that stalls: %q, want 408", line)
		}
	})
}
