package api

import (
	"net/http"
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/getflytrap/flytrap/internal/auth"
	"github.com/getflytrap/flytrap/internal/store"
)

// Limits on what callers name things.
const (
	minPasswordLength = 8
	// maxPasswordLength bounds the work of hashing a password.
	maxPasswordLength = 1024
	maxEmailLength    = 254 // the longest address SMTP can carry
	maxTokenName      = 100
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

// validEmail accepts a bare address (no display name, no angle brackets).
func validEmail(s string) bool {
	addr, err := mail.ParseAddress(s)
	return err == nil && addr.Address == s && len(s) <= maxEmailLength
}

func (a *API) createUser(w http.ResponseWriter, r *http.Request) {
	// CreateUser serves bootstrap too and takes no viewer, so the check
	// is here.
	if !viewer(r).Admin {
		a.fail(w, r, store.ErrForbidden)
		return
	}
	var req newUser
	if !decodeBody(w, r, &req) {
		return
	}
	req.Email = strings.TrimSpace(req.Email)
	if req.Role == "" {
		req.Role = store.RoleMember
	}
	switch n := utf8.RuneCountInString(req.Password); {
	case !validEmail(req.Email):
		writeError(w, http.StatusBadRequest, "bad_request", "email must be an address such as ada@example.com")
		return
	case n < minPasswordLength || n > maxPasswordLength:
		writeError(w, http.StatusBadRequest, "bad_request", "password must be 8 to 1024 characters")
		return
	case req.Role != store.RoleAdmin && req.Role != store.RoleMember:
		writeError(w, http.StatusBadRequest, "bad_request", `role must be "admin" or "member"`)
		return
	}
	hash, err := auth.HashPassword(req.Password)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	u, err := a.store.CreateUser(r.Context(), req.Email, hash, req.Role)
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
	u, err := a.store.SetUserRole(r.Context(), viewer(r), id, req.Role)
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
	if err := a.store.DeleteUser(r.Context(), viewer(r), id); err != nil {
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
	name := strings.TrimSpace(req.Name)
	if name == "" || utf8.RuneCountInString(name) > maxTokenName {
		writeError(w, http.StatusBadRequest, "bad_request", "name must be 1 to 100 characters, such as the machine the token is for")
		return
	}
	secret, t, err := a.store.CreateAPIToken(r.Context(), caller(r).ID, name)
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
	if err := a.store.DeleteAPIToken(r.Context(), caller(r).ID, id); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
