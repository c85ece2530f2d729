package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"strings"
)

// RefreshToken returns a new opaque refresh token (256 bits of randomness)
// and the hash to store.
func RefreshToken() (token string, hash []byte) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	token = "tcr_" + base64.RawURLEncoding.EncodeToString(b[:])
	return token, HashToken(token)
}

// HashToken is the stored form of a refresh token or API key. Both carry 256
// bits of randomness, so a fast hash is enough: there is nothing to guess.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// API keys look like tc_<12 hex public id>_<64 hex secret><8 hex CRC-32>.
// The prefix (tc_ plus the public id) is stored in clear to find the key and
// to show it in lists; the CRC lets a typo or a truncated paste be rejected
// without touching the database, and lets secret scanners recognise keys.
const (
	APIKeyPrefix  = "tc_"
	apiKeyIDLen   = 12
	apiKeySecLen  = 64
	apiKeyCRCLen  = 8
	apiKeyFullLen = len(APIKeyPrefix) + apiKeyIDLen + 1 + apiKeySecLen + apiKeyCRCLen
)

// NewAPIKey returns a new key, its public prefix and its hash.
func NewAPIKey() (key, prefix string, hash []byte) {
	var id [apiKeyIDLen / 2]byte
	var secret [apiKeySecLen / 2]byte
	_, _ = rand.Read(id[:])
	_, _ = rand.Read(secret[:])
	prefix = APIKeyPrefix + hex.EncodeToString(id[:])
	body := prefix + "_" + hex.EncodeToString(secret[:])
	key = body + fmt.Sprintf("%08x", crc32.ChecksumIEEE([]byte(body)))
	return key, prefix, HashToken(key)
}

// ParseAPIKey checks the shape and checksum of key and returns its prefix.
func ParseAPIKey(key string) (prefix string, ok bool) {
	if len(key) != apiKeyFullLen || !strings.HasPrefix(key, APIKeyPrefix) {
		return "", false
	}
	body, sum := key[:len(key)-apiKeyCRCLen], key[len(key)-apiKeyCRCLen:]
	if body[len(APIKeyPrefix)+apiKeyIDLen] != '_' {
		return "", false
	}
	for _, c := range body[len(APIKeyPrefix):] {
		if c != '_' && !strings.ContainsRune("0123456789abcdef", c) {
			return "", false
		}
	}
	if fmt.Sprintf("%08x", crc32.ChecksumIEEE([]byte(body))) != sum {
		return "", false
	}
	return body[:len(APIKeyPrefix)+apiKeyIDLen], true
}

// Scopes an API key can carry, one per route group.
var Scopes = []string{
	"agents:read", "agents:write",
	"templates:read", "templates:write",
	"workflows:read", "workflows:write", "workflows:execute",
	"executions:read", "executions:write",
	"deployments:read", "deployments:write",
	"secrets:read", "secrets:write",
	"webhooks:read", "webhooks:write",
	"audit:read",
}

// ValidScope reports whether s is a known scope.
func ValidScope(s string) bool {
	for _, v := range Scopes {
		if v == s {
			return true
		}
	}
	return false
}
