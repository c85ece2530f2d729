package httpexec

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/executor"
	"github.com/turbocat/turbocat/internal/turbocat"
)

type bundle struct {
	srv    *httptest.Server
	ex     *Executor
	mu     sync.Mutex
	sleeps []time.Duration
	last   *http.Request
	body   string
}

func setup(t *testing.T, h http.HandlerFunc) *bundle {
	t.Helper()
	b := &bundle{}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		b.mu.Lock()
		b.last, b.body = r, string(body)
		b.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(b.srv.Close)
	b.ex = New(Options{
		Client: NewClient(ClientOptions{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}),
		Sleep: func(ctx context.Context, d time.Duration) error {
			b.mu.Lock()
			b.sleeps = append(b.sleeps, d)
			b.mu.Unlock()
			return nil
		},
	})
	return b
}

func (b *bundle) run(t *testing.T, cfg map[string]any, input string, sec executor.StaticSecrets) (executor.Result, *turbocat.StepError) {
	t.Helper()
	raw, err := json.Marshal(cfg)
	require.NoError(t, err)
	req := executor.Request{Type: executor.TypeAPI, Config: raw, Input: json.RawMessage(input)}
	if sec != nil {
		req.Secrets = sec
	}
	res, err := b.ex.Execute(context.Background(), req)
	if err != nil {
		var e *turbocat.StepError
		require.ErrorAs(t, err, &e)
		return res, e
	}
	return res, nil
}

func TestAPITemplatesAndJSONOutput(t *testing.T) {
	t.Parallel()
	b := setup(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", "rid-1")
		w.Header().Set("X-Other", "dropped")
		w.WriteHeader(201)
		_, _ = w.Write([]byte(`{"items":[1,2],"ok":true}`))
	})
	res, e := b.run(t, map[string]any{
		"method":      "POST",
		"url":         b.srv.URL + "/users/{{input.id}}",
		"headers":     map[string]string{"X-Trace": "t-{{input.id}}"},
		"query":       map[string]string{"q": "{{input.q}}"},
		"body":        map[string]any{"name": "{{input.name}}", "tags": "{{input.tags}}"},
		"keepHeaders": []string{"x-request-id", "content-type"},
	}, `{"id":7,"q":"a b&c","name":"Ada","tags":["x","y"]}`, nil)
	require.Nil(t, e)
	require.JSONEq(t, `{"status":201,"headers":{"Content-Type":"application/json","X-Request-Id":"rid-1"},"body":{"items":[1,2],"ok":true}}`, string(res.Output))
	require.Equal(t, "/users/7", b.last.URL.Path)
	require.Equal(t, "a b&c", b.last.URL.Query().Get("q"))
	require.Equal(t, "t-7", b.last.Header.Get("X-Trace"))
	require.Equal(t, "application/json", b.last.Header.Get("Content-Type"))
	require.JSONEq(t, `{"name":"Ada","tags":["x","y"]}`, b.body)
	require.NotEmpty(t, res.Logs)
}

func TestAPIAuth(t *testing.T) {
	t.Parallel()
	sec := executor.StaticSecrets{"TOKEN": "tok-canary-1", "PW": "pw-canary-2", "KEY": "key-canary-3"}
	tests := []struct {
		name  string
		auth  map[string]any
		check func(t *testing.T, r *http.Request)
	}{
		{"bearer", map[string]any{"type": "bearer", "token": "{{secrets.TOKEN}}"}, func(t *testing.T, r *http.Request) {
			require.Equal(t, "Bearer tok-canary-1", r.Header.Get("Authorization"))
		}},
		{"basic", map[string]any{"type": "basic", "username": "bob", "password": "{{secrets.PW}}"}, func(t *testing.T, r *http.Request) {
			u, p, ok := r.BasicAuth()
			require.True(t, ok)
			require.Equal(t, "bob", u)
			require.Equal(t, "pw-canary-2", p)
		}},
		{"header", map[string]any{"type": "header", "name": "X-Api-Key", "value": "{{secrets.KEY}}"}, func(t *testing.T, r *http.Request) {
			require.Equal(t, "key-canary-3", r.Header.Get("X-Api-Key"))
		}},
		{"query", map[string]any{"type": "query", "name": "api_key", "value": "{{secrets.KEY}}"}, func(t *testing.T, r *http.Request) {
			require.Equal(t, "key-canary-3", r.URL.Query().Get("api_key"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// The server echoes the request back, secrets included, and fails.
			b := setup(t, func(w http.ResponseWriter, r *http.Request) {
				echo, _ := json.Marshal(map[string]any{"auth": r.Header.Get("Authorization"), "key": r.Header.Get("X-Api-Key"), "url": r.URL.String()})
				if r.URL.Query().Get("fail") == "1" {
					w.WriteHeader(403)
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(echo)
			})
			for _, fail := range []string{"0", "1"} {
				res, e := b.run(t, map[string]any{"method": "GET", "url": b.srv.URL + "/?fail=" + fail, "auth": tt.auth}, `{}`, sec)
				tt.check(t, b.last)
				dump, _ := json.Marshal(struct {
					R executor.Result
					E *turbocat.StepError
				}{res, e})
				for _, canary := range []string{"tok-canary-1", "pw-canary-2", "key-canary-3", base64.StdEncoding.EncodeToString([]byte("bob:pw-canary-2"))} {
					require.NotContains(t, string(dump), canary)
				}
				if fail == "1" {
					require.NotNil(t, e)
					require.Equal(t, executor.ErrAPIHTTP4xx, e.Name)
					require.Contains(t, e.Cause, "HTTP 403")
				} else {
					require.Nil(t, e)
					require.Contains(t, string(res.Output), "[REDACTED]")
				}
			}
		})
	}
}

func TestAPIStatusErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status    int
		name      string
		retryable bool
	}{
		{400, executor.ErrAPIHTTP4xx, false},
		{404, executor.ErrAPIHTTP4xx, false},
		{429, executor.ErrAPIRateLimited, true},
		{500, executor.ErrAPIHTTP5xx, true},
		{503, executor.ErrAPIHTTP5xx, true},
		{304, executor.ErrAPIHTTP3xx, false},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			t.Parallel()
			b := setup(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(`{"error":"nope"}`))
			})
			_, e := b.run(t, map[string]any{"method": "GET", "url": b.srv.URL}, `{}`, nil)
			require.NotNil(t, e)
			require.Equal(t, tt.name, e.Name)
			require.Equal(t, tt.retryable, e.Retryable)
			require.Contains(t, e.Cause, "HTTP ")
			require.Empty(t, b.sleeps, "no retry unless configured")
		})
	}
}

func TestAPIRetryHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	n := 0
	b := setup(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		k := n
		mu.Unlock()
		switch k {
		case 1:
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(429)
		case 2:
			w.Header().Set("Retry-After", "3600")
			w.WriteHeader(503)
		case 3:
			w.WriteHeader(502)
		default:
			_, _ = w.Write([]byte("done"))
		}
	})
	res, e := b.run(t, map[string]any{"method": "GET", "url": b.srv.URL, "retry": map[string]any{"maxAttempts": 4, "maxDelaySeconds": 5}}, `{}`, nil)
	require.Nil(t, e)
	require.JSONEq(t, `{"status":200,"headers":{"Content-Type":"text/plain; charset=utf-8"},"body":"done"}`, string(res.Output))
	require.Equal(t, []time.Duration{2 * time.Second, 5 * time.Second, 2 * time.Second}, b.sleeps, "Retry-After honoured, capped at maxDelaySeconds, else backoff")

	b2 := setup(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(504) })
	_, e = b2.run(t, map[string]any{"method": "GET", "url": b2.srv.URL, "retry": map[string]any{"maxAttempts": 2}}, `{}`, nil)
	require.NotNil(t, e)
	require.Equal(t, executor.ErrAPIHTTP5xx, e.Name)
	require.Len(t, b2.sleeps, 1)
}

func TestAPIResponseTooLarge(t *testing.T) {
	t.Parallel()
	b := setup(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(strings.Repeat("x", 2000)))
	})
	_, e := b.run(t, map[string]any{"method": "GET", "url": b.srv.URL, "maxResponseBytes": 1000}, `{}`, nil)
	require.NotNil(t, e)
	require.Equal(t, executor.ErrAPIResponseTooLarge, e.Name)
	res, e := b.run(t, map[string]any{"method": "GET", "url": b.srv.URL, "maxResponseBytes": 2000}, `{}`, nil)
	require.Nil(t, e)
	require.Contains(t, string(res.Output), strings.Repeat("x", 2000))
}

func TestAPITimeoutAndCancel(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	b := setup(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) })
	_, e := b.run(t, map[string]any{"method": "GET", "url": b.srv.URL, "timeoutSeconds": 0.2}, `{}`, nil)
	require.NotNil(t, e)
	require.Equal(t, executor.ErrAPITimeout, e.Name)
	require.True(t, e.Retryable)

	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	_, err := b.ex.Execute(ctx, executor.Request{Type: executor.TypeAPI, Config: apiConfig(b.srv.URL)})
	var ee *turbocat.StepError
	require.ErrorAs(t, err, &ee)
	require.Equal(t, executor.ErrCanceled, ee.Name)
}

