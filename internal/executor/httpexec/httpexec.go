// Package httpexec is the executor of API agents (type "api"): one HTTP call
// built from the agent's config (method, URL, headers, query, body and auth,
// each of which may use {{input.x}} and {{secrets.NAME}} templates), made
// through an SSRF-safe client, with bounded retries of 429/502/503/504
// honouring Retry-After, a response size limit and step errors that a
// workflow's Retry and Catch can tell apart (Api.Http4xx, Api.Http5xx,
// Api.RateLimited, Api.Timeout, Api.Blocked, Api.ConnectionFailed,
// Api.ResponseTooLarge).
//
// The SSRF protection ([NewClient]) is exported for reuse by anything else
// that calls user-supplied URLs (outbound webhooks). It checks each TCP
// connection in the dialer's Control hook, after DNS resolution, so DNS
// rebinding and redirects gain nothing; see [CheckAddr] for the ranges.
package httpexec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/turbocat/turbocat/internal/executor"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// Defaults of API agents.
const (
	DefaultTimeout          = 30 * time.Second
	DefaultMaxResponseBytes = 5 << 20
	DefaultMaxRetryDelay    = 10 * time.Second
	// MaxOutputBytes bounds the whole output (body, headers, status).
	MaxOutputBytes = 6 << 20
)

// Options configures the executor.
type Options struct {
	// Client makes the calls; nil means NewClient(ClientOptions{}) (no
	// allow-list). Pass a client built with AllowCIDRs from
	// AllowCIDRsFromEnv in the composition root.
	Client *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Sleep waits between retries; nil means a timer honouring ctx.
	Sleep func(ctx context.Context, d time.Duration) error
	// DefaultTimeout overrides DefaultTimeout when positive.
	DefaultTimeout time.Duration
}

// Executor runs API agents.
type Executor struct {
	client  *http.Client
	now     func() time.Time
	sleep   func(ctx context.Context, d time.Duration) error
	timeout time.Duration
}

