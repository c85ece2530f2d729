package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/app"
	"github.com/turbocat/turbocat/internal/app/localengine"
	"github.com/turbocat/turbocat/internal/config"
	"github.com/turbocat/turbocat/internal/executor/codeexec"
	"github.com/turbocat/turbocat/internal/postgres/pgtest"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// seen collects every response body of the run, and every secret the API
// handed out once, so TestMain can check no secret was ever shown again.
var seen struct {
	sync.Mutex
	bodies  []string
	secrets map[string]string // secret → response in which it was created
}

func TestMain(m *testing.M) {
	codeexec.MaybeRunWorker() // code agents run in workers re-executed from this test binary
	seen.secrets = map[string]string{}
	code := m.Run()
	if code == 0 {
		if err := scanForLeaks(); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL: secret leak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// scanForLeaks fails if any response contained a stored hash, or an API key
// or refresh token after the one response that created it.
func scanForLeaks() error {
	seen.Lock()
	defer seen.Unlock()
	if len(seen.bodies) < 50 && flag.Lookup("test.run").Value.String() == "" {
		return fmt.Errorf("only %d responses recorded: the scan would prove nothing", len(seen.bodies))
	}
	for _, b := range seen.bodies {
		for _, marker := range []string{"$argon2id$", "password_hash", "passwordHash", "keyHash", "key_hash", "tokenHash", "token_hash"} {
			if strings.Contains(b, marker) {
				return fmt.Errorf("response contains %q: %.200s", marker, b)
			}
		}
		for secret, origin := range seen.secrets {
			if strings.Contains(b, secret) && b != origin {
				return fmt.Errorf("secret %.12s… shown again in: %.200s", secret, b)
			}
		}
	}
	return nil
}

type env struct {
	Success bool            `json:"success"`
	Data    json.RawMessage `json:"data"`
	Error   *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Details []struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"details"`
	} `json:"error"`
	Meta struct {
		Timestamp string `json:"timestamp"`
		RequestID string `json:"requestId"`
	} `json:"meta"`
}

type resp struct {
	Status int
	Header http.Header
	Body   []byte
	Env    env
}

// data decodes the success data into v.
func (r resp) data(t *testing.T, v any) {
	t.Helper()
	require.True(t, r.Env.Success, "expected success, got %d %s", r.Status, r.Body)
	require.NoError(t, json.Unmarshal(r.Env.Data, v))
}

func (r resp) code() string {
	if r.Env.Error == nil {
		return ""
	}
	return r.Env.Error.Code
}

func (r resp) fields() []string {
	var out []string
	if r.Env.Error != nil {
		for _, d := range r.Env.Error.Details {
			out = append(out, d.Field+": "+d.Message)
		}
	}
	return out
}

type fixture struct {
	t     *testing.T
	srv   *httptest.Server
	app   *app.App
	pool  *pgxpool.Pool
	logs  *bytes.Buffer
	mu    *sync.Mutex
	local *localengine.Engine
}

// lockedWriter serialises writes from the server's goroutines.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

type option func(*config.Config)

// withEngine is an option marker: setupEngine starts the local engine.
func setupEngine(t *testing.T, opts ...option) *fixture {
	t.Helper()
	f := setup(t, opts...)
	local, err := localengine.Start(context.Background(), f.app, nil)
	require.NoError(t, err)
	t.Cleanup(local.Close)
	local.RunBackground(context.Background()) // the event outbox, schedules, the reconciler's sweep
	f.local = local
	return f
}

func setup(t *testing.T, opts ...option) *fixture {
	t.Helper()
	pool := pgtest.Pool(t)
	cfg, err := config.Load()
	require.NoError(t, err)
	cfg.JWTSecret = []byte("test-secret-test-secret-test-secret-0123")
	cfg.SecretsKey = []byte("0123456789abcdef0123456789abcdef")
	cfg.RateLimit, cfg.RateBurst, cfg.IPRateLimit, cfg.AuthRateLimit = 1000, 1000, 1000, 6000
	cfg.LogFormat = "json"
	cfg.LogLevel = slog.LevelDebug
	for _, o := range opts {
		o(cfg)
	}
	require.NoError(t, cfg.Validate(true))
	f := &fixture{t: t, pool: pool, logs: &bytes.Buffer{}, mu: &sync.Mutex{}}
	logger := app.NewLogger(cfg, lockedWriter{mu: f.mu, w: f.logs})
	a, err := app.NewWithPool(cfg, logger, pool)
	require.NoError(t, err)
	require.NoError(t, a.Migrate(context.Background()))
	f.app = a
	f.srv = httptest.NewServer(a.Server.Handler())
	t.Cleanup(f.srv.Close)
	return f
}

// serverLogs returns what the server logged so far.
func (f *fixture) serverLogs() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.logs.String()
}

// call sends a request. body may be nil, a string (sent raw) or a value
// (JSON-encoded). token may be "" (anonymous), a JWT or an API key.
func (f *fixture) call(method, path, token string, body any, headers ...string) resp {
	f.t.Helper()
	var rd io.Reader
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		raw, err = json.Marshal(b)
		require.NoError(f.t, err)
	}
	if raw != nil {
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	require.NoError(f.t, err)
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(f.t, err)
	defer res.Body.Close()
	out := resp{Status: res.StatusCode, Header: res.Header}
	out.Body, err = io.ReadAll(res.Body)
	require.NoError(f.t, err)
	checkContract(f.t, req, raw, out)
	seen.Lock()
	seen.bodies = append(seen.bodies, string(out.Body))
	seen.Unlock()
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") && path != "/api/v1/openapi.json" {
		require.NoError(f.t, json.Unmarshal(out.Body, &out.Env), "body is not the JSON envelope: %s", out.Body)
		require.NotEmpty(f.t, out.Env.Meta.RequestID, "every envelope carries meta.requestId")
		require.NotEmpty(f.t, out.Env.Meta.Timestamp, "every envelope carries meta.timestamp")
		require.Equal(f.t, res.Header.Get("X-Request-Id"), out.Env.Meta.RequestID)
		require.Equal(f.t, out.Status < 400, out.Env.Success, "success flag follows the status: %d %s", out.Status, out.Body)
	}
	return out
}

// remember marks a secret the API returned once (in body b).
func remember(secret string, b []byte) {
	if secret == "" {
		return // nothing was shown (a redeploy keeps its secret)
	}
	seen.Lock()
	seen.secrets[secret] = string(b)
	seen.Unlock()
}

type session struct {
	User struct {
		ID    string `json:"id"`
		Email string `json:"email"`
		Role  string `json:"role"`
	} `json:"user"`
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
	ExpiresIn    int    `json:"expiresIn"`
}

var userSeq struct {
	sync.Mutex
	n int
}

// register creates a fresh user and returns its session.
func (f *fixture) register(name string) session {
	f.t.Helper()
	userSeq.Lock()
	userSeq.n++
	email := fmt.Sprintf("%s-%d@example.com", name, userSeq.n)
	userSeq.Unlock()
	r := f.call("POST", "/api/v1/auth/register", "", map[string]string{"email": email, "password": "correct horse battery", "fullName": name})
	require.Equal(f.t, http.StatusCreated, r.Status, "%s", r.Body)
	var s session
	r.data(f.t, &s)
	remember(s.RefreshToken, r.Body)
	return s
}

type apiKey struct {
	ID     string   `json:"id"`
	Key    string   `json:"key"`
	Prefix string   `json:"prefix"`
	Scopes []string `json:"scopes"`
}

func (f *fixture) apiKey(token string, scopes ...string) apiKey {
	f.t.Helper()
	r := f.call("POST", "/api/v1/api-keys", token, map[string]any{"name": "key", "scopes": scopes})
	require.Equal(f.t, http.StatusCreated, r.Status, "%s", r.Body)
	var k apiKey
	r.data(f.t, &k)
	remember(k.Key, r.Body)
	return k
}

type idOnly struct {
	ID string `json:"id"`
}

func (f *fixture) create(token, path string, body any) string {
	f.t.Helper()
	r := f.call("POST", path, token, body)
	require.Equal(f.t, http.StatusCreated, r.Status, "%s", r.Body)
	var v idOnly
	r.data(f.t, &v)
	require.NotEmpty(f.t, v.ID)
	return v.ID
}

func codeAgent(name string) map[string]any {
	return map[string]any{"name": name, "type": "code", "config": map[string]any{"source": "function main(input) { return input; }"}}
}

// count returns the number of rows of a table in the test's schema.
func (f *fixture) count(table, where string, args ...any) int {
	f.t.Helper()
	q := "SELECT count(*) FROM " + table
	if where != "" {
		q += " WHERE " + where
	}
	var n int
	require.NoError(f.t, f.pool.QueryRow(context.Background(), q, args...).Scan(&n))
	return n
}

// allowLoopback lets agents and webhooks reach servers started in the test.
func allowLoopback(c *config.Config) { c.HTTPAllowCIDRs = []string{"127.0.0.0/8", "::1/128"} }

// sentEvent is a lifecycle event as a webhook receives it.
type sentEvent struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Data struct {
		ExecutionID string `json:"executionId"`
		ApproveURL  string `json:"approveUrl"`
		RejectURL   string `json:"rejectUrl"`
	} `json:"data"`
}

// eventSink subscribes, for the user of tok, a webhook for every lifecycle
// event to a server started here (the fixture needs allowLoopback), and
// returns the events it has received so far: what a user's receiver sees.
func (f *fixture) eventSink(tok string) func() []sentEvent {
	f.t.Helper()
	var mu sync.Mutex
	var got []sentEvent
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev sentEvent
		if json.NewDecoder(r.Body).Decode(&ev) == nil {
			mu.Lock()
			got = append(got, ev)
			mu.Unlock()
		}
	}))
	f.t.Cleanup(srv.Close)
	r := f.call("POST", "/api/v1/webhooks", tok, map[string]any{"url": srv.URL, "events": []string{
		turbocat.EventExecutionStarted, turbocat.EventExecutionSucceeded, turbocat.EventExecutionFailed, turbocat.EventExecutionCancelled,
		turbocat.EventStepFailed, turbocat.EventStepWaiting, turbocat.EventDeploymentActivated}})
	require.Equal(f.t, http.StatusCreated, r.Status, "%s", r.Body)
	return func() []sentEvent {
		mu.Lock()
		defer mu.Unlock()
		return append([]sentEvent(nil), got...)
	}
}
