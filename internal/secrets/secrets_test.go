package secrets

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func newKey(t *testing.T) []byte {
	t.Helper()
	s, err := GenerateKey()
	require.NoError(t, err)
	k, err := DecodeKey(s)
	require.NoError(t, err)
	return k
}

func TestAESGCMRoundTripAndBinding(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, err := NewAESGCM(newKey(t))
	require.NoError(t, err)
	ad := AssociatedData("user-1", "API_KEY")
	ct, err := c.Encrypt(ctx, []byte("sk-live-123"), ad)
	require.NoError(t, err)
	require.NotContains(t, string(ct), "sk-live-123")

	pt, err := c.Decrypt(ctx, ct, ad)
	require.NoError(t, err)
	require.Equal(t, "sk-live-123", string(pt))

	ct2, err := c.Encrypt(ctx, []byte("sk-live-123"), ad)
	require.NoError(t, err)
	require.NotEqual(t, ct, ct2, "a fresh nonce per encryption")

	for name, bad := range map[string][]byte{
		"other user": AssociatedData("user-2", "API_KEY"),
		"other name": AssociatedData("user-1", "API_KEY2"),
		"shifted":    AssociatedData("user-1A", "PI_KEY"),
	} {
		_, err := c.Decrypt(ctx, ct, bad)
		require.ErrorIs(t, err, ErrDecrypt, name)
	}
	tampered := append([]byte(nil), ct...)
	tampered[len(tampered)-1] ^= 1
	_, err = c.Decrypt(ctx, tampered, ad)
	require.ErrorIs(t, err, ErrDecrypt)
	_, err = c.Decrypt(ctx, ct[:10], ad)
	require.ErrorIs(t, err, ErrDecrypt)

	other, err := NewAESGCM(newKey(t))
	require.NoError(t, err)
	_, err = other.Decrypt(ctx, ct, ad)
	require.ErrorIs(t, err, ErrDecrypt)
}

func TestAESGCMRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	oldKey, newK := newKey(t), newKey(t)
	oldC, err := NewAESGCM(oldKey)
	require.NoError(t, err)
	ct, err := oldC.Encrypt(ctx, []byte("v"), nil)
	require.NoError(t, err)
	rotated, err := NewAESGCM(newK, oldKey)
	require.NoError(t, err)
	pt, err := rotated.Decrypt(ctx, ct, nil)
	require.NoError(t, err)
	require.Equal(t, "v", string(pt))
	ct2, err := rotated.Encrypt(ctx, []byte("w"), nil)
	require.NoError(t, err)
	_, err = oldC.Decrypt(ctx, ct2, nil)
	require.ErrorIs(t, err, ErrDecrypt, "new values use the new key")
}

func TestDecodeKey(t *testing.T) {
	t.Parallel()
	k := make([]byte, 32)
	for i := range k {
		k[i] = byte(i * 7)
	}
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"std", base64.StdEncoding.EncodeToString(k), true},
		{"raw url", base64.RawURLEncoding.EncodeToString(k), true},
		{"with spaces", "  " + base64.StdEncoding.EncodeToString(k) + "\n", true},
		{"empty", "", false},
		{"short", base64.StdEncoding.EncodeToString(k[:16]), false},
		{"not base64", "!!!not-base64!!!", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := DecodeKey(tt.in)
			if !tt.ok {
				require.ErrorContains(t, err, KeyEnv)
				return
			}
			require.NoError(t, err)
			require.Equal(t, k, got)
		})
	}
	_, err := NewAESGCMFromBase64(base64.StdEncoding.EncodeToString(k))
	require.NoError(t, err)
}

func TestScrubberEncodings(t *testing.T) {
	t.Parallel()
	const secret = `p@ss w/rd"42&x`
	s := NewScrubber(secret)
	tests := []struct{ name, text string }{
		{"raw", "password is " + secret + "."},
		{"query escaped", "GET /x?key=" + url.QueryEscape(secret) + "&a=1"},
		{"path escaped", "/files/" + url.PathEscape(secret)},
		{"json escaped", `{"pw":` + mustJSON(secret) + `}`},
		{"base64", "X-Token: " + base64.StdEncoding.EncodeToString([]byte(secret))},
		{"base64url raw", base64.RawURLEncoding.EncodeToString([]byte(secret))},
		{"basic auth offset 1", "Basic " + base64.StdEncoding.EncodeToString([]byte("u:"+secret))},
		{"basic auth offset 2", "Basic " + base64.StdEncoding.EncodeToString([]byte("ab:"+secret))},
		{"basic auth offset 0", "Basic " + base64.StdEncoding.EncodeToString([]byte("abcde:"+secret+"tail"))},
		{"hex", fmt.Sprintf("%x", secret)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := s.String(tt.text)
			require.Contains(t, out, Redacted)
			require.NotContains(t, out, secret)
			// Decoding what is left must not give the secret back either.
			for _, f := range strings.FieldsFunc(out, func(r rune) bool { return r == ' ' || r == '"' || r == ':' }) {
				if b, err := base64.StdEncoding.DecodeString(f); err == nil {
					require.NotContains(t, string(b), secret)
				}
			}
		})
	}
	require.Equal(t, "nothing here", s.String("nothing here"))
}

func mustJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestScrubberJSONKeepsValidJSON(t *testing.T) {
	t.Parallel()
	s := NewScrubber("hunter22", "987654")
	in := json.RawMessage(`{"z":"pw=hunter22","hunter22":1,"n":987654,"arr":["a",{"x":"aHVudGVyMjI="}],"ok":true,"nil":null}`)
	out := s.JSON(in)
	require.True(t, json.Valid(out), string(out))
	require.NotContains(t, string(out), "hunter22")
	require.NotContains(t, string(out), "987654")
	require.NotContains(t, string(out), "aHVudGVyMjI")
	require.Equal(t, `{"z":"pw=[REDACTED]","[REDACTED]":1,"n":"[REDACTED]","arr":["a",{"x":"[REDACTED]"}],"ok":true,"nil":null}`, string(out))

	clean := json.RawMessage(`{"b":1,"a":"x"}`)
	require.Equal(t, string(clean), string(s.JSON(clean)))
	require.Equal(t, "not json [REDACTED]", string(s.JSON(json.RawMessage("not json hunter22"))))
}

func TestScrubberShortValuesAndErrors(t *testing.T) {
	t.Parallel()
	s := NewScrubber("ab", "")
	require.Equal(t, 0, s.Values())
	require.Equal(t, "abc", s.String("abc"))

	s.Add("topsecret")
	base := errors.New("call failed: token topsecret rejected")
	got := s.Error(fmt.Errorf("wrap: %w", base))
	require.EqualError(t, got, "wrap: call failed: token [REDACTED] rejected")
	require.NotErrorIs(t, got, base, "the chain holding the secret is dropped")
	plain := errors.New("fine")
	require.Same(t, plain, s.Error(plain))

	var nilS *Scrubber
	require.Equal(t, "topsecret", nilS.String("topsecret"))
}

func TestScrubberBasicAuth(t *testing.T) {
	t.Parallel()
	s := NewScrubber()
	s.AddBasicAuth("alice", "pw1")
	header := "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("alice:pw1"))
	require.Equal(t, "Authorization: Basic [REDACTED]", s.String(header))
}

// FuzzScrubberJSON: scrubbing valid JSON keeps it valid JSON, and no
// string of the result still holds the secret.
func FuzzScrubberJSON(f *testing.F) {
	f.Add(`{"a":"secret-value"}`, "secret-value")
	f.Add(`["x","secret-value-2",1]`, "value-2")
	f.Add(`12345`, "2345")
	f.Fuzz(func(t *testing.T, doc, secret string) {
		if !json.Valid([]byte(doc)) || len(secret) < MinScrubLen || strings.ContainsAny(secret, "[]") || strings.Contains(Redacted, secret) {
			return // the marker itself could spell such a "secret"
		}
		out := NewScrubber(secret).JSON(json.RawMessage(doc))
		require.True(t, json.Valid(out), "%s → %s", doc, out)
		var walk func(v any)
		walk = func(v any) {
			switch x := v.(type) {
			case string:
				require.NotContains(t, x, secret)
			case []any:
				for _, e := range x {
					walk(e)
				}
			case map[string]any:
				for k, e := range x {
					require.NotContains(t, k, secret)
					walk(e)
				}
			}
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(out))
		dec.UseNumber() // 1E1000 is valid JSON but no float64
		require.NoError(t, dec.Decode(&v))
		walk(v)
	})
}

func TestScrubberJSONEscapedForms(t *testing.T) {
	t.Parallel()
	const secret = `a<b&"c`
	s := NewScrubber(secret)
	for _, doc := range []string{
		`{"k":"x a\u003cb\u0026\"c y"}`, // Go's default HTML-safe escaping
		`{"k":"x a<b&\"c y"}`,
		`{"k":"x \u0061<b&\"c y"}`, // any \u spelling
	} {
		out := s.JSON(json.RawMessage(doc))
		require.True(t, json.Valid(out))
		var v map[string]string
		require.NoError(t, json.Unmarshal(out, &v))
		require.Equal(t, "x [REDACTED] y", v["k"], doc)
	}
}
