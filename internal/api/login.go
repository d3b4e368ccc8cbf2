package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/service"
	"github.com/getflytrap/flytrap/internal/store"
)

// tokenLoginPattern is the route that exchanges a password for a token.
const tokenLoginPattern = "POST /api/v1/auth/token"

// tokenLogin exchanges an email address and password for a new API token
// of that user's, so a CLI can get its first token without a browser. The
// password is checked by checkPassword, throttled as the sign-in form is.
func (a *API) tokenLogin(w http.ResponseWriter, r *http.Request) {
	var req apitypes.TokenLogin
	if !decodeBody(w, r, &req) {
		return
	}
	email := strings.TrimSpace(req.Email)
	if email == "" || req.Password == "" {
		writeError(w, http.StatusBadRequest, apitypes.CodeBadRequest, "send email and password")
		return
	}
	u, ok := a.checkPassword(w, r, email, req.Password)
	if !ok {
		return
	}
	// A token minted by the password is a session in all but name:
	// changing the password revokes it (service.Users.ChangePassword).
	a.issueToken(w, r, service.ActorOf(u), req.NewToken, store.TokenSignIn)
}

// checkPassword authenticates email and password for a handler, or answers
// the request itself and reports false. It counts the attempt in the
// sign-in form's throttle before the password is checked, and hashes in
// the same bounded pool: no endpoint that takes a password is a cheaper
// way to guess it than the form. A wrong address and a wrong password get
// the same answer: 401 when the password is the credential (sign-in), 403
// when the caller already signed in with a token and the password only
// confirms it is them.
func (a *API) checkPassword(w http.ResponseWriter, r *http.Request, email, password string) (store.User, bool) {
	at, slow, wait := a.throttle.Begin(email, a.clientKey(r), a.now())
	if wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		writeError(w, http.StatusTooManyRequests, apitypes.CodeTooMany, "too many failed sign-ins; wait for the Retry-After seconds and try again")
		return store.User{}, false
	}
	if !a.throttle.Hold(r.Context(), at, slow) {
		return store.User{}, false
	}
	u, err := a.svc.Users.Authenticate(r.Context(), email, password)
	if errors.Is(err, service.ErrBadCredentials) {
		if caller(r).ID != 0 {
			writeError(w, http.StatusForbidden, apitypes.CodePassword, "wrong password")
			return store.User{}, false
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="flytrap"`)
		writeError(w, http.StatusUnauthorized, apitypes.CodeUnauthorized, "wrong email or password")
		return store.User{}, false
	}
	if err != nil {
		a.throttle.Cancel(at)
		a.fail(w, r, err)
		return store.User{}, false
	}
	a.throttle.Succeeded(at)
	return u, true
}
