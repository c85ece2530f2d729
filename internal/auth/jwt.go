package auth

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Token claims fixed by Turbocat.
const (
	Issuer          = "turbocat"
	Audience        = "turbocat-api"
	TokenTypeAccess = "access"
	// MaxTokenLen bounds what is parsed at all: an access token is ~400 bytes.
	MaxTokenLen = 4096
)

// ErrTokenExpired and ErrTokenInvalid are the two verification outcomes a
// client can tell apart (TOKEN_EXPIRED versus UNAUTHORIZED).
var (
	ErrTokenExpired = errors.New("token expired")
	ErrTokenInvalid = errors.New("token invalid")
)

// AccessClaims are the claims of an access token.
type AccessClaims struct {
	jwt.RegisteredClaims
	Type string `json:"typ"`
	Role string `json:"role"`
	// Version is the user's token version when the token was issued; a
	// token of an older version was ended (logout, password change).
	Version int `json:"tv"`
}

// Tokens issues and verifies access tokens with HMAC-SHA256 (pinned: no
// other algorithm is accepted, "none" least of all).
type Tokens struct {
	key []byte
	ttl time.Duration
	now func() time.Time

	// verified remembers tokens whose signature and claims were checked,
	// until they expire: a client sends the same access token with every
	// request for 15 minutes, and the HMAC and JSON work is the larger part
	// of authenticating one. Bounded; emptied when full.
	mu       sync.Mutex
	verified map[string]*AccessClaims
}

// maxVerified bounds the verified-token cache.
const maxVerified = 10000

// NewTokens returns a Tokens. key must be at least 32 bytes.
func NewTokens(key []byte, ttl time.Duration, now func() time.Time) (*Tokens, error) {
	if len(key) < 32 {
		return nil, fmt.Errorf("jwt key: need at least 32 bytes, got %d", len(key))
	}
	if now == nil {
		now = time.Now
	}
	return &Tokens{key: key, ttl: ttl, now: now}, nil
}

// TTL is the lifetime of access tokens.
func (t *Tokens) TTL() time.Duration { return t.ttl }

// Issue returns a signed access token for the user at the user's token
// version.
func (t *Tokens) Issue(userID, role string, version int) (string, error) {
	now := t.now()
	var jti [12]byte
	_, _ = rand.Read(jti[:])
	claims := AccessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    Issuer,
			Subject:   userID,
			Audience:  jwt.ClaimStrings{Audience},
			ExpiresAt: jwt.NewNumericDate(now.Add(t.ttl)),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        hex.EncodeToString(jti[:]),
		},
		Type:    TokenTypeAccess,
		Role:    role,
		Version: version,
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(t.key)
	if err != nil {
		return "", fmt.Errorf("sign access token: %w", err)
	}
	return s, nil
}

// Verify checks an access token and returns its claims. It returns
// ErrTokenExpired for a token that is valid but expired, and ErrTokenInvalid
// (wrapped) for anything else.
func (t *Tokens) Verify(token string) (*AccessClaims, error) {
	if len(token) > MaxTokenLen {
		return nil, fmt.Errorf("%w: too long", ErrTokenInvalid)
	}
	t.mu.Lock()
	c, ok := t.verified[token]
	t.mu.Unlock()
	if ok {
		if t.now().Before(c.ExpiresAt.Time) {
			return c, nil
		}
		return nil, ErrTokenExpired
	}
	c, err := t.verify(token)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	if t.verified == nil || len(t.verified) >= maxVerified {
		t.verified = make(map[string]*AccessClaims)
	}
	t.verified[token] = c
	t.mu.Unlock()
	return c, nil
}

func (t *Tokens) verify(token string) (*AccessClaims, error) {
	var claims AccessClaims
	_, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return t.key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(Issuer),
		jwt.WithAudience(Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(t.now),
		jwt.WithStrictDecoding(),
	)
	if err != nil {
		// Only a token whose signature verified can be "expired": anything
		// else about it is untrusted.
		if errors.Is(err, jwt.ErrTokenExpired) && !errors.Is(err, jwt.ErrTokenSignatureInvalid) && claims.Type == TokenTypeAccess {
			return nil, ErrTokenExpired
		}
		return nil, fmt.Errorf("%w: %v", ErrTokenInvalid, err)
	}
	if claims.Type != TokenTypeAccess {
		return nil, fmt.Errorf("%w: not an access token", ErrTokenInvalid)
	}
	if claims.Subject == "" {
		return nil, fmt.Errorf("%w: no subject", ErrTokenInvalid)
	}
	return &claims, nil
}
