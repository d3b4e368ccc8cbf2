package api

import (
	"net/http"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/service"
	"github.com/getflytrap/flytrap/internal/store"
)

func (a *API) me(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, wireUser(caller(r)))
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request) {
	users, err := a.store.ListUsers(r.Context(), viewer(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page(users, wireUser, ""))
}

func (a *API) createUser(w http.ResponseWriter, r *http.Request) {
	var req apitypes.NewUser
	if !decodeBody(w, r, &req) {
		return
	}
	in := service.NewUser{Email: req.Email, Password: req.Password, Role: req.Role}
	if req.Invite {
		u, l, err := a.svc.Users.Invite(r.Context(), actor(r), in, a.linkBase)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		link := wireLink(l)
		writeJSON(w, http.StatusCreated, apitypes.CreatedUser{User: wireUser(u), Link: &link})
		return
	}
	u, err := a.svc.Users.Create(r.Context(), actor(r), in)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, apitypes.CreatedUser{User: wireUser(u)})
}

// resetPassword issues the user a one-time password reset link.
func (a *API) resetPassword(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "user_id")
	if !ok {
		return
	}
	_, l, err := a.svc.Users.IssueReset(r.Context(), actor(r), id, a.linkBase)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, wireLink(l))
}

// signOutUser ends the user's sessions and revokes their API tokens
// minted by signing in, keeping the password.
func (a *API) signOutUser(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "user_id")
	if !ok {
		return
	}
	u, revoked, err := a.svc.Users.SignOut(r.Context(), actor(r), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, apitypes.SignedOut{User: wireUser(u), TokensRevoked: revoked})
}

func wireLink(l service.PasswordLink) apitypes.PasswordLink {
	return apitypes.PasswordLink{Email: l.Email, Purpose: l.Purpose, URL: l.URL, ExpiresAt: l.ExpiresAt, Emailed: l.Emailed, MailError: l.MailError}
}

func (a *API) updateUser(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "user_id")
	if !ok {
		return
	}
	var req apitypes.RoleChange
	if !decodeBody(w, r, &req) {
		return
	}
	u, err := a.svc.Users.SetRole(r.Context(), actor(r), id, req.Role)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wireUser(u))
}

func (a *API) deleteUser(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "user_id")
	if !ok {
		return
	}
	if err := a.svc.Users.Delete(r.Context(), actor(r), id); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) listTokens(w http.ResponseWriter, r *http.Request) {
	tokens, err := a.store.ListAPITokens(r.Context(), caller(r).ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page(tokens, wireToken, ""))
}

// createToken issues a named token, which a password change keeps. A
// caller signed in with a token minted by the password (flytrap login) must
// send the password too: that token is a session, which a password change
// ends, and without the check whoever stole it could make a named token
// and keep access after the victim changed the password. GitHub and
// Sentry ask for the password (sudo mode) before a personal token for the
// same reason. A token created by name needs no password, having nothing
// to gain: it outlives a password change itself. A dashboard session
// needs none either: the dashboard's sign-in was the password.
func (a *API) createToken(w http.ResponseWriter, r *http.Request) {
	var req apitypes.NewToken
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Password == "" && callerToken(r).Origin == store.TokenSignIn {
		writeError(w, http.StatusForbidden, apitypes.CodePassword,
			"this token was made by signing in (flytrap login): send your password with the new token (flytrap tokens create asks for it), or create it on the dashboard's account page")
		return
	}
	if req.Password != "" {
		if _, ok := a.checkPassword(w, r, caller(r).Email, req.Password); !ok {
			return
		}
	}
	a.issueToken(w, r, actor(r), req, store.TokenCreated)
}

// issueToken issues the token nt for who and answers with its secret.
func (a *API) issueToken(w http.ResponseWriter, r *http.Request, who service.Actor, nt apitypes.NewToken, origin string) {
	secret, t, err := a.svc.Tokens.Issue(r.Context(), who, store.NewAPIToken{Name: nt.Name, Scope: nt.Scope, ExpiresAt: nt.ExpiresAt, Origin: origin})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, apitypes.CreatedToken{APIToken: wireToken(t), Token: secret})
}

// deleteTokenPattern is the route that revokes a token; a read-only token
// may use it on itself (see auth).
const deleteTokenPattern = "DELETE /api/v1/tokens/{token_id}"

func (a *API) deleteToken(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "token_id")
	if !ok {
		return
	}
	if err := a.svc.Tokens.Delete(r.Context(), actor(r), id); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
