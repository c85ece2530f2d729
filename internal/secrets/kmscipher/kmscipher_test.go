package kmscipher_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/secrets"
	"github.com/turbocat/turbocat/internal/secrets/kmscipher"
)

// fakeKMS speaks the KMS JSON protocol (TrentService.Encrypt/Decrypt) and
// binds ciphertexts to their encryption context as KMS does.
func fakeKMS(t *testing.T) *httptest.Server {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(block)
	ctxBytes := func(m map[string]string) []byte {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		for _, k := range keys {
			b.WriteString(k + "=" + m[k] + ";")
		}
		return []byte(b.String())
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var in struct {
			KeyId             string
			Plaintext         []byte
			CiphertextBlob    []byte
			EncryptionContext map[string]string
		}
		require.NoError(t, json.Unmarshal(body, &in))
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		switch r.Header.Get("X-Amz-Target") {
		case "TrentService.Encrypt":
			nonce := make([]byte, gcm.NonceSize())
			_, _ = rand.Read(nonce)
			ct := gcm.Seal(nonce, nonce, in.Plaintext, ctxBytes(in.EncryptionContext))
			_ = json.NewEncoder(w).Encode(map[string]any{"CiphertextBlob": ct, "KeyId": in.KeyId})
		case "TrentService.Decrypt":
			n := gcm.NonceSize()
			pt, err := gcm.Open(nil, in.CiphertextBlob[:n], in.CiphertextBlob[n:], ctxBytes(in.EncryptionContext))
			if err != nil {
				w.WriteHeader(400)
				_, _ = w.Write([]byte(`{"__type":"InvalidCiphertextException","message":""}`))
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"Plaintext": pt, "KeyId": in.KeyId})
		default:
			w.WriteHeader(400)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestKMSCipher(t *testing.T) {
	t.Parallel()
	srv := fakeKMS(t)
	client := kms.New(kms.Options{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: aws.AnonymousCredentials{}})
	c := &kmscipher.KMS{Client: client, KeyID: "arn:aws:kms:eu-west-1:123456789012:key/1234"}
	ctx := context.Background()
	ad := secrets.AssociatedData("user-1", "API_TOKEN")
	ct, err := c.Encrypt(ctx, []byte("s3cret-value"), ad)
	require.NoError(t, err)
	require.NotContains(t, string(ct), "s3cret-value")
	pt, err := c.Decrypt(ctx, ct, ad)
	require.NoError(t, err)
	require.Equal(t, "s3cret-value", string(pt))
	_, err = c.Decrypt(ctx, ct, secrets.AssociatedData("user-2", "API_TOKEN"))
	require.ErrorIs(t, err, secrets.ErrDecrypt, "another owner's context does not open it")
	_, err = c.Encrypt(ctx, make([]byte, kmscipher.MaxKMSPlaintext+1), ad)
	require.ErrorContains(t, err, "at most")
}
