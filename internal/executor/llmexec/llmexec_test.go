package llmexec

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/executor"
	"github.com/turbocat/turbocat/internal/executor/httpexec"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// fakeProvider is a real HTTP server speaking one provider's wire format.
// The model name picks the scenario.
type fakeProvider struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	path   string
	header http.Header
	body   map[string]any
}

func (f *fakeProvider) last(t *testing.T) recorded {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	require.NotEmpty(t, f.reqs)
	return f.reqs[len(f.reqs)-1]
}

const (
	replyText = "The answer is 42."
	goodJSON  = `{"label":"spam","score":0.9}`
	badJSON   = `{"label":7}`
)

func newFake(t *testing.T, provider string) *fakeProvider {
	t.Helper()
	f := &fakeProvider{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(raw, &body)
		f.mu.Lock()
		f.reqs = append(f.reqs, recorded{path: r.URL.Path, header: r.Header.Clone(), body: body})
		f.mu.Unlock()
		model, _ := body["model"].(string)
		if provider == ProviderBedrock {
			// /model/{id}/converse
			parts := strings.Split(r.URL.Path, "/")
			if len(parts) >= 3 {
				model = parts[2]
			}
		}
		w.Header().Set("Content-Type", "application/json")
		switch model {
		case "ratelimit":
			w.Header().Set("Retry-After", "7")
			writeErr(w, provider, 429, "rate_limit", "slow down")
		case "server":
			writeErr(w, provider, 500, "api_error", "internal failure")
		case "overloaded":
			writeErr(w, provider, 529, "overloaded_error", "overloaded")
		case "invalid":
			writeErr(w, provider, 400, "invalid_request_error", "model does not exist")
		case "unauthorized":
			writeErr(w, provider, 401, "authentication_error", "bad key")
		case "badjson":
			_, _ = w.Write([]byte(`{"choices": [ {"message": `))
		case "slow":
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		case "refuse":
			writeOK(w, provider, model, "I can't help with that.", "refuse")
		case "schema-good":
			writeOK(w, provider, model, "```json\n"+goodJSON+"\n```", "stop")
		case "schema-bad":
			writeOK(w, provider, model, badJSON, "stop")
		case "schema-notjson":
			writeOK(w, provider, model, "sure! here you go", "stop")
		case "echo":
			writeOK(w, provider, model, string(raw)+" "+r.Header.Get("Authorization")+r.Header.Get("X-Api-Key"), "stop")
		default:
			writeOK(w, provider, model, replyText, "stop")
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func writeErr(w http.ResponseWriter, provider string, status int, typ, msg string) {
	switch provider {
	case ProviderOpenAI:
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": typ, "code": typ}})
	case ProviderAnthropic:
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"type": "error", "error": map[string]any{"type": typ, "message": msg}})
	case ProviderBedrock:
		code := map[int]string{429: "ThrottlingException", 500: "InternalServerException", 529: "ServiceUnavailableException", 400: "ValidationException", 401: "AccessDeniedException"}[status]
		if status == 529 {
			status = 503
		}
		if status == 401 {
			status = 403
		}
		w.Header().Set("X-Amzn-ErrorType", code+":http://internal.amazon.com/coral/com.amazon.bedrock/")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"message": msg})
	}
}

func writeOK(w http.ResponseWriter, provider, model, text, finish string) {
	var v any
	switch provider {
	case ProviderOpenAI:
		msg := map[string]any{"role": "assistant", "content": text}
		fr := "stop"
		if finish == "refuse" {
			msg = map[string]any{"role": "assistant", "content": nil, "refusal": text}
		}
		v = map[string]any{"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": model + "-2024",
			"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": fr}},
			"usage":   map[string]any{"prompt_tokens": 1200, "completion_tokens": 300, "total_tokens": 1500}}
	case ProviderAnthropic:
		sr := "end_turn"
		if finish == "refuse" {
			sr = "refusal"
		}
		v = map[string]any{"id": "msg_1", "type": "message", "role": "assistant", "model": model + "-2024",
			"content": []any{map[string]any{"type": "text", "text": text}}, "stop_reason": sr, "stop_sequence": nil,
			"usage": map[string]any{"input_tokens": 1200, "output_tokens": 300}}
	case ProviderBedrock:
		sr := "end_turn"
		if finish == "refuse" {
			sr = "content_filtered"
		}
		v = map[string]any{"output": map[string]any{"message": map[string]any{"role": "assistant", "content": []any{map[string]any{"text": text}}}},
			"stopReason": sr, "usage": map[string]any{"inputTokens": 1200, "outputTokens": 300, "totalTokens": 1500}, "metrics": map[string]any{"latencyMs": 1}}
	}
	_ = json.NewEncoder(w).Encode(v)
}

