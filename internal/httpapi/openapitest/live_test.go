package openapitest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/httpapi"
	"github.com/turbocat/turbocat/internal/httpapi/openapitest"
	"github.com/turbocat/turbocat/internal/service"
)

// The tests below drive the real handler chain (no database: only answers
// that need none) and check each answer against the document.

type pinger struct{ err error }

func (p pinger) Ping(context.Context) error { return p.err }

// newServer serves services with no stores behind them: the answers these
// tests ask for are given before any service reaches a store.
func newServer(cfg httpapi.Config, db error) http.Handler {
	s, err := httpapi.NewServer(cfg, httpapi.Services{Auth: &service.Auth{}, APIKeys: &service.APIKeys{}, Secrets: &service.Secrets{},
		Audit: &service.Audit{}, Agents: &service.Agents{}, Templates: &service.Templates{}, Workflows: &service.Workflows{},
		Executions: &service.Executions{}, Deployments: &service.Deployments{}, Webhooks: &service.Webhooks{},
		Health: pinger{err: db}}, slog.New(slog.DiscardHandler))
	if err != nil {
		panic(err)
	}
	return s.Handler()
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

// exchange serves one request and checks it against the document.
func exchange(t *testing.T, v *openapitest.Validator, h http.Handler, method, target string, body []byte, header ...string) answer {
	t.Helper()
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	got, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.NoError(t, v.Check(httptest.NewRequest(method, target, nil), body, res.StatusCode, res.Header, got),
		"%s %s answered %d %s", method, target, res.StatusCode, got)
	return answer{status: res.StatusCode, header: res.Header, body: got}
}

func TestLiveSystemRoutes(t *testing.T) {
	t.Parallel()
	v := setup(t)
	up := newServer(httpapi.Config{}, nil)
	down := newServer(httpapi.Config{}, errors.New("connection refused"))

	require.Equal(t, http.StatusOK, exchange(t, v, up, "GET", "/health", nil).status)
	require.Equal(t, http.StatusOK, exchange(t, v, up, "GET", "/ready", nil).status)
	a := exchange(t, v, down, "GET", "/ready", nil)
	require.Equal(t, http.StatusServiceUnavailable, a.status)
	require.Contains(t, string(a.body), `"UNAVAILABLE"`)

	doc := exchange(t, v, up, "GET", "/api/v1/openapi.json", nil)
	require.Equal(t, http.StatusOK, doc.status)
	require.Equal(t, httpapi.OpenAPIDocument(), doc.body, "the document is served as is")
}

// Every authenticated route refuses a request without credentials, and the
// refusal is documented (401 with WWW-Authenticate, the error envelope).
func TestLiveEveryAuthenticatedRouteAnswers401(t *testing.T) {
	t.Parallel()
	v := setup(t)
	h := newServer(httpapi.Config{}, nil)
	n := 0
	for _, rt := range httpapi.Routes() {
		if rt.Public {
			continue
		}
		n++
		target := strings.ReplaceAll(rt.Path, "{id}", agentID)
		var body []byte
		if rt.Method == "POST" || rt.Method == "PUT" || rt.Method == "PATCH" {
			body = []byte(`{}`)
		}
		a := exchange(t, v, h, rt.Method, target, body)
		require.Equal(t, http.StatusUnauthorized, a.status, "%s %s", rt.Method, rt.Path)
		require.Contains(t, string(a.body), `"UNAUTHORIZED"`)
	}
	require.Greater(t, n, 25, "the authenticated routes were exercised")
}

func TestLiveMalformedBodies(t *testing.T) {
	t.Parallel()
	v := setup(t)
	h := newServer(httpapi.Config{AuthRateLimit: 6000}, nil)
	tests := []struct {
		name, target string
		body         []byte
		status       int
		field        string
	}{
		{"unknown field", "/api/v1/auth/register", []byte(`{"email":"a@example.com","password":"long enough","isAdmin":true}`), 400, `"isAdmin"`},
		{"wrong type", "/api/v1/auth/login", []byte(`{"email":"a@example.com","password":12345678}`), 400, `"password"`},
		{"malformed JSON", "/api/v1/auth/refresh", []byte(`{"refreshToken":`), 400, `"VALIDATION_ERROR"`},
		{"empty body", "/api/v1/auth/register", nil, 400, `"VALIDATION_ERROR"`},
		{"over 1 MiB", "/api/v1/auth/login", []byte(`{"email":"` + strings.Repeat("a", httpapi.MaxBodyBytes) + `"}`), 413, `"PAYLOAD_TOO_LARGE"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := exchange(t, v, h, "POST", tt.target, tt.body, "Content-Type", "application/json")
			require.Equal(t, tt.status, a.status, "%s", a.body)
			require.Contains(t, string(a.body), tt.field)
		})
	}
}

func TestLiveRateLimitIsDocumented(t *testing.T) {
	t.Parallel()
	v := setup(t)
	// 6 attempts a minute: a burst of 3, then 429 with Retry-After.
	h := newServer(httpapi.Config{AuthRateLimit: 6}, nil)
	var last answer
	for range 10 {
		last = exchange(t, v, h, "POST", "/api/v1/auth/login", []byte(`{"email":1}`))
		if last.status == http.StatusTooManyRequests {
			break
		}
		require.Equal(t, http.StatusBadRequest, last.status)
	}
	require.Equal(t, http.StatusTooManyRequests, last.status)
	require.NotEmpty(t, last.header.Get("Retry-After"))
}

func TestLiveUnknownRouteIsUndocumented(t *testing.T) {
	t.Parallel()
	v := setup(t)
	h := newServer(httpapi.Config{}, nil)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/api/v1/nothing-here", nil)
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusNotFound, rec.Code)
	err := v.Check(req, nil, rec.Code, rec.Header(), rec.Body.Bytes())
	require.ErrorIs(t, err, openapitest.ErrNoOperation)
}
