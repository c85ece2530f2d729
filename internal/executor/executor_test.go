package executor

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/secrets"
	"github.com/turbocat/turbocat/internal/turbocat"
)

func TestValidateConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		typ, config string
		wantErr     string // substring; "" means valid
	}{
		{TypeCode, `{"source":"function main(i){return i}"}`, ""},
		{TypeCode, `{"source":"function main(i){return i}","timeoutSeconds":2.5}`, ""},
		{TypeCode, `{}`, "source"},
		{TypeCode, `{"source":"x","extra":1}`, "extra"},
		{TypeCode, `{"source":"   "}`, "must not be empty"},
		{TypeAPI, `{"method":"GET","url":"https://api.test/{{input.id}}","headers":{"X":"{{secrets.K}}"}}`, ""},
		{TypeAPI, `{"method":"FETCH","url":"https://x"}`, "method"},
		{TypeAPI, `{"method":"GET","url":"https://x/{{input.id"}`, "url: template syntax error at offset"},
		{TypeAPI, `{"method":"POST","url":"https://x","body":{"a":["{{ }}"]}}`, "body.a.0: template syntax error at offset 0"},
		{TypeAPI, `{"method":"GET","url":"https://x","auth":{"type":"basic","username":"u"}}`, "auth.password: required"},
		{TypeAPI, `{"method":"GET","url":"https://x","auth":{"type":"bearer","token":"{{secrets.T}}"}}`, ""},
		{TypeLLM, `{"provider":"openai","model":"gpt-4o-mini","prompt":"Summarize {{input.text}}"}`, ""},
		{TypeLLM, `{"provider":"openai","model":"m","prompt":"x","messages":[{"role":"user","content":"y"}]}`, "schema"},
		{TypeLLM, `{"provider":"openai","model":"m"}`, "schema"},
		{TypeLLM, `{"provider":"cohere","model":"m","prompt":"x"}`, "provider"},
		{TypeLLM, `{"provider":"anthropic","model":"m","prompt":"x","responseSchema":{"type":"nope"}}`, "responseSchema"},
		{"shell", `{}`, "unknown agent type"},
	}
	for _, tt := range tests {
		t.Run(tt.typ+" "+tt.config, func(t *testing.T) {
			t.Parallel()
			err := ValidateConfig(tt.typ, json.RawMessage(tt.config))
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
			var e *turbocat.StepError
			require.ErrorAs(t, err, &e)
			if tt.typ == "shell" {
				require.Equal(t, ErrUnknownType, e.Name)
			} else {
				require.Equal(t, ErrInvalidConfig, e.Name)
			}
		})
	}
}

func TestSchemasAreTheSourceOfTruth(t *testing.T) {
	t.Parallel()
	all := Schemas()
	require.Len(t, all, 3)
	for typ, b := range all {
		var doc map[string]any
		require.NoError(t, json.Unmarshal(b, &doc), typ)
		require.Equal(t, "object", doc["type"], typ)
	}
	_, ok := Schema("nope")
	require.False(t, ok)
}

type fakeExec struct {
	fn func(ctx context.Context, req Request) (Result, error)
}

func (f fakeExec) Execute(ctx context.Context, req Request) (Result, error) { return f.fn(ctx, req) }

