package auth_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/auth"
)

var key = []byte("0123456789abcdef0123456789abcdef")

func TestTokensRoundTripAndExpiry(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := now
	tok, err := auth.NewTokens(key, 15*time.Minute, func() time.Time { return clock })
	require.NoError(t, err)
	s, err := tok.Issue("u1", "admin", 0)
	require.NoError(t, err)
	c, err := tok.Verify(s)
	require.NoError(t, err)
	require.Equal(t, "u1", c.Subject)
	require.Equal(t, "admin", c.Role)
	require.Equal(t, now.Add(15*time.Minute).Unix(), c.ExpiresAt.Unix())

	clock = now.Add(16 * time.Minute)
	_, err = tok.Verify(s)
	require.ErrorIs(t, err, auth.ErrTokenExpired)

	_, err = auth.NewTokens([]byte("short"), time.Minute, nil)
	require.Error(t, err, "keys under 32 bytes are refused")
}

func TestHasherVerify(t *testing.T) {
	t.Parallel()
	h := auth.NewHasher(auth.DefaultArgon2, 2)
	ctx := context.Background()
	phc, err := h.Hash(ctx, "correct horse")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(phc, "$argon2id$v=19$m=19456,t=2,p=1$"))
	require.NoError(t, h.Verify(ctx, phc, "correct horse"))
	require.ErrorIs(t, h.Verify(ctx, phc, "wrong horse"), auth.ErrMismatch)
	require.ErrorIs(t, h.Verify(ctx, "", "anything"), auth.ErrMismatch, "an unknown user never verifies")
	other, err := h.Hash(ctx, "correct horse")
	require.NoError(t, err)
	require.NotEqual(t, phc, other, "salted")
}

func TestAPIKeyFormat(t *testing.T) {
	t.Parallel()
	k, prefix, hash := auth.NewAPIKey()
	require.True(t, strings.HasPrefix(k, prefix+"_"))
	got, ok := auth.ParseAPIKey(k)
	require.True(t, ok)
	require.Equal(t, prefix, got)
	require.Equal(t, auth.HashToken(k), hash)
	flipped := []byte(k)
	flipped[20] ^= 1
	_, ok = auth.ParseAPIKey(string(flipped))
	require.False(t, ok, "the checksum catches a changed character")
	for _, bad := range []string{"", "tc_", k[:len(k)-1], "xx" + k[2:], strings.ToUpper(k)} {
		_, ok := auth.ParseAPIKey(bad)
		require.False(t, ok, bad)
	}
}

func BenchmarkJWTVerify(b *testing.B) {
	tok, err := auth.NewTokens(key, 15*time.Minute, nil)
	require.NoError(b, err)
	s, err := tok.Issue("5b0c3c9e-6a4b-4b8e-9d7e-2f1a9c1d3e4f", "user", 0)
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tok.Verify(s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAPIKeyParse(b *testing.B) {
	k, _, _ := auth.NewAPIKey()
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := auth.ParseAPIKey(k); !ok {
			b.Fatal("rejected")
		}
		_ = auth.HashToken(k)
	}
}

// BenchmarkJWTVerifyFirstUse measures verifying a token never seen before
// (signature and claims); BenchmarkJWTVerify, the repeated use of one.
func BenchmarkJWTVerifyFirstUse(b *testing.B) {
	tok, err := auth.NewTokens(key, 15*time.Minute, nil)
	require.NoError(b, err)
	tokens := make([]string, 1000)
	for i := range tokens {
		tokens[i], err = tok.Issue(fmt.Sprintf("5b0c3c9e-6a4b-4b8e-9d7e-%012d", i), "user", 0)
		require.NoError(b, err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		fresh, _ := auth.NewTokens(key, 15*time.Minute, nil) // an empty cache
		if _, err := fresh.Verify(tokens[i%len(tokens)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
