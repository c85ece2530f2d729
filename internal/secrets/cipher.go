// Package secrets holds the cryptography of secret values and the scrubber
// that keeps resolved secret values out of logs, errors and outputs. The API
// and the storage of secrets live elsewhere; this package is pure.
//
// At rest a secret value is sealed by a [Cipher]. The local implementation,
// [AESGCM], uses AES-256-GCM with a 32-byte key given base64-encoded in
// TURBOCAT_SECRETS_KEY; an AWS KMS (data key) implementation can satisfy the
// same interface. The associated data binds a ciphertext to its owner and
// name ([AssociatedData]), so a ciphertext copied onto another user's or
// another name's row does not decrypt.
package secrets

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Cipher seals and opens secret values.
type Cipher interface {
	// Encrypt seals plaintext bound to associatedData.
	Encrypt(ctx context.Context, plaintext, associatedData []byte) ([]byte, error)
	// Decrypt opens a ciphertext made by Encrypt with the same associated
	// data. It returns ErrDecrypt when the ciphertext was tampered with, the
	// associated data differs, or no known key matches.
	Decrypt(ctx context.Context, ciphertext, associatedData []byte) ([]byte, error)
}

// ErrDecrypt is returned (wrapped) when a ciphertext cannot be opened.
var ErrDecrypt = errors.New("secret cannot be decrypted")

// KeyEnv is the environment variable holding the base64 AES-256 key.
const KeyEnv = "TURBOCAT_SECRETS_KEY"

// KeySize is the AES-256 key size in bytes.
const KeySize = 32

// formatV1 is the first byte of every ciphertext: version 1 is
// 0x01 | key id (4 bytes) | nonce (12 bytes) | GCM ciphertext and tag.
const formatV1 = 0x01

const keyIDSize = 4

// AESGCM is the local Cipher: AES-256-GCM with a random 96-bit nonce per
// value. It holds a primary key used to encrypt and optional older keys still
// accepted to decrypt (key rotation); each ciphertext names its key by a
// 4-byte id derived from the key.
type AESGCM struct {
	primary keyEntry
	byID    map[[keyIDSize]byte]cipher.AEAD
}

type keyEntry struct {
	id   [keyIDSize]byte
	aead cipher.AEAD
}

// NewAESGCM returns a cipher encrypting with primary and decrypting with
// primary or any of old. Every key must be 32 bytes.
func NewAESGCM(primary []byte, old ...[]byte) (*AESGCM, error) {
	c := &AESGCM{byID: map[[keyIDSize]byte]cipher.AEAD{}}
	for i, k := range append([][]byte{primary}, old...) {
		e, err := newKeyEntry(k)
		if err != nil {
			return nil, fmt.Errorf("secrets key %d: %w", i, err)
		}
		if i == 0 {
			c.primary = e
		}
		if _, dup := c.byID[e.id]; !dup {
			c.byID[e.id] = e.aead
		}
	}
	return c, nil
}

// NewAESGCMFromBase64 parses a base64 key (as in TURBOCAT_SECRETS_KEY;
// standard or URL alphabet, padded or not) and returns the cipher. Errors
// name the environment variable.
func NewAESGCMFromBase64(key string) (*AESGCM, error) {
	raw, err := DecodeKey(key)
	if err != nil {
		return nil, err
	}
	return NewAESGCM(raw)
}

// DecodeKey decodes a base64 32-byte key; errors name TURBOCAT_SECRETS_KEY.
func DecodeKey(key string) ([]byte, error) {
	key = strings.TrimSpace(key)
	if key == "" {
		return nil, fmt.Errorf("%s is empty: set it to 32 random bytes, base64-encoded", KeyEnv)
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err := enc.DecodeString(key); err == nil {
			if len(raw) != KeySize {
				return nil, fmt.Errorf("%s must decode to %d bytes, got %d", KeyEnv, KeySize, len(raw))
			}
			return raw, nil
		}
	}
	return nil, fmt.Errorf("%s is not valid base64", KeyEnv)
}

// GenerateKey returns a new random key, base64-encoded (standard alphabet),
// suitable for TURBOCAT_SECRETS_KEY.
func GenerateKey() (string, error) {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return "", fmt.Errorf("generate secrets key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(k), nil
}

func newKeyEntry(k []byte) (keyEntry, error) {
	if len(k) != KeySize {
		return keyEntry{}, fmt.Errorf("key must be %d bytes, got %d", KeySize, len(k))
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return keyEntry{}, fmt.Errorf("aes: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return keyEntry{}, fmt.Errorf("gcm: %w", err)
	}
	sum := sha256.Sum256(append([]byte("turbocat-secrets-key-id:"), k...))
	var id [keyIDSize]byte
	copy(id[:], sum[:keyIDSize])
	return keyEntry{id: id, aead: aead}, nil
}

// Encrypt implements Cipher.
func (c *AESGCM) Encrypt(_ context.Context, plaintext, associatedData []byte) ([]byte, error) {
	ns := c.primary.aead.NonceSize()
	out := make([]byte, 1+keyIDSize+ns, 1+keyIDSize+ns+len(plaintext)+c.primary.aead.Overhead())
	out[0] = formatV1
	copy(out[1:], c.primary.id[:])
	if _, err := rand.Read(out[1+keyIDSize:]); err != nil {
		return nil, fmt.Errorf("encrypt secret: nonce: %w", err)
	}
	return c.primary.aead.Seal(out, out[1+keyIDSize:], plaintext, associatedData), nil
}

// Decrypt implements Cipher.
func (c *AESGCM) Decrypt(_ context.Context, ciphertext, associatedData []byte) ([]byte, error) {
	ns := c.primary.aead.NonceSize()
	if len(ciphertext) < 1+keyIDSize+ns+c.primary.aead.Overhead() {
		return nil, fmt.Errorf("decrypt secret: ciphertext too short: %w", ErrDecrypt)
	}
	if ciphertext[0] != formatV1 {
		return nil, fmt.Errorf("decrypt secret: unknown format %d: %w", ciphertext[0], ErrDecrypt)
	}
	var id [keyIDSize]byte
	copy(id[:], ciphertext[1:])
	aead, ok := c.byID[id]
	if !ok {
		return nil, fmt.Errorf("decrypt secret: encrypted with an unknown key: %w", ErrDecrypt)
	}
	nonce := ciphertext[1+keyIDSize : 1+keyIDSize+ns]
	pt, err := aead.Open(nil, nonce, ciphertext[1+keyIDSize+ns:], associatedData)
	if err != nil {
		return nil, fmt.Errorf("decrypt secret: %w", ErrDecrypt)
	}
	return pt, nil
}

// AssociatedData returns the associated data binding a secret value to its
// owner and name. Use it for both Encrypt and Decrypt.
func AssociatedData(userID, name string) []byte {
	// Length-prefixed so ("ab","c") and ("a","bc") differ.
	return fmt.Appendf(nil, "turbocat-secret:v1:%d:%s:%d:%s", len(userID), userID, len(name), name)
}
