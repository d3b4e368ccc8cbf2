package dashboard

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"

	"github.com/klauspost/compress/gzhttp"
	"github.com/klauspost/compress/gzip"
)

// compressed wraps the dashboard's handler so that pages, the raw event
// JSON and the static files go out gzip- or zstd-compressed to browsers
// that accept it: an issue page of a large event is hundreds of
// kilobytes of HTML, most of it markup that compresses tenfold, and the
// EC2 dashboard is reached over the internet.
//
// Compressing a page that holds a secret next to text an attacker
// chose (an event's fields, a search reflected in the page) lets one
// who can make the browser load it many times and watch the responses'
// lengths guess the secret byte by byte (BREACH). So the one secret of
// ordinary pages, the CSRF token, is masked afresh in every response
// (maskCSRF); the pages that show another secret send themselves
// uncompressed (sendUncompressed); and the compressed length carries a
// few bytes of content-dependent padding. The session cookie is
// SameSite=Lax besides, so another site's requests carry no session.
func compressed(h http.Handler) http.Handler {
	wrap, err := gzhttp.NewWrapper(
		// The issue page of a 1 MB event, 445,854 bytes of HTML: gzip's
		// level 1 makes it 16,543 bytes in about 1.0 ms here, the
		// default level 15,070 in 2.2 to 2.9 ms. zstd, which gzhttp
		// prefers where the browser accepts it, makes 13,289 in 0.5 ms.
		gzhttp.CompressionLevel(gzip.BestSpeed),
		gzhttp.RandomJitter(32, 0, false),
	)
	if err != nil {
		// The options are constants; an error is a programming mistake.
		panic(err)
	}
	return wrap(h)
}

// sendUncompressed keeps this response's body uncompressed: the page
// shows a secret other than the CSRF token (a token or link shown once,
// a project's ingest key), which compression could leak (see
// compressed).
func sendUncompressed(w http.ResponseWriter) {
	w.Header().Set(gzhttp.HeaderNoCompression, "1")
}

// maskCSRF returns token, a base64url HMAC (sign), XORed with a fresh
// random pad and prefixed with the pad, so that the token a page carries
// differs in every response and compression cannot reveal it (see
// compressed). csrfEqual takes the pad off again.
func maskCSRF(token string) string {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != sha256.Size {
		return token
	}
	out := make([]byte, 2*sha256.Size)
	rand.Read(out[:sha256.Size])
	for i, b := range raw {
		out[sha256.Size+i] = b ^ out[i]
	}
	return base64.RawURLEncoding.EncodeToString(out)
}

// csrfEqual reports whether got, a token from a form or the CSRF header,
// is want: masked by maskCSRF, or as sign made it, which a page
// rendered before masking carries.
func csrfEqual(got, want string) bool {
	if raw, err := base64.RawURLEncoding.DecodeString(got); err == nil && len(raw) == 2*sha256.Size {
		plain := make([]byte, sha256.Size)
		for i := range plain {
			plain[i] = raw[i] ^ raw[sha256.Size+i]
		}
		got = base64.RawURLEncoding.EncodeToString(plain)
	}
	return tokenEqual(got, want)
}
