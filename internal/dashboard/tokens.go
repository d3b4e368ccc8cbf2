package dashboard

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/getflytrap/flytrap/internal/store"
)

// tokenLifetimes are the expiry choices of the tokens form, in days; 0 is
// never.
var tokenLifetimes = []struct {
	Days  int
	Label string
}{{0, "Never"}, {7, "7 days"}, {30, "30 days"}, {90, "90 days"}, {365, "1 year"}}

// tokensData is the tokens page's model.
type tokensData struct {
	Tokens    []store.APIToken
	Lifetimes any
	// Created is the token just made, with Secret shown this once.
	Created *store.APIToken
	Secret  string
	Error   string
	Form    struct {
		Name, Scope string
		Days        int
	}
	Now time.Time
}

// newToken is a token's secret on its way from the form that issued it
// to the tokens page (redirectReveal).
type newToken struct {
	Name   string `json:"name"`
	Secret string `json:"secret"`
}

func (d *Dashboard) tokensPage(w http.ResponseWriter, r *http.Request, s *session) {
	data := &tokensData{}
	var nt newToken
	if d.takeReveal(w, r, s, &nt) {
		data.Created, data.Secret = &store.APIToken{Name: nt.Name}, nt.Secret
	}
	d.showTokens(w, r, s, http.StatusOK, data)
}

// showTokens renders the tokens page with the user's tokens.
func (d *Dashboard) showTokens(w http.ResponseWriter, r *http.Request, s *session, status int, data *tokensData) {
	ts, err := d.store.ListAPITokens(r.Context(), s.user.ID)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	data.Tokens, data.Lifetimes, data.Now = ts, tokenLifetimes, d.now()
	if data.Form.Scope == "" {
		data.Form.Scope = store.ScopeFull
	}
	d.render(w, r, status, "tokens", &view{Title: "API tokens", Nav: "account", Data: data})
}

// createToken issues a token and redirects to the tokens page, which
// shows its secret once (redirectReveal): a reload issues no second token.
func (d *Dashboard) createToken(w http.ResponseWriter, r *http.Request, s *session) {
	data := &tokensData{}
	data.Form.Name, data.Form.Scope = strings.TrimSpace(r.PostForm.Get("name")), r.PostForm.Get("scope")
	nt := store.NewAPIToken{Name: data.Form.Name, Scope: data.Form.Scope}
	if v := r.PostForm.Get("expires_days"); v != "" && v != "0" {
		days, err := strconv.Atoi(v)
		if err != nil || days < 1 || days > 3650 {
			data.Error = "Choose an expiry from the list."
			d.showTokens(w, r, s, http.StatusBadRequest, data)
			return
		}
		data.Form.Days = days
		at := d.now().Add(time.Duration(days) * 24 * time.Hour)
		nt.ExpiresAt = &at
	}
	secret, t, err := d.svc.Tokens.Issue(r.Context(), s.actor(), nt)
	if msg, ok := refusal(err); ok {
		data.Error = msg
		d.showTokens(w, r, s, http.StatusBadRequest, data)
		return
	}
	if err != nil {
		d.fail(w, r, err)
		return
	}
	d.redirectReveal(w, r, s, "/account/tokens", "", newToken{Name: t.Name, Secret: secret})
}

func (d *Dashboard) revokeToken(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok := pathID(r, "id")
	if !ok {
		d.notFound(w, r)
		return
	}
	if err := d.svc.Tokens.Delete(r.Context(), s.actor(), id); err != nil {
		d.fail(w, r, err)
		return
	}
	d.redirect(w, r, "/account/tokens", "Token revoked. Programs using it are refused from now on.")
}
