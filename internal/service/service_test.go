package service_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/auth"
	"github.com/turbocat/turbocat/internal/postgres"
	"github.com/turbocat/turbocat/internal/postgres/pgtest"
	"github.com/turbocat/turbocat/internal/service"
	"github.com/turbocat/turbocat/internal/turbocat"
)

func newAuth(t testing.TB) (*service.Auth, *service.APIKeys) {
	db := postgres.NewDB(pgtest.Pool(t))
	tok, err := auth.NewTokens([]byte("0123456789abcdef0123456789abcdef"), 15*time.Minute, nil)
	require.NoError(t, err)
	return &service.Auth{Users: db, APIKeys: db, Audit: db, Hasher: auth.NewHasher(auth.DefaultArgon2, runtime.GOMAXPROCS(0)),
		Tokens: tok, RefreshTTL: time.Hour}, &service.APIKeys{Store: db}
}

func TestNormalizeEmail(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{"a@b.co": true, " A@B.CO ": true, "a@b": false, "a b@c.de": false, "<a@b.co>": false, "": false, "Name <a@b.co>": false} {
		_, ok := service.NormalizeEmail(in)
		require.Equal(t, want, ok, in)
	}
}

// BenchmarkAuthenticateAPIKey measures the per-request cost of an API key:
// checksum, one indexed lookup, constant-time hash comparison.
func BenchmarkAuthenticateAPIKey(b *testing.B) {
	s, keys := newAuth(b)
	ctx := context.Background()
	sess, err := s.Register(ctx, service.RegisterInput{Email: "bench@example.com", Password: "correct horse battery"})
	require.NoError(b, err)
	actor := &turbocat.Actor{UserID: sess.User.ID, Role: "user"}
	k, err := keys.Create(turbocat.WithActor(ctx, actor), actor, service.CreateAPIKeyInput{Name: "b", Scopes: []string{"agents:read"}})
	require.NoError(b, err)
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Authenticate(ctx, k.Key); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthenticateJWT measures a JWT request's cost: verify plus the
// user lookup that makes deleted users and role changes apply at once.
func BenchmarkAuthenticateJWT(b *testing.B) {
	s, _ := newAuth(b)
	ctx := context.Background()
	sess, err := s.Register(ctx, service.RegisterInput{Email: "jwt@example.com", Password: "correct horse battery"})
	require.NoError(b, err)
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Authenticate(ctx, sess.AccessToken); err != nil {
			b.Fatal(err)
		}
	}
}
