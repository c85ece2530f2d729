package lambdafn

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/config"
)

// fakeSecretsManager speaks the Secrets Manager JSON protocol for
// GetSecretValue, so the real SDK client is exercised over HTTP.
func fakeSecretsManager(t *testing.T, secrets map[string]string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "secretsmanager.GetSecretValue", r.Header.Get("X-Amz-Target"))
		body, _ := io.ReadAll(r.Body)
		var in struct{ SecretId string }
		require.NoError(t, json.Unmarshal(body, &in))
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		v, ok := secrets[in.SecretId]
		if !ok {
			w.WriteHeader(400)
			_, _ = w.Write([]byte(`{"__type":"ResourceNotFoundException","Message":"Secrets Manager can't find the specified secret."}`))
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"ARN": in.SecretId, "Name": "x", "SecretString": v})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestResolveAWSSecrets(t *testing.T) {
	arnDB := "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf"
	arnJWT := "arn:aws:secretsmanager:eu-west-1:123456789012:secret:jwt-AbCdEf"
	srv := fakeSecretsManager(t, map[string]string{
		arnDB:  `{"username":"turbocat","password":"p@ss/word","host":"db.example.internal","port":5432,"dbname":"turbocat"}`,
		arnJWT: "jwt-key-from-secrets-manager-0123456789",
	})
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", srv.URL)
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("DATABASE_URL", "")
	t.Setenv("DATABASE_SECRET_ARN", arnDB)
	cfg := &config.Config{JWTSecretARN: arnJWT}
	require.NoError(t, resolveSecrets(context.Background(), cfg, true))
	require.Equal(t, "jwt-key-from-secrets-manager-0123456789", string(cfg.JWTSecret))
	require.Equal(t, "postgres://turbocat:p%40ss%2Fword@db.example.internal:5432/turbocat?sslmode=require", cfg.DatabaseURL)

	t.Setenv("DATABASE_SECRET_ARN", arnDB+"-missing")
	err := resolveSecrets(context.Background(), &config.Config{}, false)
	require.ErrorContains(t, err, "DATABASE_SECRET_ARN")
	require.ErrorContains(t, err, "ResourceNotFoundException")
}

func TestDatabaseURLFromSecret(t *testing.T) {
	t.Parallel()
	u, err := databaseURLFromSecret("postgres://a:b@h/db")
	require.NoError(t, err)
	require.Equal(t, "postgres://a:b@h/db", u)
	_, err = databaseURLFromSecret("hunter2")
	require.Error(t, err)
	require.NotContains(t, err.Error(), "hunter2", "the secret never reaches an error message")
}
