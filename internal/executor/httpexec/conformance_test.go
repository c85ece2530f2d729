package httpexec

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/turbocat/turbocat/internal/executor"
	"github.com/turbocat/turbocat/internal/executor/executortest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/echo":
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"query": r.URL.Query(), "auth": r.Header.Get("Authorization"), "body": string(body)})
		case "/fail":
			w.WriteHeader(401)
			_, _ = w.Write([]byte("invalid credentials: " + r.Header.Get("Authorization")))
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		case "/big":
			_, _ = w.Write([]byte(strings.Repeat("b", 4096)))
		}
	}))
	t.Cleanup(srv.Close)
	ex := New(Options{Client: NewClient(ClientOptions{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})})
	cfg := func(m map[string]any) func(*testing.T) json.RawMessage {
		return func(*testing.T) json.RawMessage {
			b, _ := json.Marshal(m)
			return b
		}
	}
	executortest.Run(t, executortest.Harness{
		Type:         executor.TypeAPI,
		Executor:     ex,
		TimeoutName:  executor.ErrAPITimeout,
		OversizeName: executor.ErrAPIResponseTooLarge,
		// The secret travels in the query (so the logged URL holds it), in
		// the Authorization header and in the body; the server echoes all.
		Echo: cfg(map[string]any{"method": "POST", "url": srv.URL + "/echo?k=" + executortest.SecretRef,
			"auth": map[string]any{"type": "basic", "username": "svc", "password": executortest.SecretRef},
			"body": map[string]any{"msg": "{{input.msg}}", "token": executortest.SecretRef}}),
		Fail:     cfg(map[string]any{"method": "GET", "url": srv.URL + "/fail", "auth": map[string]any{"type": "bearer", "token": executortest.SecretRef}}),
		Slow:     cfg(map[string]any{"method": "GET", "url": srv.URL + "/slow"}),
		Oversize: cfg(map[string]any{"method": "GET", "url": srv.URL + "/big", "maxResponseBytes": 1024}),
		Invalid:  json.RawMessage(`{"method":"GET"}`),
	})
}
