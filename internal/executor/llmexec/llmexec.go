// Package llmexec is the executor of LLM agents (type "llm"): one model call
// through a provider's official Go SDK — openai (openai-go v3, any
// OpenAI-compatible Chat Completions endpoint by base URL: OpenAI, Azure-style
// gateways, Ollama, vLLM, OpenRouter), anthropic (anthropic-sdk-go v2,
// Messages API) and bedrock (aws-sdk-go-v2 bedrockruntime, Converse API with
// IAM credentials).
//
// The output is {text, json?, model, finishReason, usage: {inputTokens,
// outputTokens}, costUsd?}; Result.Usage carries the same figures for the
// steprunner to record. With responseSchema the reply is parsed as JSON
// (Markdown code fences tolerated) and validated; an invalid reply fails with
// Llm.InvalidOutput. Provider errors map to Llm.RateLimited,
// Llm.ServerError, Llm.Timeout, Llm.InvalidRequest, Llm.ContentFiltered and
// Llm.ConnectionFailed. The SDKs' own retries are off: retrying is the
// workflow's business (ASL Retry on those names).
//
// Calls to the openai and anthropic providers go through the SSRF-safe client
// of httpexec, since an agent may choose its base URL.
package llmexec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/turbocat/turbocat/internal/executor"
	"github.com/turbocat/turbocat/internal/executor/httpexec"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// Defaults of LLM agents.
const (
	DefaultTimeout   = 60 * time.Second
	DefaultMaxTokens = 1024
	MaxOutputBytes   = 4 << 20
)

// Providers.
const (
	ProviderOpenAI    = "openai"
	ProviderAnthropic = "anthropic"
	ProviderBedrock   = "bedrock"
)

// Price is the USD price of a model per million tokens.
type Price struct {
	InputPerMTok  float64 `json:"inputPerMTok"`
	OutputPerMTok float64 `json:"outputPerMTok"`
}

// DefaultPrices are indicative list prices (USD per million tokens) keyed by
// model name prefix; Bedrock model ids are matched after their vendor
// prefix ("anthropic.", "us.anthropic.", "amazon."). Override or extend them
// with Options.Prices; a model with no price gets no costUsd.
var DefaultPrices = map[string]Price{
	"gpt-4o-mini":       {0.15, 0.60},
	"gpt-4o":            {2.50, 10.00},
	"gpt-4.1-nano":      {0.10, 0.40},
	"gpt-4.1-mini":      {0.40, 1.60},
	"gpt-4.1":           {2.00, 8.00},
	"o4-mini":           {1.10, 4.40},
	"claude-3-haiku":    {0.25, 1.25},
	"claude-3-5-haiku":  {0.80, 4.00},
	"claude-haiku-4-5":  {1.00, 5.00},
	"claude-3-5-sonnet": {3.00, 15.00},
	"claude-3-7-sonnet": {3.00, 15.00},
	"claude-sonnet-4":   {3.00, 15.00},
	"claude-opus-4":     {15.00, 75.00},
	"nova-micro":        {0.035, 0.14},
	"nova-lite":         {0.06, 0.24},
	"nova-pro":          {0.80, 3.20},
}

