package httpapi_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/config"
)

func TestHealthReadyAndUnknownRoutes(t *testing.T) {
	t.Parallel()
	f := setup(t)
	require.Equal(t, http.StatusOK, f.call("GET", "/health", "", nil).Status)
	require.Equal(t, http.StatusOK, f.call("GET", "/ready", "", nil).Status)
	r := f.call("GET", "/api/v1/nope", "", nil)
	require.Equal(t, http.StatusNotFound, r.Status)
	require.Equal(t, "NOT_FOUND", r.code())
	require.Contains(t, r.Env.Error.Message, "openapi.json")

	// A known path under a method it does not have: 405 naming the others.
	r = f.call("PUT", "/api/v1/agents", "", nil)
	require.Equal(t, http.StatusMethodNotAllowed, r.Status)
	require.Equal(t, "METHOD_NOT_ALLOWED", r.code())
	require.Equal(t, "GET, POST", r.Header.Get("Allow"))
	require.Equal(t, "PUT is not allowed on /api/v1/agents; use GET, POST", r.Env.Error.Message)
	r = f.call("POST", "/api/v1/agents/7c1f3bde-0d55-4a8e-9b44-3a0c2f1e9d00", "", nil)
	require.Equal(t, http.StatusMethodNotAllowed, r.Status)
	require.Equal(t, "DELETE, GET, PATCH", r.Header.Get("Allow"))

	doc := f.call("GET", "/api/v1/openapi.json", "", nil)
	require.Equal(t, http.StatusOK, doc.Status)
	require.Contains(t, string(doc.Body), `"openapi"`)
}

func TestRequestIDAndSecurityHeaders(t *testing.T) {
	t.Parallel()
	f := setup(t)
	r := f.call("GET", "/health", "", nil, "X-Request-Id", "client-chosen-id-123")
	require.Equal(t, "client-chosen-id-123", r.Header.Get("X-Request-Id"))
	require.Equal(t, "client-chosen-id-123", r.Env.Meta.RequestID)
	bad := f.call("GET", "/health", "", nil, "X-Request-Id", "bad id with spaces;<script>")
	require.NotContains(t, bad.Env.Meta.RequestID, " ", "malformed ids are replaced")
	require.Len(t, bad.Env.Meta.RequestID, 24)
	for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Cache-Control": "no-store"} {
		require.Equal(t, want, r.Header.Get(h), h)
	}
}

func TestCORS(t *testing.T) {
	t.Parallel()
	f := setup(t, func(c *config.Config) { c.AllowedOrigins = []string{"https://console.example.com"} })
	pre := f.call("OPTIONS", "/api/v1/agents", "", nil, "Origin", "https://console.example.com", "Access-Control-Request-Method", "POST")
	require.Equal(t, http.StatusNoContent, pre.Status)
	require.Equal(t, "https://console.example.com", pre.Header.Get("Access-Control-Allow-Origin"))
	require.Equal(t, "true", pre.Header.Get("Access-Control-Allow-Credentials"))
	require.Contains(t, pre.Header.Get("Access-Control-Allow-Headers"), "Authorization")
	// A browser MCP client (the /mcp route) sends the protocol version header.
	mcpPre := f.call("OPTIONS", "/mcp", "", nil, "Origin", "https://console.example.com", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "authorization, content-type, mcp-protocol-version")
	require.Equal(t, http.StatusNoContent, mcpPre.Status)
	require.Contains(t, mcpPre.Header.Get("Access-Control-Allow-Headers"), "Mcp-Protocol-Version")

	evil := f.call("OPTIONS", "/api/v1/agents", "", nil, "Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
	require.Equal(t, http.StatusForbidden, evil.Status)
	require.Empty(t, evil.Header.Get("Access-Control-Allow-Origin"))
	get := f.call("GET", "/health", "", nil, "Origin", "https://evil.example")
	require.Empty(t, get.Header.Get("Access-Control-Allow-Origin"), "never * and never a foreign origin")

	require.Error(t, (&config.Config{AllowedOrigins: []string{"*"}}).Validate(false), "'*' with credentials is refused at start-up")
}

func TestRateLimits(t *testing.T) {
	t.Parallel()
	f := setup(t, func(c *config.Config) { c.AuthRateLimit = 6 }) // burst of 3 per IP per minute
	var last resp
	for range 5 {
		last = f.call("POST", "/api/v1/auth/login", "", map[string]string{"email": "x@example.com", "password": "whatever pw"})
	}
	require.Equal(t, http.StatusTooManyRequests, last.Status)
	require.Equal(t, "RATE_LIMITED", last.code())
	secs, err := strconv.Atoi(last.Header.Get("Retry-After"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, secs, 1)

	g := setup(t, func(c *config.Config) { c.RateLimit, c.RateBurst = 1, 2 })
	s := g.register("limited")
	statuses := map[int]int{}
	for range 5 {
		statuses[g.call("GET", "/api/v1/agents", s.AccessToken, nil).Status]++
	}
	require.Equal(t, 2, statuses[200], "the burst passes")
	require.Equal(t, 3, statuses[429], "then the per-user limit applies")
}

func TestAccessLogHasNoSecrets(t *testing.T) {
	t.Parallel()
	f := setup(t)
	s := f.register("logs")
	k := f.apiKey(s.AccessToken, "agents:read")
	f.call("GET", "/api/v1/agents", k.Key, nil)
	f.call("POST", "/api/v1/auth/login", "", map[string]string{"email": s.User.Email, "password": "correct horse battery"})
	f.call("POST", "/api/v1/auth/refresh", "", map[string]string{"refreshToken": s.RefreshToken})
	logs := f.serverLogs()
	require.Contains(t, logs, `"msg":"request"`, "the access log is written")
	require.Contains(t, logs, `"path":"/api/v1/agents"`)
	for _, secret := range []string{"correct horse battery", s.AccessToken, s.RefreshToken, k.Key, "Bearer", "$argon2id"} {
		require.False(t, strings.Contains(logs, secret), "server log contains a secret (%.16s…)", secret)
	}
}
