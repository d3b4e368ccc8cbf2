package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/getflytrap/flytrap/internal/apitypes"
)

// recorder is a plain-HTTP listener on the same host as the TLS server,
// another port and scheme: Go's client would send it the Authorization
// header of a redirected request.
type recorder struct {
	mu   sync.Mutex
	seen []string // each request's Authorization header and body
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.seen = append(r.seen, req.Header.Get("Authorization")+" "+string(body))
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"id":1,"email":"ada@example.com","role":"admin","token":"flyt_stolen"}`)
}

func TestRedirectAwayIsNotFollowed(t *testing.T) {
	rec := &recorder{}
	plain := httptest.NewServer(rec)
	t.Cleanup(plain.Close)
	for _, status := range []int{http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, plain.URL+r.URL.RequestURI(), status)
		}))
		t.Cleanup(tls.Close)
		if !strings.HasPrefix(plain.URL, "http://127.0.0.1:") || !strings.HasPrefix(tls.URL, "https://127.0.0.1:") {
			t.Fatalf("servers not on one host: %s %s", plain.URL, tls.URL)
		}
		// The test server's own client has no CheckRedirect: New must
		// confine whatever client it is given.
		c, err := New(tls.URL, "flyt_secret", WithHTTPClient(tls.Client()))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		var re *RedirectError
		_, err = c.Me(ctx)
		if !errors.As(err, &re) || re.From != tls.URL+"/api/v1/me" || re.To != plain.URL+"/api/v1/me" {
			t.Errorf("%d: Me: %v, want a RedirectError from %s to %s", status, err, tls.URL, plain.URL)
		} else if !strings.Contains(err.Error(), tls.URL+"/api/v1/me redirected to "+plain.URL+"/api/v1/me") {
			t.Errorf("%d: message %q does not name both URLs", status, err)
		}
		login := apitypes.TokenLogin{Email: "ada@example.com", NewToken: apitypes.NewToken{Name: "cli", Password: "hunter2-password"}}
		if _, err := c.TokenLogin(ctx, login); !errors.As(err, &re) {
			t.Errorf("%d: TokenLogin: %v, want a RedirectError", status, err)
		}
		if _, err := c.Stream(ctx, nil); !errors.As(err, &re) {
			t.Errorf("%d: Stream: %v, want a RedirectError", status, err)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.seen) != 0 {
		t.Errorf("the http listener was sent %q: the token or password left the https URL", rec.seen)
	}
}

func TestRedirectWithinOriginIsFollowed(t *testing.T) {
	tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/me" {
			http.Redirect(w, r, "https://"+r.Host+"/api/v1/me/", http.StatusMovedPermanently)
			return
		}
		if r.Header.Get("Authorization") != "Bearer flyt_secret" {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":{"code":"unauthorized","message":"invalid API token"}}`)
			return
		}
		io.WriteString(w, `{"id":1,"email":"ada@example.com","role":"admin"}`)
	}))
	t.Cleanup(tls.Close)
	c, err := New(tls.URL, "flyt_secret", WithHTTPClient(tls.Client()))
	if err != nil {
		t.Fatal(err)
	}
	u, err := c.Me(context.Background())
	if err != nil || u.Email != "ada@example.com" {
		t.Fatalf("Me through a same-origin redirect: %+v, %v", u, err)
	}
}
