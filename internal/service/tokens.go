package service

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/getflytrap/flytrap/internal/store"
)

// MaxTokenName bounds API token names.
const MaxTokenName = 100

// Tokens issues and revokes the actor's own API tokens. Every user may
// have tokens; nobody manages another user's.
type Tokens struct {
	store Store
}

// Create issues an API token for a under name (trimmed, 1 to MaxTokenName
// characters) and returns its secret, which exists only in this answer.
func (s *Tokens) Create(ctx context.Context, a Actor, name string) (string, store.APIToken, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > MaxTokenName {
		return "", store.APIToken{}, refuse(ErrInvalid, "The token name must be 1 to 100 characters, such as the machine the token is for.")
	}
	return s.store.CreateAPIToken(ctx, a.UserID, name)
}

// Delete revokes one of a's tokens; another user's token is ErrNotFound,
// like a missing one.
func (s *Tokens) Delete(ctx context.Context, a Actor, tokenID int64) error {
	return s.store.DeleteAPIToken(ctx, a.UserID, tokenID)
}