func TestRunScrubsAndBounds(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { now = now.Add(5 * time.Millisecond); return now }
	req := Request{
		Type:    TypeAPI,
		Input:   json.RawMessage(`{"q":"hello"}`),
		Secrets: StaticSecrets{"PW": "canary-pw-123"},
	}
	r := Begin(req, RunOptions{Now: clock, MaxLogLines: 3, MaxOutputBytes: 100, TimeoutName: ErrAPITimeout})
	ctx := context.Background()
	v, err := r.Render(ctx, json.RawMessage(`{"a":"{{input.q}} {{secrets.PW}}"}`))
	require.NoError(t, err)
	require.JSONEq(t, `{"a":"hello canary-pw-123"}`, string(v), "rendering sees the real value")
	for i := 0; i < 5; i++ {
		r.Log(LevelInfo, "line with canary-pw-123", json.RawMessage(`{"pw":"canary-pw-123"}`))
	}
	res, err := r.Finish(ctx, v, nil)
	require.NoError(t, err)
	require.JSONEq(t, `{"a":"hello [REDACTED]"}`, string(res.Output))
	require.Len(t, res.Logs, 4)
	require.Equal(t, "line with [REDACTED]", res.Logs[0].Message)
	require.JSONEq(t, `{"pw":"[REDACTED]"}`, string(res.Logs[0].Data))
	require.Contains(t, res.Logs[3].Message, "2 log lines dropped")
	require.Positive(t, res.DurationMs)

	_, err = r.Finish(ctx, json.RawMessage(`"`+strings.Repeat("x", 200)+`"`), nil)
	var e *turbocat.StepError
	require.ErrorAs(t, err, &e)
	require.Equal(t, ErrOutputTooLarge, e.Name)

	_, err = r.Finish(ctx, nil, errors.New("dial: password canary-pw-123 refused"))
	require.ErrorAs(t, err, &e)
	require.Equal(t, ErrInternal, e.Name)
	require.Equal(t, "dial: password [REDACTED] refused", e.Cause)

	dctx, cancel := context.WithTimeout(ctx, time.Nanosecond)
	defer cancel()
	<-dctx.Done()
	_, err = r.Finish(dctx, nil, dctx.Err())
	require.ErrorAs(t, err, &e)
	require.Equal(t, ErrAPITimeout, e.Name)

	_, err = r.Render(ctx, json.RawMessage(`"{{secrets.MISSING}}"`))
	require.ErrorAs(t, err, &e)
	require.Equal(t, ErrInvalidConfig, e.Name)
	_, err = r.Render(ctx, json.RawMessage(`"{{input.nope}}"`))
	require.ErrorAs(t, err, &e)
	require.Equal(t, ErrInvalidConfig, e.Name)
	require.Contains(t, e.Cause, "{{input.nope}}")
}

func TestRegistry(t *testing.T) {
	t.Parallel()
	reg := NewRegistry()
	sc := secrets.NewScrubber("leaky-value")
	reg.Register(TypeCode, fakeExec{fn: func(ctx context.Context, req Request) (Result, error) {
		if string(req.Input) == `"fail"` {
			return Result{}, errors.New("boom leaky-value")
		}
		return Result{Output: json.RawMessage(`{"ok":true}`)}, nil
	}})
	require.Equal(t, []string{TypeCode}, reg.Types())
	ctx := context.Background()

	res, err := reg.Execute(ctx, Request{Type: TypeCode, Config: json.RawMessage(`{"source":"x"}`)})
	require.NoError(t, err)
	require.JSONEq(t, `{"ok":true}`, string(res.Output))

	var e *turbocat.StepError
	_, err = reg.Execute(ctx, Request{Type: TypeCode, Config: json.RawMessage(`{"source":"x"}`), Input: json.RawMessage(`"fail"`), Scrubber: sc})
	require.ErrorAs(t, err, &e)
	require.Equal(t, ErrInternal, e.Name)
	require.Equal(t, "boom [REDACTED]", e.Cause)

	_, err = reg.Execute(ctx, Request{Type: TypeCode, Config: json.RawMessage(`{}`)})
	require.ErrorAs(t, err, &e)
	require.Equal(t, ErrInvalidConfig, e.Name)

	_, err = reg.Execute(ctx, Request{Type: TypeLLM, Config: json.RawMessage(`{}`)})
	require.ErrorAs(t, err, &e)
	require.Equal(t, ErrUnknownType, e.Name)
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		step time.Duration
		cfg  float64
		def  time.Duration
		want time.Duration
	}{
		{0, 0, 10 * time.Second, 10 * time.Second},
		{0, 2, 10 * time.Second, 2 * time.Second},
		{5 * time.Second, 0, 10 * time.Second, 5 * time.Second},
		{5 * time.Second, 20, 10 * time.Second, 5 * time.Second},
		{30 * time.Second, 20, 10 * time.Second, 20 * time.Second},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, Timeout(tt.step, tt.cfg, tt.def))
	}
}
