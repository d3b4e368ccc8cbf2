// Package authheader reads the API token of an "Authorization: Bearer"
// header, the one way the REST API, the live stream, sentry-cli's routes
// and the operations endpoints take a token.
package authheader

import "strings"

// Bearer returns the token of h, an Authorization header's value, when its
// scheme is Bearer in any case: RFC 9110 (11.1) makes the scheme's name
// case-insensitive, and clients send "bearer" too. ok is false for another
// scheme and for an empty token.
func Bearer(h string) (token string, ok bool) {
	scheme, token, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