// Options configures the executor. Provider base URLs and keys set here
// are the process defaults; an agent's baseUrl and apiKeySecret override them.
type Options struct {
	// HTTPClient makes the calls to a base URL chosen by an agent's config
	// (an untrusted destination); nil means httpexec.NewClient with no
	// allow-list. Build it with httpexec.AllowCIDRsFromEnv in the
	// composition root.
	HTTPClient *http.Client
	// TrustedHTTPClient makes the calls to the process-configured
	// endpoints below (operator-chosen, e.g. a local Ollama on loopback);
	// nil means a client that ignores proxy variables.
	TrustedHTTPClient *http.Client
	// OpenAIBaseURL, OpenAIAPIKey: defaults for the openai provider.
	OpenAIBaseURL, OpenAIAPIKey string
	// AnthropicBaseURL, AnthropicAPIKey: defaults for the anthropic provider.
	AnthropicBaseURL, AnthropicAPIKey string
	// AWS is the AWS config for bedrock (region, credentials); nil
	// disables the bedrock provider.
	AWS *aws.Config
	// BedrockEndpoint overrides the Bedrock runtime endpoint (tests, VPC endpoints).
	BedrockEndpoint string
	// Prices extends and overrides DefaultPrices.
	Prices map[string]Price
	// DefaultTimeout overrides DefaultTimeout when positive.
	DefaultTimeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Executor runs LLM agents.
type Executor struct {
	opts   Options
	prices map[string]Price
}

// New returns an LLM executor.
func New(opts Options) *Executor {
	if opts.HTTPClient == nil {
		opts.HTTPClient = httpexec.NewClient(httpexec.ClientOptions{})
	}
	if opts.TrustedHTTPClient == nil {
		opts.TrustedHTTPClient = &http.Client{Transport: &http.Transport{Proxy: nil, ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 10}}
	}
	if opts.DefaultTimeout <= 0 {
		opts.DefaultTimeout = DefaultTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	prices := map[string]Price{}
	for k, v := range DefaultPrices {
		prices[k] = v
	}
	for k, v := range opts.Prices {
		prices[k] = v
	}
	return &Executor{opts: opts, prices: prices}
}

var _ executor.Executor = (*Executor)(nil)

// call is a provider-neutral request.
type call struct {
	model    string
	baseURL  string
	apiKey   string
	region   string
	system   string
	messages []message
	// tools are offered to the model with choice (turn 0; later turns
	// are auto so a forced tool call cannot repeat until maxTurns).
	tools       []executor.Tool
	choice      executor.ToolChoice
	temperature *float64
	maxTokens   int64
	schema      json.RawMessage
	httpClient  *http.Client // nil: the SDK default (bedrock only)
	// idempotencyKey is sent as the Idempotency-Key header: the providers'
	// own APIs ignore it, gateways in front of them (and OpenAI-compatible
	// servers that support it) de-duplicate on it.
	idempotencyKey string
	// turn is the loop's current model turn (0 first); live, when the run
	// is watched, receives the text the model generates in it (streamed
	// from openai and anthropic; bedrock answers whole).
	turn int
	live func(text string)
}

// reply is a provider-neutral answer.
type reply struct {
	text         string
	model        string
	finishReason string // stop, length, content_filter, tool_calls, or the provider's own
	inputTokens  int64
	outputTokens int64
	calls        []toolCall
}

// message is one provider-neutral conversation message: a user's text or
// tool results, or the assistant's text and tool calls.
type message struct {
	Role    string       `json:"role"`
	Content string       `json:"content,omitempty"`
	Calls   []toolCall   `json:"toolCalls,omitempty"`
	Results []toolResult `json:"toolResults,omitempty"`
}

// toolCall is a tool call the model asked for. Arguments is the text the
// model sent (possibly not JSON).
type toolCall struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// toolResult is what a tool call gave back to the model.
type toolResult struct {
	CallID  string `json:"toolCallId"`
	Name    string `json:"name"`
	Content string `json:"content"`
	IsError bool   `json:"isError,omitempty"`
}

// Output is the output of an LLM agent.
type Output struct {
	Text         string          `json:"text"`
	JSON         json.RawMessage `json:"json,omitempty"`
	Model        string          `json:"model"`
	FinishReason string          `json:"finishReason"`
	Usage        OutputUsage     `json:"usage"`
	CostUSD      *float64        `json:"costUsd,omitempty"`
	// Turns and ToolCalls count the model calls and tool calls of a tool
	// loop (absent without tools).
	Turns     int `json:"turns,omitempty"`
	ToolCalls int `json:"toolCalls,omitempty"`
}

// OutputUsage is the token usage in the output.
type OutputUsage struct {
	InputTokens  int64 `json:"inputTokens"`
	OutputTokens int64 `json:"outputTokens"`
}

// Execute implements executor.Executor: one model call, or with tools a
// loop of model turns and tool calls (see loop).
func (e *Executor) Execute(ctx context.Context, req executor.Request) (executor.Result, error) {
	run := executor.Begin(req, executor.RunOptions{Now: e.opts.Now, MaxOutputBytes: MaxOutputBytes, TimeoutName: executor.ErrLLMTimeout})
	if err := executor.ValidateConfig(executor.TypeLLM, req.Config); err != nil {
		return run.Finish(ctx, nil, err)
	}
	var cfg executor.LLMConfig
	if err := json.Unmarshal(req.Config, &cfg); err != nil {
		return run.Finish(ctx, nil, executor.Errorf(executor.ErrInvalidConfig, false, "config: %v", err))
	}
	ctx, cancel := context.WithTimeout(ctx, executor.Timeout(req.Timeout, cfg.TimeoutSeconds, e.opts.DefaultTimeout))
	defer cancel()
	c, err := e.prepare(ctx, run, &cfg)
	if err != nil {
		return run.Finish(ctx, nil, err)
	}
	if len(cfg.Tools) > 0 || req.Turns != nil {
		return e.loop(ctx, run, &cfg, c)
	}
	if err := e.checkBudgets(c, req.Budgets, spent{}); err != nil {
		run.Logf(executor.LevelError, "%s %s not called: %s", cfg.Provider, c.model, err.Cause)
		return run.Finish(ctx, nil, err)
	}
	rep, err := e.send(ctx, cfg.Provider, c)
	if err != nil {
		run.Logf(executor.LevelError, "%s %s failed", cfg.Provider, c.model)
		return run.Finish(ctx, nil, err)
	}
	out, usage, err := e.output(c, rep, nil)
	if usage != nil {
		run.Logf(executor.LevelInfo, "%s %s: %d input, %d output tokens, finish %s", cfg.Provider, rep.model, rep.inputTokens, rep.outputTokens, rep.finishReason)
	}
	res, ferr := run.Finish(ctx, out, err)
	res.Usage = usage
	return res, ferr
}

// send makes one model call through the provider's API.
func (e *Executor) send(ctx context.Context, provider string, c *call) (*reply, error) {
	var rep *reply
	var err error
	switch provider {
	case ProviderOpenAI:
		rep, err = e.openai(ctx, c)
	case ProviderAnthropic:
		rep, err = e.anthropic(ctx, c)
	case ProviderBedrock:
		rep, err = e.bedrock(ctx, c)
	default:
		err = executor.Errorf(executor.ErrInvalidConfig, false, "unknown provider %q", provider)
	}
	if err != nil {
		return nil, classify(ctx, provider, err)
	}
	return rep, nil
}

func (e *Executor) prepare(ctx context.Context, run *executor.Run, cfg *executor.LLMConfig) (*call, error) {
	c := &call{model: cfg.Model, region: cfg.Region, temperature: cfg.Temperature, maxTokens: cfg.MaxTokens, schema: cfg.ResponseSchema,
		idempotencyKey: run.IdempotencyKey()}
	if run.Streaming() {
		c.live = func(text string) { run.Text(c.turn, text) }
	}
	if c.maxTokens <= 0 {
		c.maxTokens = DefaultMaxTokens
	}
	var err error
	if c.system, err = run.RenderString(ctx, cfg.System); err != nil {
		return nil, err
	}
	if cfg.Prompt != "" {
		p, err := run.RenderString(ctx, cfg.Prompt)
		if err != nil {
			return nil, err
		}
		c.messages = []message{{Role: "user", Content: p}}
	}
	for _, m := range cfg.Messages {
		content, err := run.RenderString(ctx, m.Content)
		if err != nil {
			return nil, err
		}
		c.messages = append(c.messages, message{Role: m.Role, Content: content})
	}
	if cfg.BaseURL != "" {
		// An agent-chosen destination: SSRF-checked, and never sent the
		// process's own API key.
		if c.baseURL, err = run.RenderString(ctx, cfg.BaseURL); err != nil {
			return nil, err
		}
		c.httpClient = e.opts.HTTPClient
	} else {
		switch cfg.Provider {
		case ProviderOpenAI:
			c.apiKey, c.baseURL = e.opts.OpenAIAPIKey, e.opts.OpenAIBaseURL
		case ProviderAnthropic:
			c.apiKey, c.baseURL = e.opts.AnthropicAPIKey, e.opts.AnthropicBaseURL
		case ProviderBedrock:
			c.baseURL = e.opts.BedrockEndpoint
		}
		if cfg.Provider != ProviderBedrock {
			c.httpClient = e.opts.TrustedHTTPClient
		}
	}
	if cfg.APIKeySecret != "" {
		if c.apiKey, err = run.Secret(ctx, cfg.APIKeySecret); err != nil {
			return nil, err
		}
	}
	if c.apiKey != "" {
		run.Scrubber().Add(c.apiKey)
	}
	return c, nil
}

// output builds the agent output, validating structured replies. total,
// when set, is the usage of a whole tool loop (rep is its final turn).
func (e *Executor) output(c *call, rep *reply, total *loopTotal) (json.RawMessage, *executor.Usage, error) {
	usage := &executor.Usage{InputTokens: rep.inputTokens, OutputTokens: rep.outputTokens, Model: rep.model}
	out := Output{Text: rep.text, Model: rep.model, FinishReason: rep.finishReason, Usage: OutputUsage{rep.inputTokens, rep.outputTokens}}
	if p, ok := e.price(rep.model); ok {
		cost := (float64(rep.inputTokens)*p.InputPerMTok + float64(rep.outputTokens)*p.OutputPerMTok) / 1e6
		usage.CostUSD = cost
		out.CostUSD = &cost
	}
	if total != nil {
		usage.InputTokens, usage.OutputTokens, usage.CostUSD = total.inputTokens, total.outputTokens, total.costUSD
		out.Usage = OutputUsage{total.inputTokens, total.outputTokens}
		if len(c.tools) > 0 {
			out.Turns, out.ToolCalls = total.turns, total.toolCalls
		}
		if total.priced {
			cost := total.costUSD
			out.CostUSD = &cost
		}
	}
	if rep.finishReason == "content_filter" {
		return nil, usage, executor.Errorf(executor.ErrLLMContentFiltered, false, "the provider filtered or refused the content (model %s)", rep.model)
	}
	if len(c.schema) > 0 {
		js, err := parseStructured(rep.text, c.schema)
		if err != nil {
			if rep.finishReason == "length" {
				err = fmt.Errorf("%w (the reply was cut at maxTokens)", err)
			}
			return nil, usage, &turbocat.StepError{Name: executor.ErrLLMInvalidOutput, Cause: err.Error(), Retryable: true}
		}
		out.JSON = js
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, usage, fmt.Errorf("encode output: %w", err)
	}
	return b, usage, nil
}

// price finds the price of a model: exact name, else the longest key that
// prefixes the model (after a Bedrock vendor prefix).
func (e *Executor) price(model string) (Price, bool) {
	if p, ok := e.prices[model]; ok {
		return p, true
	}
	name := model
	for _, pre := range []string{"us.", "eu.", "apac.", "global."} {
		name = strings.TrimPrefix(name, pre)
	}
	for _, vendor := range []string{"anthropic.", "amazon.", "meta.", "mistral.", "openai/", "anthropic/"} {
		name = strings.TrimPrefix(name, vendor)
	}
	keys := make([]string, 0, len(e.prices))
	for k := range e.prices {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	for _, k := range keys {
		if strings.HasPrefix(name, k) {
			return e.prices[k], true
		}
	}
	return Price{}, false
}

// parseStructured parses a reply as JSON (inside a Markdown code fence or
// not) and validates it against schema.
func parseStructured(text string, schema json.RawMessage) (json.RawMessage, error) {
	s := strings.TrimSpace(text)
	if strings.HasPrefix(s, "```") {
		s = strings.TrimPrefix(s, "```json")
		s = strings.TrimPrefix(s, "```")
		s = strings.TrimSuffix(strings.TrimSpace(s), "```")
		s = strings.TrimSpace(s)
	}
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, fmt.Errorf("the reply is not valid JSON: %v", err)
	}
	sch, err := executor.CompileSchema(schema)
	if err != nil {
		return nil, fmt.Errorf("responseSchema: %w", err)
	}
	if err := sch.Validate(v); err != nil {
		return nil, fmt.Errorf("the reply does not match responseSchema: %v", err)
	}
	return json.RawMessage(s), nil
}

// schemaInstruction is appended to the system prompt of providers without
// native structured output.
func schemaInstruction(schema json.RawMessage) string {
	return "Reply with a single JSON value, and nothing else, that validates against this JSON Schema:\n" + string(schema)
}

// classify maps an SDK error to a step error.
func classify(ctx context.Context, provider string, err error) error {
	var ee *turbocat.StepError
	if errors.As(err, &ee) {
		return ee
	}
	if pe := classifyProvider(provider, err); pe != nil {
		return pe
	}
	var be *httpexec.BlockedError
	if errors.As(err, &be) {
		return executor.Errorf(executor.ErrInvalidConfig, false, "%s base URL refused: %v", provider, be)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &turbocat.StepError{Name: executor.ErrLLMTimeout, Cause: fmt.Sprintf("%s call timed out", provider), Retryable: true}
	}
	if errors.Is(err, context.Canceled) {
		return &turbocat.StepError{Name: executor.ErrCanceled, Cause: err.Error()}
	}
	var se *json.SyntaxError
	var ue *json.UnmarshalTypeError
	if errors.As(err, &se) || errors.As(err, &ue) || strings.Contains(err.Error(), "invalid character") || strings.Contains(err.Error(), "unexpected end of JSON") || strings.Contains(err.Error(), "parsing response json") {
		return &turbocat.StepError{Name: executor.ErrLLMInvalidOutput, Cause: fmt.Sprintf("%s returned a malformed response: %v", provider, err), Retryable: true}
	}
	return &turbocat.StepError{Name: executor.ErrLLMConnection, Cause: fmt.Sprintf("%s call failed: %v", provider, err), Retryable: true}
}

// statusError maps an HTTP status of a provider error.
func statusError(provider string, status int, retryAfter, msg string) *turbocat.StepError {
	if msg == "" {
		msg = http.StatusText(status)
	}
	lower := strings.ToLower(msg)
	switch {
	case status == http.StatusTooManyRequests:
		cause := fmt.Sprintf("%s rate limit (HTTP 429): %s", provider, msg)
		if retryAfter != "" {
			cause = fmt.Sprintf("%s rate limit (HTTP 429, retry after %ss): %s", provider, retryAfter, msg)
		}
		return &turbocat.StepError{Name: executor.ErrLLMRateLimited, Cause: cause, Retryable: true}
	case status == http.StatusRequestTimeout || status == http.StatusGatewayTimeout:
		return &turbocat.StepError{Name: executor.ErrLLMTimeout, Cause: fmt.Sprintf("%s timed out (HTTP %d): %s", provider, status, msg), Retryable: true}
	case status >= 500:
		return &turbocat.StepError{Name: executor.ErrLLMServerError, Cause: fmt.Sprintf("%s server error (HTTP %d): %s", provider, status, msg), Retryable: true}
	case strings.Contains(lower, "content_filter") || strings.Contains(lower, "content management policy") || strings.Contains(lower, "content filter"):
		return &turbocat.StepError{Name: executor.ErrLLMContentFiltered, Cause: fmt.Sprintf("%s filtered the request (HTTP %d): %s", provider, status, msg)}
	default:
		return &turbocat.StepError{Name: executor.ErrLLMInvalidRequest, Cause: fmt.Sprintf("%s rejected the request (HTTP %d): %s", provider, status, msg)}
	}
}

// estimate returns what a call may cost at most: its prompt's tokens
// (about four characters a token, rounded up) plus every output token it
// may produce, and their price when the model has one.
func (e *Executor) estimate(c *call) (tokens int64, costUSD float64, priced bool) {
	chars := len(c.system)
	for _, m := range c.messages {
		chars += len(m.Content) + 4
		for _, tc := range m.Calls {
			chars += len(tc.Name) + len(tc.Arguments) + 8
		}
		for _, r := range m.Results {
			chars += len(r.Content) + 8
		}
	}
	for _, t := range c.tools {
		chars += len(t.Name) + len(t.Description) + len(t.Parameters)
	}
	in := int64(chars+3)/4 + 8
	tokens = in + c.maxTokens
	if p, ok := e.price(c.model); ok {
		return tokens, (float64(in)*p.InputPerMTok + float64(c.maxTokens)*p.OutputPerMTok) / 1e6, true
	}
	return tokens, 0, false
}

// checkBudgets refuses a call that could pass a budget, before it is made:
// Budget.Exceeded names the budget, what was spent and the limit. A model
// with no known price is checked against token budgets only.
//
// already is what earlier turns of the same tool loop spent (not yet in
// the budgets' Spent, which the step's result updates).
func (e *Executor) checkBudgets(c *call, budgets []executor.Budget, already spent) *turbocat.StepError {
	if len(budgets) == 0 {
		return nil
	}
	tokens, cost, priced := e.estimate(c)
	for _, b := range budgets {
		if b.Tokens {
			b.Spent += float64(already.tokens)
		} else {
			b.Spent += already.costUSD
		}
		if b.Tokens {
			if b.Spent+float64(tokens) > b.Limit {
				return executor.Errorf(executor.ErrBudgetExceeded, false,
					"%s would be exceeded: %.0f of %.0f tokens spent, and this call may use up to %d (its prompt and maxTokens %d); raise the budget or lower maxTokens",
					b.Name, b.Spent, b.Limit, tokens, c.maxTokens)
			}
			continue
		}
		if priced && b.Spent+cost > b.Limit {
			return executor.Errorf(executor.ErrBudgetExceeded, false,
				"%s would be exceeded: $%.6f of $%.6f spent, and this call to %s may cost up to $%.6f; raise the budget or lower maxTokens",
				b.Name, b.Spent, b.Limit, c.model, cost)
		}
	}
	return nil
}
