package notify

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// nxdomainServer is a name server on loopback that answers every query
// "no such name", as a real one does for a typo: the resolver's failure is
// real, and names the address of the server resolv.conf lists, as the
// finding showed ("lookup example.com on 10.255.255.53:53: no such host").
func nxdomainServer(t *testing.T) string {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n < 12 {
				continue
			}
			// The query back, as a response (QR), recursion available,
			// rcode 3 (NXDOMAIN), no answers.
			buf[2] |= 0x80
			buf[3] = 0x80 | 3
			pc.WriteTo(buf[:n], addr)
		}
	}()
	return pc.LocalAddr().String()
}

// TestSendErrorsNameACategoryOnly: a send that gets no answer is stored
// as a category with what to check, never with the resolver's or the
// dialled address net/http's error quotes; the operator's log gets that
// error whole (sendError's cause).
func TestSendErrorsNameACategoryOnly(t *testing.T) {
	dns := nxdomainServer(t)
	resolving := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{Resolver: &net.Resolver{PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "udp", dns)
		}}}).DialContext}}

	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedURL := "http://" + closed.Addr().String() + "/hook"
	closed.Close()

	stall := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stall:
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(stall) })
	selfSigned := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	selfSigned.Config.ErrorLog = log.New(io.Discard, "", 0)
	selfSigned.StartTLS()
	t.Cleanup(selfSigned.Close)
	up := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(up.Close)
	_, port, _ := net.SplitHostPort(up.Listener.Addr().String())

	for _, tc := range []struct {
		name   string
		client *http.Client
		url    string
		want   string
		// cause is in the logged error and must not be in the stored one.
		cause     string
		permanent bool
	}{
		{"no such host", resolving, "http://hooks.example.com/T0/SECRETTOKEN",
			"POST http://hooks.example.com/…: could not resolve the host name: check its spelling", "no such host", false},
		{"connection refused", &http.Client{}, refusedURL,
			"POST " + HostURL(refusedURL) + ": connection refused: nothing listens on the host's port", "dial tcp", false},
		{"timeout", &http.Client{Timeout: 100 * time.Millisecond}, slow.URL + "/hook",
			"POST " + slow.URL + "/…: timed out: the receiver did not answer in time", "Client.Timeout exceeded", false},
		{"untrusted certificate", &http.Client{}, selfSigned.URL,
			"POST " + selfSigned.URL + ": TLS handshake failed: the receiver's certificate is not signed by a trusted authority", "x509", false},
		{"plain HTTP behind an https URL", &http.Client{}, "https://" + up.Listener.Addr().String() + "/hook",
			"POST https://" + up.Listener.Addr().String() + "/…: TLS handshake failed: the receiver answers plain HTTP on this port: use http:// or its TLS port",
			"server gave HTTP response to HTTPS client", false},
		{"private IP", newHTTPClient(time.Second, false), up.URL + "/hook",
			"POST " + up.URL + "/…: refused: 127.0.0.1 is not a public address: alerts are not posted to private networks (set " + EnvAllowPrivate + "=1 on the server to allow it)", "dial tcp", true},
		{"name of a private address", newHTTPClient(time.Second, false), "http://localhost:" + port + "/hook",
			"POST http://localhost:" + port + "/…: refused: the address localhost resolves to is not a public address: alerts are not posted to private networks (set " + EnvAllowPrivate + "=1 on the server to allow it)", "127.0.0.1 is not a public address", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := post(context.Background(), tc.client, tc.url, []byte("{}"), nil, false)
			if err == nil {
				t.Fatal("sent")
			}
			if err.Error() != tc.want {
				t.Errorf("stored error\n %q, want\n %q", err.Error(), tc.want)
			}
			var se *sendError
			if !errors.As(err, &se) || !strings.Contains(se.err.Error(), tc.cause) {
				t.Errorf("logged cause %v, want one with %q", se, tc.cause)
			}
			if strings.Contains(se.err.Error(), "SECRETTOKEN") {
				t.Errorf("logged cause %q has the URL's token", se.err)
			}
			var p permanent
			if errors.As(err, &p) != tc.permanent {
				t.Errorf("permanent = %v, want %v", !tc.permanent, tc.permanent)
			}
			t.Logf("stored %q; logged %q", err, se.err)
		})
	}
}
