package service

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/store"
)

// MaxTokenName bounds API token names.
const MaxTokenName = 100

// Tokens issues and revokes the actor's own API tokens. Every user may
// have tokens; nobody manages another user's.
type Tokens struct {
	store Store
	now   func() time.Time
}

// Create issues a full, never-expiring API token for a under name; see
// Issue.
func (s *Tokens) Create(ctx context.Context, a Actor, name string) (string, store.APIToken, error) {
	return s.Issue(ctx, a, store.NewAPIToken{Name: name})
}

// Issue issues an API token for a: its name is trimmed and 1 to
// MaxTokenName characters, without control characters or bidi controls
// (see event.IsControl), its scope store.ScopeFull (the default) or
// store.ScopeReadOnly, its expiry, if any, in the future. It returns the
// secret, which exists only in this answer.
func (s *Tokens) Issue(ctx context.Context, a Actor, nt store.NewAPIToken) (string, store.APIToken, error) {
	nt.Name = strings.TrimSpace(nt.Name)
	if nt.Name == "" || utf8.RuneCountInString(nt.Name) > MaxTokenName {
		return "", store.APIToken{}, refuse(ErrInvalid, "The token name must be 1 to 100 characters, such as the machine the token is for.")
	}
	if !utf8.ValidString(nt.Name) {
		return "", store.APIToken{}, refuse(ErrInvalid, "Token names must be valid UTF-8 text.")
	}
	if event.HasControl(nt.Name) {
		return "", store.APIToken{}, refuse(ErrInvalid, "Token names cannot contain control characters or bidi controls (such as U+202E).")
	}
	switch nt.Scope {
	case "":
		nt.Scope = store.ScopeFull
	case store.ScopeFull, store.ScopeReadOnly:
	default:
		return "", store.APIToken{}, refuse(ErrInvalid, "The token scope must be %q or %q (read-only).", store.ScopeFull, store.ScopeReadOnly)
	}
	if nt.ExpiresAt != nil && !nt.ExpiresAt.After(s.now()) {
		return "", store.APIToken{}, refuse(ErrInvalid, "The expiry must be in the future; leave it out for a token that does not expire.")
	}
	return s.store.IssueAPIToken(ctx, a.UserID, nt)
}

// Delete revokes one of a's tokens; another user's token is ErrNotFound,
// like a missing one.
func (s *Tokens) Delete(ctx context.Context, a Actor, tokenID int64) error {
	return s.store.DeleteAPIToken(ctx, a.UserID, tokenID)
}