func TestAPIInvalidConfig(t *testing.T) {
	t.Parallel()
	b := setup(t, func(w http.ResponseWriter, r *http.Request) {})
	_, e := b.run(t, map[string]any{"method": "GET", "url": b.srv.URL + "/{{input.missing}}"}, `{}`, nil)
	require.NotNil(t, e)
	require.Equal(t, executor.ErrInvalidConfig, e.Name)
	require.Contains(t, e.Cause, "{{input.missing}}")
	_, e = b.run(t, map[string]any{"method": "GET", "url": b.srv.URL, "headers": map[string]string{"X": "{{secrets.NOPE}}"}}, `{}`, executor.StaticSecrets{})
	require.NotNil(t, e)
	require.Equal(t, executor.ErrInvalidConfig, e.Name)
	_, e = b.run(t, map[string]any{"method": "GET", "url": b.srv.URL, "headers": map[string]string{"X": "{{input.v}}"}}, `{"v":"a\r\nInjected: 1"}`, nil)
	require.NotNil(t, e)
	require.Equal(t, executor.ErrInvalidConfig, e.Name)
}

func TestRetryDelay(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		header  string
		attempt int
		want    time.Duration
	}{
		{"", 1, 500 * time.Millisecond},
		{"", 3, 2 * time.Second},
		{"", 9, 10 * time.Second},
		{"7", 1, 7 * time.Second},
		{"60", 1, 10 * time.Second},
		{now.Add(4 * time.Second).Format(http.TimeFormat), 1, 4 * time.Second},
		{now.Add(-4 * time.Second).Format(http.TimeFormat), 1, 0},
		{"garbage", 2, time.Second},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, retryDelay(tt.header, tt.attempt, 10*time.Second, now), tt.header)
	}
}

func TestAPICredentialHeadersDroppedOnCrossHostRedirect(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen http.Header
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = r.Header.Clone()
		mu.Unlock()
		_, _ = w.Write([]byte("landed"))
	}))
	t.Cleanup(other.Close)
	// The same server under another host name: localhost vs 127.0.0.1.
	otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	b := setup(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, otherURL+"/landing", http.StatusFound)
	})
	for _, auth := range []map[string]any{
		{"type": "header", "name": "X-Api-Key", "value": "{{secrets.K}}"},
		{"type": "bearer", "token": "{{secrets.K}}"},
	} {
		res, e := b.run(t, map[string]any{"method": "GET", "url": b.srv.URL, "auth": auth}, `{}`, executor.StaticSecrets{"K": "redirect-canary"})
		require.Nil(t, e)
		require.Contains(t, string(res.Output), "landed")
		require.Equal(t, "redirect-canary", b.last.Header.Get("X-Api-Key")+strings.TrimPrefix(b.last.Header.Get("Authorization"), "Bearer "), "the first host got the credential")
		mu.Lock()
		require.Empty(t, seen.Get("X-Api-Key"))
		require.Empty(t, seen.Get("Authorization"))
		mu.Unlock()
	}
}

func TestAPIOverTLS(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"tls":true,"proto":"` + r.Proto + `"}`))
	}))
	t.Cleanup(srv.Close)
	tlsCfg := srv.Client().Transport.(*http.Transport).TLSClientConfig
	ex := New(Options{Client: NewClient(ClientOptions{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, TLSConfig: tlsCfg})})
	res, err := ex.Execute(context.Background(), executor.Request{Type: executor.TypeAPI, Config: apiConfig(srv.URL + "/x")})
	require.NoError(t, err)
	require.JSONEq(t, `{"status":200,"headers":{"Content-Type":"application/json"},"body":{"tls":true,"proto":"HTTP/1.1"}}`, string(res.Output))
}

// TestAPIIdempotencyKey: the step's key goes in Idempotency-Key by default,
// in the header the config names, or nowhere; a header of the same name in
// the config wins.
func TestAPIIdempotencyKey(t *testing.T) {
	t.Parallel()
	b := setup(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	send := func(cfg map[string]any) http.Header {
		raw, err := json.Marshal(cfg)
		require.NoError(t, err)
		_, err = b.ex.Execute(context.Background(), executor.Request{Type: executor.TypeAPI, Config: raw, IdempotencyKey: "exec-1:send"})
		require.NoError(t, err)
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.last.Header.Clone()
	}
	base := func() map[string]any { return map[string]any{"method": "POST", "url": b.srv.URL} }

	require.Equal(t, "exec-1:send", send(base()).Get("Idempotency-Key"))

	cfg := base()
	cfg["idempotencyKeyHeader"] = "X-Request-Id"
	h := send(cfg)
	require.Equal(t, "exec-1:send", h.Get("X-Request-Id"))
	require.Empty(t, h.Get("Idempotency-Key"))

	cfg = base()
	cfg["idempotencyKeyHeader"] = ""
	require.Empty(t, send(cfg).Get("Idempotency-Key"), "an empty header name sends no key")

	cfg = base()
	cfg["headers"] = map[string]string{"Idempotency-Key": "mine"}
	require.Equal(t, "mine", send(cfg).Get("Idempotency-Key"), "the agent's own header wins")

	cfg = base()
	cfg["idempotencyKeyHeader"] = "Bad Header"
	raw, _ := json.Marshal(cfg)
	_, err := b.ex.Execute(context.Background(), executor.Request{Type: executor.TypeAPI, Config: raw})
	require.ErrorContains(t, err, "idempotencyKeyHeader")
}
