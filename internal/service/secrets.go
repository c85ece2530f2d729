package service

import (
	"context"
	"fmt"
	"regexp"

	"github.com/turbocat/turbocat/internal/secrets"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// Secrets encrypts users' secret values before storage and decrypts them
// only for the step runner, at the moment of use.
type Secrets struct {
	Store  turbocat.SecretStore
	Cipher secrets.Cipher // nil: secrets are not configured
}

// SecretInput is the body of POST /secrets.
type SecretInput struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

var secretName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// MaxSecretBytes bounds one secret value.
const MaxSecretBytes = 64 << 10

func (s *Secrets) ready() error {
	if s.Cipher == nil {
		return turbocat.Errorf(turbocat.EUNAVAILABLE, "secrets are not configured on this server: set TURBOCAT_SECRETS_KEY")
	}
	return nil
}

// Put creates or replaces a secret of the actor's.
func (s *Secrets) Put(ctx context.Context, actor *turbocat.Actor, in SecretInput) (*turbocat.SecretMeta, bool, error) {
	var details []turbocat.FieldError
	if !secretName.MatchString(in.Name) {
		details = append(details, turbocat.FieldError{Field: "name", Message: "must be 1 to 64 letters, digits or underscores, not starting with a digit (e.g. OPENAI_API_KEY)"})
	}
	if in.Value == "" || len(in.Value) > MaxSecretBytes {
		details = append(details, turbocat.FieldError{Field: "value", Message: fmt.Sprintf("must be 1 to %d bytes", MaxSecretBytes)})
	}
	if len(details) > 0 {
		return nil, false, turbocat.ValidationError("invalid secret", details...)
	}
	if err := s.ready(); err != nil {
		return nil, false, err
	}
	ct, err := s.Cipher.Encrypt(ctx, []byte(in.Value), secrets.AssociatedData(actor.UserID, in.Name))
	if err != nil {
		return nil, false, fmt.Errorf("encrypt secret: %w", err)
	}
	return s.Store.PutSecret(ctx, actor.UserID, in.Name, ct)
}

// Resolve returns the plaintext values of the named secrets of userID. A
// name that does not exist is an error naming it (never a value).
func (s *Secrets) Resolve(ctx context.Context, userID string, names []string) (map[string]string, error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	cts, err := s.Store.SecretCiphertexts(ctx, userID, names)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(names))
	for _, n := range names {
		ct, ok := cts[n]
		if !ok {
			return nil, turbocat.Errorf(turbocat.EVALIDATION, "secret %q does not exist; create it with POST /api/v1/secrets", n)
		}
		pt, err := s.Cipher.Decrypt(ctx, ct, secrets.AssociatedData(userID, n))
		if err != nil {
			return nil, fmt.Errorf("decrypt secret %q: %w", n, err)
		}
		out[n] = string(pt)
	}
	return out, nil
}

// ResolveOne returns one secret's plaintext.
func (s *Secrets) ResolveOne(ctx context.Context, userID, name string) (string, error) {
	m, err := s.Resolve(ctx, userID, []string{name})
	if err != nil {
		return "", err
	}
	return m[name], nil
}

// List returns the names of the actor's secrets (never their values).
func (s *Secrets) List(ctx context.Context, actor *turbocat.Actor) ([]*turbocat.SecretMeta, error) {
	list, err := s.Store.ListSecrets(ctx, actor.UserID)
	if list == nil {
		list = []*turbocat.SecretMeta{}
	}
	return list, err
}

// Delete deletes one of the actor's secrets; ENOTFOUND for an unknown name.
func (s *Secrets) Delete(ctx context.Context, actor *turbocat.Actor, name string) error {
	return s.Store.DeleteSecret(ctx, actor.UserID, name)
}
