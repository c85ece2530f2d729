package service

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/turbocat/turbocat/internal/auth"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// APIKeys creates, lists and revokes API keys. The secret part of a key is
// shown once, at creation; only its hash is stored.
type APIKeys struct {
	Store turbocat.APIKeyStore
	Now   func() time.Time
}

func (s *APIKeys) now() time.Time { return nowOr(s.Now) }

// CreateAPIKeyInput is the body of POST /api-keys.
type CreateAPIKeyInput struct {
	Name      string     `json:"name"`
	Scopes    []string   `json:"scopes"`
	ExpiresAt *time.Time `json:"expiresAt"`
}

// CreatedAPIKey is an API key with its secret, returned once.
type CreatedAPIKey struct {
	*turbocat.APIKey
	Key string `json:"key"`
}

// Create creates a key for the actor. A key cannot grant scopes its
// creator lacks (an API key creating keys).
func (s *APIKeys) Create(ctx context.Context, actor *turbocat.Actor, in CreateAPIKeyInput) (*CreatedAPIKey, error) {
	var details []turbocat.FieldError
	name := strings.TrimSpace(in.Name)
	if name == "" || utf8.RuneCountInString(name) > 100 {
		details = append(details, turbocat.FieldError{Field: "name", Message: "must be 1 to 100 characters"})
	}
	if len(in.Scopes) == 0 {
		details = append(details, turbocat.FieldError{Field: "scopes", Message: "must list at least one scope, e.g. workflows:read"})
	}
	for i, sc := range in.Scopes {
		switch {
		case !auth.ValidScope(sc):
			details = append(details, turbocat.FieldError{Field: fmt.Sprintf("scopes[%d]", i), Message: fmt.Sprintf("unknown scope %q; known scopes: %s", sc, strings.Join(auth.Scopes, ", "))})
		case !actor.HasScope(sc):
			details = append(details, turbocat.FieldError{Field: fmt.Sprintf("scopes[%d]", i), Message: "a key cannot grant a scope its creator does not hold"})
		}
	}
	if in.ExpiresAt != nil && !in.ExpiresAt.After(s.now()) {
		details = append(details, turbocat.FieldError{Field: "expiresAt", Message: "must be in the future"})
	}
	if len(details) > 0 {
		return nil, turbocat.ValidationError("invalid API key", details...)
	}
	scopes := slices.Clone(in.Scopes)
	slices.Sort(scopes)
	scopes = slices.Compact(scopes)
	key, prefix, hash := auth.NewAPIKey()
	k := &turbocat.APIKey{UserID: actor.UserID, Name: name, Prefix: prefix, KeyHash: hash, Scopes: scopes, ExpiresAt: in.ExpiresAt}
	if err := s.Store.CreateAPIKey(ctx, k); err != nil {
		return nil, err
	}
	return &CreatedAPIKey{APIKey: k, Key: key}, nil
}

// List returns a page of the actor's keys (never their secrets).
func (s *APIKeys) List(ctx context.Context, actor *turbocat.Actor, p turbocat.Page) (*turbocat.List[*turbocat.APIKey], error) {
	return s.Store.ListAPIKeys(ctx, actor.UserID, p)
}

// Revoke revokes one of the actor's keys at once.
func (s *APIKeys) Revoke(ctx context.Context, actor *turbocat.Actor, id string) (*turbocat.APIKey, error) {
	return s.Store.RevokeAPIKey(ctx, actor.UserID, id)
}
