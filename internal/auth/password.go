// Package auth holds Turbocat's credentials: Argon2id password hashing, JWT
// access tokens, opaque refresh tokens and API keys. It knows nothing of HTTP
// or storage; the service layer combines it with Postgres.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// Password length bounds. The upper bound is checked before hashing so a
// megabyte-long password cannot cost the server anything.
const (
	MinPasswordLen = 8
	MaxPasswordLen = 128
)

// Argon2Params are the Argon2id cost parameters. DefaultArgon2 is OWASP's
// recommended minimum (m=19 MiB, t=2, p=1).
type Argon2Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
	SaltLen   int
	KeyLen    uint32
}

// DefaultArgon2 is the production setting.
var DefaultArgon2 = Argon2Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Hasher hashes and verifies passwords. It bounds how many hashes run at
// once, since each one holds MemoryKiB of memory: a burst of logins queues
// instead of exhausting the process.
type Hasher struct {
	params    Argon2Params
	sem       chan struct{}
	dummy     string
	dummyOnce sync.Once
}

// NewHasher returns a Hasher running at most concurrency hashes at a time.
func NewHasher(p Argon2Params, concurrency int) *Hasher {
	if concurrency < 1 {
		concurrency = 1
	}
	// The dummy hash costs a full Argon2 run (tens of milliseconds): it is
	// made on first use, not at start-up, which every Lambda cold start
	// would pay.
	return &Hasher{params: p, sem: make(chan struct{}, concurrency)}
}

// ErrMismatch is returned by Verify for a wrong password.
var ErrMismatch = errors.New("password does not match")

// Hash returns the PHC string of password.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, h.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return h.hash([]byte(password), salt), nil
}

// Verify checks password against a PHC string. An empty phc verifies against
// a dummy hash, so a login for an unknown email costs the same time as one
// for a known email, and fails.
func (h *Hasher) Verify(ctx context.Context, phc, password string) error {
	known := phc != ""
	if !known {
		h.dummyOnce.Do(func() { h.dummy = h.hash([]byte("turbocat-dummy-password"), make([]byte, h.params.SaltLen)) })
		phc = h.dummy
	}
	p, salt, want, err := parsePHC(phc)
	if err != nil {
		return err
	}
	if err := h.acquire(ctx); err != nil {
		return err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(want)))
	h.release()
	if subtle.ConstantTimeCompare(got, want) != 1 || !known {
		return ErrMismatch
	}
	return nil
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.sem }

func (h *Hasher) hash(password, salt []byte) string {
	p := h.params
	key := argon2.IDKey(password, salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

func parsePHC(phc string) (Argon2Params, []byte, []byte, error) {
	var p Argon2Params
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return p, nil, nil, errors.New("password hash: not an argon2id PHC string")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, nil, nil, errors.New("password hash: unsupported argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, fmt.Errorf("password hash: parameters: %w", err)
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return p, nil, nil, fmt.Errorf("password hash: salt: %w", err)
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil {
		return p, nil, nil, fmt.Errorf("password hash: key: %w", err)
	}
	return p, salt, key, nil
}