func newExecutor(fakes map[string]*fakeProvider) *Executor {
	return New(Options{
		HTTPClient:       httpexec.NewClient(httpexec.ClientOptions{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}),
		OpenAIBaseURL:    fakes[ProviderOpenAI].srv.URL + "/v1/",
		OpenAIAPIKey:     "sk-process-key",
		AnthropicBaseURL: fakes[ProviderAnthropic].srv.URL,
		AnthropicAPIKey:  "sk-ant-process-key",
		AWS: &aws.Config{Region: "us-east-1", Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret-test-key", Source: "test"}, nil
		})},
		BedrockEndpoint: fakes[ProviderBedrock].srv.URL,
		Prices:          map[string]Price{"ok": {InputPerMTok: 1, OutputPerMTok: 2}},
	})
}

func llmConfig(provider, model string, extra map[string]any) json.RawMessage {
	m := map[string]any{"provider": provider, "model": model, "prompt": "Summarize: {{input.text}}", "timeoutSeconds": 2}
	for k, v := range extra {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	return b
}

func TestLLMProviders(t *testing.T) {
	t.Parallel()
	fakes := map[string]*fakeProvider{}
	for _, p := range []string{ProviderOpenAI, ProviderAnthropic, ProviderBedrock} {
		fakes[p] = newFake(t, p)
	}
	ex := newExecutor(fakes)
	schema := map[string]any{"type": "object", "required": []string{"label", "score"}, "properties": map[string]any{"label": map[string]any{"type": "string"}, "score": map[string]any{"type": "number"}}}
	tests := []struct {
		model     string
		extra     map[string]any
		wantErr   string
		retryable bool
		causeHas  string
	}{
		{model: "ok"},
		{model: "ratelimit", wantErr: executor.ErrLLMRateLimited, retryable: true, causeHas: "429"},
		{model: "server", wantErr: executor.ErrLLMServerError, retryable: true},
		{model: "overloaded", wantErr: executor.ErrLLMServerError, retryable: true},
		{model: "invalid", wantErr: executor.ErrLLMInvalidRequest, causeHas: "does not exist"},
		{model: "unauthorized", wantErr: executor.ErrLLMInvalidRequest},
		{model: "badjson", wantErr: executor.ErrLLMInvalidOutput, retryable: true},
		{model: "slow", extra: map[string]any{"timeoutSeconds": 0.3}, wantErr: executor.ErrLLMTimeout, retryable: true},
		{model: "refuse", wantErr: executor.ErrLLMContentFiltered},
		{model: "schema-good", extra: map[string]any{"responseSchema": schema}},
		{model: "schema-bad", extra: map[string]any{"responseSchema": schema}, wantErr: executor.ErrLLMInvalidOutput, retryable: true, causeHas: "responseSchema"},
		{model: "schema-notjson", extra: map[string]any{"responseSchema": schema}, wantErr: executor.ErrLLMInvalidOutput, retryable: true, causeHas: "not valid JSON"},
	}
	for _, provider := range []string{ProviderOpenAI, ProviderAnthropic, ProviderBedrock} {
		for _, tt := range tests {
			t.Run(provider+"/"+tt.model, func(t *testing.T) {
				t.Parallel()
				res, err := ex.Execute(context.Background(), executor.Request{Type: executor.TypeLLM, Config: llmConfig(provider, tt.model, tt.extra), Input: json.RawMessage(`{"text":"long text"}`)})
				if tt.wantErr != "" {
					var e *turbocat.StepError
					require.ErrorAs(t, err, &e)
					require.Equal(t, tt.wantErr, e.Name, e.Cause)
					require.Equal(t, tt.retryable, e.Retryable)
					require.Contains(t, e.Cause, tt.causeHas)
					if tt.model == "ratelimit" && provider != ProviderBedrock {
						require.Contains(t, e.Cause, "retry after 7s")
					}
					return
				}
				require.NoError(t, err)
				var out Output
				require.NoError(t, json.Unmarshal(res.Output, &out))
				require.Equal(t, "stop", out.FinishReason)
				require.Equal(t, OutputUsage{1200, 300}, out.Usage)
				require.NotNil(t, res.Usage)
				require.Equal(t, int64(1200), res.Usage.InputTokens)
				require.Equal(t, int64(300), res.Usage.OutputTokens)
				if tt.model == "ok" {
					require.Equal(t, replyText, out.Text)
					require.Nil(t, out.JSON)
					// Price table override: 1200*1 + 300*2 per million.
					wantCost := (1200*1.0 + 300*2.0) / 1e6
					require.NotNil(t, out.CostUSD, "priced by prefix %q", out.Model)
					require.InDelta(t, wantCost, *out.CostUSD, 1e-12)
					require.InDelta(t, wantCost, res.Usage.CostUSD, 1e-12)
					req := fakes[provider].last(t)
					require.Contains(t, mustJSON(req.body), "Summarize: long text")
				} else {
					require.JSONEq(t, goodJSON, string(out.JSON))
				}
			})
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestLLMRequestShape(t *testing.T) {
	t.Parallel()
	fakes := map[string]*fakeProvider{}
	for _, p := range []string{ProviderOpenAI, ProviderAnthropic, ProviderBedrock} {
		fakes[p] = newFake(t, p)
	}
	ex := newExecutor(fakes)
	extra := map[string]any{"system": "You are terse about {{input.topic}}.", "temperature": 0.2, "maxTokens": 77, "prompt": nil,
		"messages": []any{map[string]any{"role": "user", "content": "Q {{input.topic}}"}, map[string]any{"role": "assistant", "content": "A"}, map[string]any{"role": "user", "content": "more"}}}
	for _, provider := range []string{ProviderOpenAI, ProviderAnthropic, ProviderBedrock} {
		cfg := map[string]any{"provider": provider, "model": "ok", "system": extra["system"], "temperature": 0.2, "maxTokens": 77, "messages": extra["messages"]}
		raw, _ := json.Marshal(cfg)
		_, err := ex.Execute(context.Background(), executor.Request{Type: executor.TypeLLM, Config: raw, Input: json.RawMessage(`{"topic":"cats"}`),
			IdempotencyKey: "exec-9:summarize"})
		require.NoError(t, err, provider)
		req := fakes[provider].last(t)
		body := mustJSON(req.body)
		if provider != ProviderBedrock { // Bedrock's Converse takes no such header
			require.Equal(t, "exec-9:summarize", req.header.Get("Idempotency-Key"), provider)
		}
		require.Contains(t, body, "You are terse about cats.", provider)
		require.Contains(t, body, "Q cats", provider)
		switch provider {
		case ProviderOpenAI:
			require.Equal(t, "/v1/chat/completions", req.path)
			require.Equal(t, "Bearer sk-process-key", req.header.Get("Authorization"))
			require.EqualValues(t, 77, req.body["max_tokens"])
			require.InDelta(t, 0.2, req.body["temperature"], 1e-9)
			require.Len(t, req.body["messages"], 4)
		case ProviderAnthropic:
			require.Equal(t, "/v1/messages", req.path)
			require.Contains(t, req.header.Get("X-Api-Key")+req.header.Get("Authorization"), "sk-ant-process-key")
			require.EqualValues(t, 77, req.body["max_tokens"])
			require.InDelta(t, 0.2, req.body["temperature"], 1e-9)
			require.Len(t, req.body["messages"], 3)
		case ProviderBedrock:
			require.Equal(t, "/model/ok/converse", req.path)
			require.Contains(t, req.header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIDTEST/")
			require.Contains(t, body, `"maxTokens":77`)
			require.Len(t, req.body["messages"], 3)
		}
	}
}

func TestLLMAgentBaseURLIsUntrusted(t *testing.T) {
	t.Parallel()
	fakes := map[string]*fakeProvider{}
	for _, p := range []string{ProviderOpenAI, ProviderAnthropic, ProviderBedrock} {
		fakes[p] = newFake(t, p)
	}
	ex := newExecutor(fakes)
	attacker := newFake(t, ProviderOpenAI)
	// An agent pointing at its own server gets the answer but never the
	// process's API key; its own key comes from its secrets and is scrubbed.
	cfg := llmConfig(ProviderOpenAI, "echo", map[string]any{"baseUrl": attacker.srv.URL + "/v1/", "apiKeySecret": "MY_KEY"})
	res, err := ex.Execute(context.Background(), executor.Request{Type: executor.TypeLLM, Config: cfg, Input: json.RawMessage(`{"text":"t"}`), Secrets: executor.StaticSecrets{"MY_KEY": "sk-user-canary"}})
	require.NoError(t, err)
	req := attacker.last(t)
	require.Equal(t, "Bearer sk-user-canary", req.header.Get("Authorization"))
	require.NotContains(t, string(res.Output), "sk-user-canary")
	require.Contains(t, string(res.Output), "[REDACTED]")

	cfg = llmConfig(ProviderOpenAI, "echo", map[string]any{"baseUrl": attacker.srv.URL + "/v1/"})
	_, err = ex.Execute(context.Background(), executor.Request{Type: executor.TypeLLM, Config: cfg, Input: json.RawMessage(`{"text":"t"}`)})
	require.NoError(t, err)
	require.Empty(t, attacker.last(t).header.Get("Authorization"), "the process key is not sent to an agent-chosen URL")

	// Without the allow-list, an agent's loopback base URL is refused.
	strict := New(Options{})
	_, err = strict.Execute(context.Background(), executor.Request{Type: executor.TypeLLM, Config: cfg, Input: json.RawMessage(`{"text":"t"}`)})
	var e *turbocat.StepError
	require.ErrorAs(t, err, &e)
	require.Equal(t, executor.ErrInvalidConfig, e.Name, e.Cause)
	require.Contains(t, e.Cause, "blocked")
}

func TestLLMBedrockNotConfigured(t *testing.T) {
	t.Parallel()
	ex := New(Options{})
	_, err := ex.Execute(context.Background(), executor.Request{Type: executor.TypeLLM, Config: llmConfig(ProviderBedrock, "ok", nil), Input: json.RawMessage(`{"text":"x"}`)})
	var e *turbocat.StepError
	require.ErrorAs(t, err, &e)
	require.Equal(t, executor.ErrInvalidConfig, e.Name)
}

func TestPrice(t *testing.T) {
	t.Parallel()
	ex := New(Options{Prices: map[string]Price{"my-model": {1, 1}, "gpt-4o": {3, 3}}})
	tests := []struct {
		model string
		want  Price
		ok    bool
	}{
		{"gpt-4o-mini-2024-07-18", DefaultPrices["gpt-4o-mini"], true},
		{"gpt-4o-2024-08-06", Price{3, 3}, true},
		{"anthropic.claude-3-haiku-20240307-v1:0", DefaultPrices["claude-3-haiku"], true},
		{"us.anthropic.claude-sonnet-4-20250514-v1:0", DefaultPrices["claude-sonnet-4"], true},
		{"amazon.nova-lite-v1:0", DefaultPrices["nova-lite"], true},
		{"my-model", Price{1, 1}, true},
		{"llama3.1:8b", Price{}, false},
	}
	for _, tt := range tests {
		got, ok := ex.price(tt.model)
		require.Equal(t, tt.ok, ok, tt.model)
		require.Equal(t, tt.want, got, tt.model)
	}
}

// TestBudgetsCheckedBeforeTheCall: a call that could pass a budget fails
// with Budget.Exceeded, naming the budget, and never reaches the provider;
// one that fits is made.
func TestBudgetsCheckedBeforeTheCall(t *testing.T) {
	t.Parallel()
	fakes := map[string]*fakeProvider{}
	for _, p := range []string{ProviderOpenAI, ProviderAnthropic, ProviderBedrock} {
		fakes[p] = newFake(t, p)
	}
	ex := newExecutor(fakes)
	run := func(model string, budgets ...executor.Budget) error {
		cfg := llmConfig(ProviderOpenAI, model, map[string]any{"maxTokens": 1000})
		_, err := ex.Execute(context.Background(), executor.Request{Type: executor.TypeLLM, Config: cfg, Input: json.RawMessage(`{"text":"hi"}`), Budgets: budgets})
		return err
	}
	calls := func() int {
		fakes[ProviderOpenAI].mu.Lock()
		defer fakes[ProviderOpenAI].mu.Unlock()
		return len(fakes[ProviderOpenAI].reqs)
	}
	// "ok" is priced at $1 in and $2 out per million tokens: 1000 output
	// tokens may cost $0.002.
	err := run("ok", executor.Budget{Name: "the run's maxCostUsd", Limit: 0.001})
	var e *turbocat.StepError
	require.ErrorAs(t, err, &e)
	require.Equal(t, executor.ErrBudgetExceeded, e.Name)
	require.Contains(t, e.Cause, "the run's maxCostUsd")
	require.Contains(t, e.Cause, "$0.001000")
	require.Zero(t, calls(), "the model was not called")

	err = run("ok", executor.Budget{Name: "your monthly budget", Limit: 10, Spent: 9.999})
	require.ErrorAs(t, err, &e)
	require.Contains(t, e.Cause, "your monthly budget")
	require.Zero(t, calls())

	err = run("unpriced-model", executor.Budget{Name: "the run's maxTokens", Tokens: true, Limit: 500})
	require.ErrorAs(t, err, &e)
	require.Contains(t, e.Cause, "the run's maxTokens")
	require.Zero(t, calls())

	require.NoError(t, run("ok", executor.Budget{Name: "the run's maxCostUsd", Limit: 0.01}, executor.Budget{Name: "the run's maxTokens", Tokens: true, Limit: 5000}))
	require.NoError(t, run("unpriced-model", executor.Budget{Name: "the run's maxCostUsd", Limit: 0.000001}), "an unpriced model is bounded by token budgets only")
	require.Equal(t, 2, calls())
}
