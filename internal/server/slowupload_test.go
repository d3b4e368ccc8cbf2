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
	"net/http"
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
// 200. A server configured to demand more (flytrap dev --min-upload-rate)
// cuts the same upload off, and says at what rate.
func TestSlowUploadFinishes(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	b, err := bootstrap.Ensure(ctx, db, bootstrap.Input{})
	if err != nil {
		t.Fatal(err)
	}
	start := func(uploadRate int64) string {
		s := New(db, Config{Ingest: ingest.Config{IPSalt: []byte("salt")}, Workers: 1, Artifacts: artifact.Dir{Root: t.TempDir()}, UploadRate: uploadRate},
			slog.New(slog.NewTextHandler(io.Discard, nil)))
		srv := httptest.NewUnstartedServer(s.Handler())
		srv.Config = s.app.HTTPServer(s.Handler())
		srv.Start()
		t.Cleanup(srv.Close)
		return srv.Listener.Addr().String()
	}
	addr, demanding := start(0), start(64<<10)

	chunk := make([]byte, 48<<10)
	rand.Read(chunk)
	sum := sha1.Sum(chunk)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", hex.EncodeToString(sum[:]))
	fw.Write(chunk)
	mw.Close()

	// upload sends the chunk's head and then its body to addr, 4 KiB a
	// second, stopping after sent bytes, and returns the answer's status
	// line and the rest of the answer.
	upload := func(t *testing.T, addr string, sent int) (string, string) {
		c, err := net.Dial("tcp", addr)
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
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return err.Error(), ""
		}
		defer resp.Body.Close()
		rest, _ := io.ReadAll(resp.Body)
		return resp.Proto + " " + resp.Status, string(rest)
	}
	t.Run("steady", func(t *testing.T) {
		t.Parallel()
		if line, _ := upload(t, addr, body.Len()); line != "HTTP/1.1 200 OK" {
			t.Fatalf("a chunk sent at 4 KiB/s: %q, want 200", line)
		}
		var n int
		if err := db.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM artifact_chunk_uploads").Scan(&n); err != nil || n != 1 {
			t.Errorf("chunks stored: %d (%v), want 1", n, err)
		}
	})
	t.Run("stalled", func(t *testing.T) {
		t.Parallel()
		if line, _ := upload(t, addr, 8<<10); line != "HTTP/1.1 408 Request Timeout" {
			t.Errorf("a chunk that stalls: %q, want 408", line)
		}
	})
	t.Run("below the server's rate", func(t *testing.T) {
		t.Parallel()
		line, rest := upload(t, demanding, body.Len())
		if line != "HTTP/1.1 408 Request Timeout" || !strings.Contains(rest, "slower than 65536 bytes a second") {
			t.Errorf("a chunk sent at 4 KiB/s to a server demanding 64 KiB/s: %q %q, want 408 naming the rate", line, rest)
		}
	})
}
