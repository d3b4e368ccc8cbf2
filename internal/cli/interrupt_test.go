package cli

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
)

// TestInterruptedChange: a command interrupted (Ctrl-C cancels Run's
// context) once its change was sent says that the change may or may not
// have been made and how to check, as a timeout does, or, its 2xx answer
// cut off, that it was made; one interrupted before the request was
// written says nothing was changed. All exit 130.
func TestInterruptedChange(t *testing.T) {
	got := make(chan struct{}, 1)
	release := make(chan struct{})
	srv := httptest.NewServer(readsAnswered(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/comments") {
			// Made, and its answer cut off by the interrupt.
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(http.StatusCreated)
			w.Write([]byte(`{"id":`))
			w.(http.Flusher).Flush()
		} else {
			got <- struct{}{}
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	// Dials that never connect, until the context ends: the request is
	// never written.
	dialing := make(chan struct{}, 1)
	neverConnects := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		dialing <- struct{}{}
		<-ctx.Done()
		return nil, ctx.Err()
	}}
	// Tells when the answer's headers are in: the interrupt then cuts
	// its body off.
	answered := make(chan struct{}, 1)
	headersIn := roundTripper(func(r *http.Request) (*http.Response, error) {
		resp, err := http.DefaultTransport.RoundTrip(r)
		answered <- struct{}{}
		return resp, err
	})
	tests := []struct {
		args   []string
		client *http.Client
		wait   chan struct{}
		said   string
		hint   string
	}{
		{[]string{"issues", "resolve", "123"}, &http.Client{}, got,
			"interrupted after the request was sent to " + srv.URL + "; the change may or may not have been applied\n",
			"hint: check with `flytrap issues view 123` before running the command again"},
		{[]string{"members", "add", "web", "ada@example.com"}, &http.Client{}, got,
			"the change may or may not have been applied\n", "hint: check with `flytrap members list web` before"},
		{[]string{"issues", "comment", "123", "fixed"}, &http.Client{Transport: headersIn}, answered,
			"the server at " + srv.URL + " made the change, but its answer was cut off",
			"hint: do not run the command again; read the change back with `flytrap issues view 123`"},
		{[]string{"issues", "comment", "123", "fixed"}, &http.Client{Transport: neverConnects}, dialing,
			"interrupted before the request reached " + srv.URL + "; nothing was changed\n", ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			f := testFactory(t, map[string]string{"FLYTRAP_URL": srv.URL, "FLYTRAP_TOKEN": "flyt_test"}, &out, &errOut)
			f.HTTPClient = tt.client
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() {
				<-tt.wait
				cancel()
			}()
			code := Run(ctx, f, tt.args)
			stderr := errOut.String()
			if code != cmdutil.ExitInterrupted || !strings.Contains(stderr, tt.said) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d and %q", code, stderr, cmdutil.ExitInterrupted, tt.said)
			}
			if tt.hint != "" && !strings.Contains(stderr, tt.hint) {
				t.Errorf("stderr:\n%s\nwant %q", stderr, tt.hint)
			}
			if tt.hint == "" && strings.Contains(stderr, "hint:") {
				t.Errorf("stderr:\n%s\nwant no hint: nothing was sent", stderr)
			}
		})
	}
}

// roundTripper is a function as an http.RoundTripper.
type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