// New returns an API agent executor.
func New(opts Options) *Executor {
	e := &Executor{client: opts.Client, now: opts.Now, sleep: opts.Sleep, timeout: opts.DefaultTimeout}
	if e.client == nil {
		e.client = NewClient(ClientOptions{})
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.sleep == nil {
		e.sleep = sleepCtx
	}
	if e.timeout <= 0 {
		e.timeout = DefaultTimeout
	}
	return e
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

var _ executor.Executor = (*Executor)(nil)

// Execute implements executor.Executor. The output is
// {"status": 200, "headers": {"Content-Type": "..."}, "body": <JSON or text>}.
func (e *Executor) Execute(ctx context.Context, req executor.Request) (executor.Result, error) {
	run := executor.Begin(req, executor.RunOptions{Now: e.now, MaxOutputBytes: MaxOutputBytes, TimeoutName: executor.ErrAPITimeout})
	var cfg executor.APIConfig
	if err := executor.ValidateConfig(executor.TypeAPI, req.Config); err != nil {
		return run.Finish(ctx, nil, err)
	}
	if err := json.Unmarshal(req.Config, &cfg); err != nil {
		return run.Finish(ctx, nil, executor.Errorf(executor.ErrInvalidConfig, false, "config: %v", err))
	}
	ctx, cancel := context.WithTimeout(ctx, executor.Timeout(req.Timeout, cfg.TimeoutSeconds, e.timeout))
	defer cancel()
	out, err := e.call(ctx, run, &cfg)
	return run.Finish(ctx, out, err)
}

type prepared struct {
	sensitive   []string // credential headers to drop on cross-host redirects
	method      string
	url         *url.URL
	header      http.Header
	body        []byte
	contentType string
}

func (e *Executor) prepare(ctx context.Context, run *executor.Run, cfg *executor.APIConfig) (*prepared, error) {
	rawURL, err := run.RenderString(ctx, cfg.URL)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil {
		return nil, executor.Errorf(executor.ErrInvalidConfig, false, "url: %v", err)
	}
	if err := CheckURL(u.Scheme, u.Hostname()); err != nil {
		return nil, executor.Errorf(executor.ErrAPIBlocked, false, "%v", err)
	}
	q := u.Query()
	for _, k := range sortedKeys(cfg.Query) {
		v, err := run.RenderString(ctx, cfg.Query[k])
		if err != nil {
			return nil, err
		}
		q.Add(k, v)
	}
	p := &prepared{method: cfg.Method, header: http.Header{}}
	for _, k := range sortedKeys(cfg.Headers) {
		v, err := run.RenderString(ctx, cfg.Headers[k])
		if err != nil {
			return nil, err
		}
		if strings.ContainsAny(v, "\r\n") {
			return nil, executor.Errorf(executor.ErrInvalidConfig, false, "header %s: value contains a line break", k)
		}
		p.header.Set(k, v)
	}
	if a := cfg.Auth; a != nil {
		render := func(s string) (string, error) { return run.RenderString(ctx, s) }
		switch a.Type {
		case "bearer":
			tok, err := render(a.Token)
			if err != nil {
				return nil, err
			}
			run.Scrubber().Add(tok)
			p.header.Set("Authorization", "Bearer "+tok)
		case "basic":
			user, err := render(a.Username)
			if err != nil {
				return nil, err
			}
			pw, err := render(a.Password)
			if err != nil {
				return nil, err
			}
			run.Scrubber().AddBasicAuth(user, pw)
			r := &http.Request{Header: p.header}
			r.SetBasicAuth(user, pw)
		case "header", "query":
			name, err := render(a.Name)
			if err != nil {
				return nil, err
			}
			val, err := render(a.Value)
			if err != nil {
				return nil, err
			}
			run.Scrubber().Add(val)
			if a.Type == "header" {
				p.header.Set(name, val)
				p.sensitive = append(p.sensitive, name)
			} else {
				q.Set(name, val)
			}
		}
	}
	u.RawQuery = q.Encode()
	p.url = u
	if len(cfg.Body) > 0 && string(cfg.Body) != "null" {
		body, err := run.Render(ctx, cfg.Body)
		if err != nil {
			return nil, err
		}
		var s string
		if json.Unmarshal(body, &s) == nil {
			p.body = []byte(s)
			p.contentType = "text/plain; charset=utf-8"
		} else {
			p.body = body
			p.contentType = "application/json"
		}
		if p.header.Get("Content-Type") == "" {
			p.header.Set("Content-Type", p.contentType)
		}
	}
	if p.header.Get("User-Agent") == "" {
		p.header.Set("User-Agent", "Turbocat-Agent/1")
	}
	if name := idempotencyHeader(cfg); name != "" && run.IdempotencyKey() != "" && p.header.Get(name) == "" {
		p.header.Set(name, run.IdempotencyKey())
	}
	return p, nil
}

// idempotencyHeader is the header the step's idempotency key goes in ("" for
// none).
func idempotencyHeader(cfg *executor.APIConfig) string {
	if cfg.IdempotencyKeyHeader != nil {
		return *cfg.IdempotencyKeyHeader
	}
	return executor.IdempotencyHeader
}

func (e *Executor) call(ctx context.Context, run *executor.Run, cfg *executor.APIConfig) (json.RawMessage, error) {
	p, err := e.prepare(ctx, run, cfg)
	if err != nil {
		return nil, err
	}
	attempts, maxDelay := 1, DefaultMaxRetryDelay
	if cfg.Retry != nil {
		if cfg.Retry.MaxAttempts > 0 {
			attempts = cfg.Retry.MaxAttempts
		}
		if cfg.Retry.MaxDelaySeconds > 0 {
			maxDelay = time.Duration(cfg.Retry.MaxDelaySeconds * float64(time.Second))
		}
	}
	limit := cfg.MaxResponseBytes
	if limit <= 0 {
		limit = DefaultMaxResponseBytes
	}
	for attempt := 1; ; attempt++ {
		resp, body, err := e.do(ctx, p, limit)
		if err != nil {
			return nil, classify(ctx, err)
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			run.Logf(executor.LevelInfo, "%s %s → %d (%d bytes)", p.method, p.url.Redacted(), resp.StatusCode, len(body))
			return buildOutput(resp, body, cfg.KeepHeaders)
		}
		if retryable(resp.StatusCode) && attempt < attempts {
			wait := retryDelay(resp.Header.Get("Retry-After"), attempt, maxDelay, e.now())
			if dl, ok := ctx.Deadline(); !ok || e.now().Add(wait).Before(dl) {
				run.Logf(executor.LevelWarn, "%s %s → %d, retrying in %s (attempt %d of %d)", p.method, p.url.Redacted(), resp.StatusCode, wait, attempt+1, attempts)
				if err := e.sleep(ctx, wait); err != nil {
					return nil, classify(ctx, err)
				}
				continue
			}
		}
		run.Logf(executor.LevelError, "%s %s → %d", p.method, p.url.Redacted(), resp.StatusCode)
		return nil, statusError(resp, body)
	}
}

func (e *Executor) do(ctx context.Context, p *prepared, limit int64) (*http.Response, []byte, error) {
	var body io.Reader
	if p.body != nil {
		body = bytes.NewReader(p.body)
	}
	if len(p.sensitive) > 0 {
		ctx = WithSensitiveHeaders(ctx, p.sensitive...)
	}
	r, err := http.NewRequestWithContext(ctx, p.method, p.url.String(), body)
	if err != nil {
		return nil, nil, executor.Errorf(executor.ErrInvalidConfig, false, "request: %v", err)
	}
	r.Header = p.header.Clone()
	resp, err := e.client.Do(r)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, nil, fmt.Errorf("read response: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, nil, executor.Errorf(executor.ErrAPIResponseTooLarge, false, "response body exceeds %d bytes", limit)
	}
	return resp, b, nil
}

func retryable(status int) bool {
	return status == 429 || status == 502 || status == 503 || status == 504
}

// retryDelay honours Retry-After (seconds or HTTP date) capped at max, or
// backs off exponentially from 500 ms.
func retryDelay(header string, attempt int, max time.Duration, now time.Time) time.Duration {
	d := time.Duration(500*(1<<min(attempt-1, 10))) * time.Millisecond
	if header != "" {
		if s, err := strconv.Atoi(strings.TrimSpace(header)); err == nil && s >= 0 {
			d = time.Duration(s) * time.Second
		} else if t, err := http.ParseTime(header); err == nil {
			d = max0(t.Sub(now))
		}
	}
	if d > max {
		d = max
	}
	return d
}

func max0(d time.Duration) time.Duration {
	if d < 0 {
		return 0
	}
	return d
}

func statusError(resp *http.Response, body []byte) error {
	snippet := string(body)
	if len(snippet) > 512 {
		snippet = snippet[:512]
		for !utf8.ValidString(snippet) {
			snippet = snippet[:len(snippet)-1]
		}
		snippet += "…"
	}
	cause := fmt.Sprintf("HTTP %d from %s %s", resp.StatusCode, resp.Request.Method, resp.Request.URL.Redacted())
	if snippet != "" {
		cause += ": " + strings.ToValidUTF8(snippet, "�")
	}
	switch {
	case resp.StatusCode == 429:
		return &turbocat.StepError{Name: executor.ErrAPIRateLimited, Cause: cause, Retryable: true}
	case resp.StatusCode >= 500:
		return &turbocat.StepError{Name: executor.ErrAPIHTTP5xx, Cause: cause, Retryable: true}
	case resp.StatusCode >= 400:
		return &turbocat.StepError{Name: executor.ErrAPIHTTP4xx, Cause: cause}
	default:
		return &turbocat.StepError{Name: executor.ErrAPIHTTP3xx, Cause: cause}
	}
}

// classify maps a transport error to a step error.
func classify(ctx context.Context, err error) error {
	var ee *turbocat.StepError
	if errors.As(err, &ee) {
		return ee
	}
	var be *BlockedError
	if errors.As(err, &be) {
		return &turbocat.StepError{Name: executor.ErrAPIBlocked, Cause: be.Error()}
	}
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() == context.DeadlineExceeded {
		return &turbocat.StepError{Name: executor.ErrAPITimeout, Cause: "request timed out: " + err.Error(), Retryable: true}
	}
	if errors.Is(err, context.Canceled) {
		return &turbocat.StepError{Name: executor.ErrCanceled, Cause: err.Error()}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &turbocat.StepError{Name: executor.ErrAPITimeout, Cause: err.Error(), Retryable: true}
	}
	return &turbocat.StepError{Name: executor.ErrAPIConnection, Cause: err.Error(), Retryable: true}
}

func buildOutput(resp *http.Response, body []byte, keep []string) (json.RawMessage, error) {
	if len(keep) == 0 {
		keep = []string{"Content-Type"}
	}
	headers := map[string]string{}
	for _, k := range keep {
		if vs := resp.Header.Values(k); len(vs) > 0 {
			headers[http.CanonicalHeaderKey(k)] = strings.Join(vs, ", ")
		}
	}
	var b json.RawMessage
	ct := strings.ToLower(resp.Header.Get("Content-Type"))
	trimmed := bytes.TrimSpace(body)
	switch {
	case len(trimmed) == 0:
		b = json.RawMessage("null")
	case strings.Contains(ct, "json") && json.Valid(trimmed):
		b = json.RawMessage(trimmed)
	default:
		s, _ := json.Marshal(strings.ToValidUTF8(string(body), "�"))
		b = s
	}
	out, err := json.Marshal(struct {
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		Body    json.RawMessage   `json:"body"`
	}{resp.StatusCode, headers, b})
	if err != nil {
		return nil, fmt.Errorf("encode output: %w", err)
	}
	return out, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}
