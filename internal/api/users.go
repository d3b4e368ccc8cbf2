package api

import (
	"net/http"

	"github.com/getflytrap/flytrap/internal/service"
	"github.com/getflytrap/flytrap/internal/store"
)

func (a *API) me(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, caller(r))
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request) {
	users, err := a.store.ListUsers(r.Context(), viewer(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list[store.User]{Data: nonNil(users)})
}

type newUser struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Role     string `json:"role"`
}

func (a *API) createUser(w http.ResponseWriter, r *http.Request) {
	var req newUser
	if !decodeBody(w, r, &req) {
		return
	}
	u, err := a.svc.Users.Create(r.Context(), actor(r), service.NewUser{Email: req.Email, Password: req.Password, Role: req.Role})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, u)
}

type roleChange struct {
	Role string `json:"role"`
}

func (a *API) updateUser(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "user_id")
	if !ok {
		return
	}
	var req roleChange
	if !decodeBody(w, r, &req) {
		return
	}
	u, err := a.svc.Users.SetRole(r.Context(), actor(r), id, req.Role)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
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
	writeJSON(w, http.StatusOK, list[store.APIToken]{Data: nonNil(tokens)})
}

type newToken struct {
	Name string `json:"name"`
}

// createdToken is a new token with its secret, shown this once.
type createdToken struct {
	store.APIToken
	Token string `json:"token"`
}

func (a *API) createToken(w http.ResponseWriter, r *http.Request) {
	var req newToken
	if !decodeBody(w, r, &req) {
		return
	}
	secret, t, err := a.svc.Tokens.Create(r.Context(), actor(r), req.Name)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, createdToken{APIToken: t, Token: secret})
}

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
