package dashboard

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzhttp"
	"github.com/klauspost/compress/zstd"
)

// decoded returns r's body decoded by its Content-Encoding.
func decoded(t *testing.T, r response) string {
	t.Helper()
	var rd io.Reader
	var err error
	switch enc := r.Header.Get("Content-Encoding"); enc {
	case "":
		return r.Body
	case "gzip":
		rd, err = gzip.NewReader(strings.NewReader(r.Body))
	case "zstd":
		var d *zstd.Decoder
		d, err = zstd.NewReader(strings.NewReader(r.Body))
		if err == nil {
			defer d.Close()
			rd = d
		}
	default:
		t.Fatalf("Content-Encoding %q", enc)
	}
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rd)
	if err != nil {
		t.Fatalf("%s body: %v", r.Header.Get("Content-Encoding"), err)
	}
	return string(b)
}

// Pages, the raw event and the static files go out compressed to a
// browser that accepts it, in the encoding it prefers, and as they were
// to one that does not.
func TestResponsesCompressed(t *testing.T) {
	f := newFixture(t)
	issue := issuePath(f.issue)
	tests := []struct {
		name, path, accept, wantEnc, wantBody string
	}{
		{"issue page, gzip", issue, "gzip", "gzip", "submitOrder"},
		{"issue page, Chromium", issue, "gzip, deflate, br, zstd", "zstd", "submitOrder"},
		{"issue page, gzip refused", issue, "gzip;q=0", "", "submitOrder"},
		{"issue page, nothing accepted", issue, "", "", "submitOrder"},
		{"issue list", fmt.Sprintf("/projects/%d/issues", f.web.ID), "gzip", "gzip", "TypeError"},
		{"raw event", fmt.Sprintf("%s/events/%s/raw", issue, f.event1), "gzip", "gzip", f.event1},
		{"stylesheet", "/static/app.css", "gzip", "gzip", "body"},
		{"a redirect's short body", "/", "gzip", "", "/projects"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{}
			if tt.accept != "" {
				h["Accept-Encoding"] = tt.accept
			}
			r := f.do(request{role: roleMember, path: tt.path, header: h})
			if r.StatusCode >= 500 {
				t.Fatalf("HTTP %d", r.StatusCode)
			}
			if got := r.Header.Get("Content-Encoding"); got != tt.wantEnc {
				t.Errorf("Content-Encoding %q, want %q", got, tt.wantEnc)
			}
			if !strings.Contains(r.Header.Get("Vary"), "Accept-Encoding") {
				t.Errorf("Vary %q: a cache would serve one encoding to every browser", r.Header.Get("Vary"))
			}
			body := decoded(t, r)
			if !strings.Contains(body, tt.wantBody) {
				t.Errorf("body has no %q:\n%s", tt.wantBody, excerpt(body))
			}
			if tt.wantEnc != "" && len(r.Body) >= len(body) {
				t.Errorf("%d bytes sent for %d: not compressed", len(r.Body), len(body))
			}
		})
	}
}

// A page that shows a secret besides the CSRF token is never compressed,
// so that its length tells nothing of the secret (see compressed).
func TestSecretPagesUncompressed(t *testing.T) {
	f := newFixture(t)
	empty := f.createProject("empty")
	gz := map[string]string{"Accept-Encoding": "gzip, zstd"}
	check := func(t *testing.T, r response, secret string) {
		t.Helper()
		wantStatus(t, r, http.StatusOK)
		if enc := r.Header.Get("Content-Encoding"); enc != "" {
			t.Errorf("Content-Encoding %q on a page with a secret", enc)
		}
		if r.Header.Get(gzhttp.HeaderNoCompression) != "" {
			t.Errorf("the internal %s header was sent", gzhttp.HeaderNoCompression)
		}
		wantBody(t, r, secret)
	}
	for _, tt := range []struct{ name, path, secret string }{
		{"setup", fmt.Sprintf("/projects/%d/setup", f.web.ID), f.webKey.PublicKey},
		{"project settings", fmt.Sprintf("/admin/projects/%d", f.web.ID), f.webKey.PublicKey},
		{"empty project's issues, with its DSN", fmt.Sprintf("/projects/%d/issues?query=abc", empty.ID), "@flytrap.test"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			check(t, f.do(request{role: roleAdmin, path: tt.path, header: gz}), tt.secret)
		})
	}
	t.Run("a new token, shown once", func(t *testing.T) {
		r := f.post(roleAdmin, "/account/tokens", url.Values{"name": {"ci"}, "scope": {"read"}, "expires_days": {"30"}})
		wantRedirect(t, r, "/account/tokens")
		shown := f.do(request{role: roleAdmin, path: "/account/tokens", header: gz, cookies: r.Cookies()})
		check(t, shown, "flyt_")
		// The same page without a secret to show is compressed.
		again := f.do(request{role: roleAdmin, path: "/account/tokens", header: gz})
		if again.Header.Get("Content-Encoding") == "" {
			t.Error("the tokens page without a new token was not compressed")
		}
	})
}

// Every response carries the CSRF token under a fresh mask, each of
// which the forms accept; a mask that was tampered with, or another
// session's token however masked, is refused.
func TestCSRFMaskedPerResponse(t *testing.T) {
	f := newFixture(t)
	path := issuePath(f.issue)
	want := f.csrf(f.sessions[roleMember])
	seen := map[string]bool{}
	var tokens []string
	for range 3 {
		r := f.get(roleMember, path)
		m := metaCSRF.FindStringSubmatch(r.Body)
		if m == nil {
			t.Fatal("no csrf-token meta tag")
		}
		if seen[m[1]] || strings.Contains(r.Body, want) {
			t.Fatalf("token %q repeated or sent unmasked", m[1])
		}
		seen[m[1]] = true
		if !csrfEqual(m[1], want) {
			t.Errorf("the page's token %q does not unmask to the session's", m[1])
		}
		tokens = append(tokens, m[1])
	}
	tampered := []byte(tokens[0])
	tampered[len(tampered)-1] ^= 1
	for _, tt := range []struct {
		name, token string
		ok          bool
	}{
		{"masked", tokens[1], true},
		{"as signed", want, true},
		{"tampered", string(tampered), false},
		{"another session's, masked", maskCSRF(f.csrf(f.sessions[roleAdmin])), false},
		{"pad only", tokens[2][:43], false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := f.do(request{method: http.MethodPost, role: roleMember, path: path + "/status",
				form: url.Values{"status": {"unresolved"}, csrfField: {tt.token}}})
			if got := r.StatusCode == http.StatusSeeOther; got != tt.ok {
				t.Errorf("HTTP %d, accepted %v, want %v", r.StatusCode, got, tt.ok)
			}
		})
	}
	if !bytes.Equal([]byte(maskCSRF("not base64!")), []byte("not base64!")) {
		t.Error("a token that is not an HMAC was changed")
	}
}
