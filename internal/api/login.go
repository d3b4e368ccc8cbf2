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
// of that user's, so a CLI can get its first token without a browser. It
// counts attempts in the sign-in form's throttle before the password is
// checked, and hashes in the same bounded pool: the endpoint is no cheaper
// a way to guess passwords than the form. A wrong address and a wrong
// password get the same 401.
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
	at, slow, wait := a.throttle.Begin(email, a.clientKey(r), a.now())
	if wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		writeError(w, http.StatusTooManyRequests, apitypes.CodeTooMany, "too many failed sign-ins; wait for the Retry-After seconds and try again")
		return
	}
	if !a.throttle.Hold(r.Context(), at, slow) {
		return
	}
	u, err := a.svc.Users.Authenticate(r.Context(), email, req.Password)
	if errors.Is(err, service.ErrBadCredentials) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="flytrap"`)
		writeError(w, http.StatusUnauthorized, apitypes.CodeUnauthorized, "wrong email or password")
		return
	}
	if err != nil {
		a.throttle.Cancel(at)
		a.fail(w, r, err)
		return
	}
	a.throttle.Succeeded(at)
	// A token minted by the password is a session in all but name:
	// changing the password revokes it (service.Users.ChangePassword).
	a.issueToken(w, r, service.ActorOf(u), req.NewToken, store.TokenSignIn)
}
