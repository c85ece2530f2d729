package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/config"
)

func TestSecrets(t *testing.T) {
	t.Parallel()
	f := setup(t)
	s := f.register("sec")
	tok := s.AccessToken
	const canary = "canary-value-7f3a9c1e"

	r := f.call("POST", "/api/v1/secrets", tok, map[string]string{"name": "API_TOKEN", "value": canary})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	r2 := f.call("POST", "/api/v1/secrets", tok, map[string]string{"name": "API_TOKEN", "value": canary + "-v2"})
	require.Equal(t, http.StatusOK, r2.Status, "replacing answers 200")
	bad := f.call("POST", "/api/v1/secrets", tok, map[string]string{"name": "1-bad name", "value": ""})
	require.Equal(t, http.StatusBadRequest, bad.Status)
	require.Len(t, bad.fields(), 2)

	var list struct{ Items []struct{ Name string } }
	f.call("GET", "/api/v1/secrets", tok, nil).data(t, &list)
	require.Equal(t, []struct{ Name string }{{"API_TOKEN"}}, list.Items)

	// Stored encrypted, bound to its owner and name.
	var stored []byte
	require.NoError(t, f.pool.QueryRow(context.Background(), `SELECT value_enc FROM secrets WHERE name = 'API_TOKEN'`).Scan(&stored))
	require.NotContains(t, string(stored), canary)
	v, err := f.app.Secrets.ResolveOne(context.Background(), s.User.ID, "API_TOKEN")
	require.NoError(t, err)
	require.Equal(t, canary+"-v2", v)
	_, err = f.app.Secrets.ResolveOne(context.Background(), s.User.ID, "MISSING")
	require.ErrorContains(t, err, "MISSING")

	// Scopes.
	k := f.apiKey(tok, "secrets:read")
	require.Equal(t, http.StatusOK, f.call("GET", "/api/v1/secrets", k.Key, nil).Status)
	require.Equal(t, http.StatusForbidden, f.call("POST", "/api/v1/secrets", k.Key, map[string]string{"name": "X", "value": "y"}).Status)

	require.Equal(t, http.StatusOK, f.call("DELETE", "/api/v1/secrets/API_TOKEN", tok, nil).Status)
	require.Equal(t, http.StatusNotFound, f.call("DELETE", "/api/v1/secrets/API_TOKEN", tok, nil).Status)

	// The canary appears in no response, log line or audit row.
	require.NotContains(t, f.serverLogs(), canary)
	var audits string
	require.NoError(t, f.pool.QueryRow(context.Background(), `SELECT coalesce(string_agg(row_to_json(a)::text, ''), '') FROM audit_logs a`).Scan(&audits))
	require.False(t, strings.Contains(audits, canary))
	require.Contains(t, audits, "secret.create")
	require.Contains(t, audits, "secret.update")
	require.Contains(t, audits, "secret.delete")
	seen.Lock()
	for _, b := range seen.bodies {
		require.NotContains(t, b, canary)
	}
	seen.Unlock()
}

func TestSecretsNeedAKey(t *testing.T) {
	t.Parallel()
	f := setup(t, func(c *config.Config) { c.SecretsKey = nil })
	s := f.register("nokey")
	r := f.call("POST", "/api/v1/secrets", s.AccessToken, map[string]string{"name": "X", "value": "y"})
	require.Equal(t, http.StatusServiceUnavailable, r.Status)
	require.Contains(t, r.Env.Error.Message, "TURBOCAT_SECRETS_KEY")
}
