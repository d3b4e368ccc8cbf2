// Package cutoff answers an HTTP request the way a connection lost part
// way through an answer looks to a client: the status line and headers
// whole, then fewer body bytes than Content-Length announced.
package cutoff

import (
	"fmt"
	"net/http"
	"testing"
)

// Answer writes status with a JSON body of 100 bytes announced and only
// the start of one sent, then closes the connection; status 0 closes it
// before the status line.
func Answer(t testing.TB, w http.ResponseWriter, status int) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Error(err)
		return
	}
	defer conn.Close()
	if status != 0 {
		fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"error\":{\"code\":", status, http.StatusText(status))
		buf.Flush()
	}
}
