package bench

import (
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/ops"
)

// TestBaselineServerHeaderBounds: the baseline server bounds headers as
// the main server does, where Go's defaults were a 1 MiB header and no
// timeout.
func TestBaselineServerHeaderBounds(t *testing.T) {
	srv := baselineServer()
	if srv.ReadHeaderTimeout != ops.ReadHeaderTimeout {
		t.Errorf("ReadHeaderTimeout = %v, want ops.ReadHeaderTimeout", srv.ReadHeaderTimeout)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	for _, tt := range []struct {
		size int
		want int
	}{
		{1 << 10, http.StatusOK},
		{ops.MaxHeaderBytes + 8<<10, http.StatusRequestHeaderFieldsTooLarge},
	} {
		req, _ := http.NewRequest("POST", "http://"+ln.Addr().String()+"/api/1/envelope/", strings.NewReader("{}"))
		req.Header.Set("X-Big", strings.Repeat("x", tt.size))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("a %d-byte header: %v", tt.size, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("a %d-byte header: HTTP %d, want %d", tt.size, resp.StatusCode, tt.want)
		}
	}
}
