// Package executor defines how Turbocat runs one agent: the [Executor]
// interface that the steprunner (and the agents "test run" endpoint) call, its
// [Request] and [Result], the step error names a workflow's Retry and Catch
// settings can target ([turbocat.StepError]), the per-type agent configs with their JSON
// Schemas ([Schema]), and a [Registry] dispatching on the agent type.
//
// The three agent types live in subpackages: code (sandboxed JavaScript in a
// worker process), http (SSRF-safe API calls) and llm (OpenAI-compatible,
// Anthropic and Bedrock). Each builds on [Begin], which gives an executor
// template rendering with the run's input and secrets, bounded log capture
// and, in [Run.Finish], scrubbing of every resolved secret value from the
// output, the logs and the error cause.
package executor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/turbocat/turbocat/internal/secrets"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// Agent types.
const (
	TypeCode = "code"
	TypeAPI  = "api"
	TypeLLM  = "llm"
)

// Executor runs one agent once.
type Executor interface {
	// Execute runs the agent described by req. A failed run returns a
	// *turbocat.StepError whose Name is one of the names documented in this package
	// (Code.*, Api.*, Llm.*, Executor.*); the returned Result still carries
	// the logs and duration of the failed run.
	Execute(ctx context.Context, req Request) (Result, error)
}

// SecretResolver looks up the plaintext value of a secret of the agent's
// owner at the moment of use. It returns an error for an unknown name.
type SecretResolver interface {
	ResolveSecret(ctx context.Context, name string) (string, error)
}

// SecretResolverFunc adapts a function to SecretResolver.
type SecretResolverFunc func(ctx context.Context, name string) (string, error)

// ResolveSecret implements SecretResolver.
func (f SecretResolverFunc) ResolveSecret(ctx context.Context, name string) (string, error) {
	return f(ctx, name)
}

// StaticSecrets is a SecretResolver over a fixed map (tests, local tools).
type StaticSecrets map[string]string

// ResolveSecret implements SecretResolver.
func (m StaticSecrets) ResolveSecret(_ context.Context, name string) (string, error) {
	v, ok := m[name]
	if !ok {
		return "", fmt.Errorf("secret %q is not defined", name)
	}
	return v, nil
}

// Request is one run of one agent.
type Request struct {
	// AgentID identifies the agent (for logs and the code sandbox's ctx).
	AgentID string
	// UserID is the agent's owner: shared resources (the code workers)
	// are shared fairly between users.
	UserID string
	// Type is the agent type: "code", "api" or "llm".
	Type string
	// Config is the agent's config with templates unresolved; inside it
	// {{input.x}} names the step input and {{secrets.NAME}} a secret.
	Config json.RawMessage
	// Input is the step's resolved input (any JSON value; empty means null).
	Input json.RawMessage
	// Secrets resolves {{secrets.NAME}}; nil means the agent has no secrets.
	Secrets SecretResolver
	// Timeout bounds the run (the step's timeout). The agent's own
	// timeoutSeconds can only shorten it. Zero means the type's default.
	Timeout time.Duration
	// Logger receives operational logs of the executor (never the secret
	// values). Nil discards them.
	Logger *slog.Logger
	// Scrubber, if set, collects the secret values resolved during the run
	// so the caller can scrub what it stores; nil makes a fresh one.
	Scrubber *secrets.Scrubber
	// IdempotencyKey identifies the step attempt's effect: the same on every
	// retry and after every crash ("<executionId>:<stepKey>"). API agents
	// send it as the Idempotency-Key header, code agents see it as
	// ctx.idempotencyKey, LLM calls send it as a header gateways honour.
	// Empty for agent test runs.
	IdempotencyKey string
	// Budgets bound what the run may still spend on model calls; an LLM
	// agent checks each before every call and fails with
	// Budget.Exceeded, without calling, when the call could pass one.
	Budgets []Budget
	// Tools are the resolved tools of an LLM agent with tools (the caller
	// looks the tool agents up, scoped to the owner); nil for none.
	Tools []Tool
	// Turns, if set, records every model turn and tool call of an LLM
	// agent's tool loop as it happens, and returns what an earlier
	// invocation of the same step recorded: the loop resumes at the first
	// unrecorded turn and never makes a recorded call again.
	Turns TurnJournal
	// Live, if set, receives the run's output while it runs: each log
	// line as it is written and an LLM agent's text as the model
	// generates it. Nil for runs nobody watches (agent test runs).
	Live Live
	// Slice, if set, runs one slice of an LLM agent's tool loop instead
	// of the whole loop (it needs Turns): the loop compiled into the
	// state machine makes each model turn and each tool call its own
	// invocation. Nil runs the whole loop in this call.
	Slice *LoopSlice
}

// LoopSlice is one slice of a tool loop: the next model turn, or one
// tool call of a recorded turn.
type LoopSlice struct {
	// Tool selects the tool call Index (0-based) of model turn Turn;
	// false selects the next model turn.
	Tool  bool
	Turn  int
	Index int
}

// ToolsWanted is what a slice that ran a model turn answers when the
// model asked for tools: the step is not done until those calls have
// run (each its own slice) and the model has answered.
type ToolsWanted struct {
	// Turn is the model turn that asked.
	Turn int
	// Calls are the indexes of its calls not recorded yet.
	Calls []int
}

// Live receives a run's output while the run goes on. Its methods are
// called in the order things happen and must not block.
type Live interface {
	// Log receives each log line when it is written, unscrubbed: the
	// lines Log receives, in order, are the first lines of the run's
	// Result.Logs (Result.Logs may end with a summary of dropped lines
	// that Log never saw).
	Log(LogLine)
	// Text receives a piece of the text the model is generating in the
	// given turn of an LLM agent's loop (numbered as in the step's turn
	// records: 0 is the first call), unscrubbed. The turn's whole answer is in the result or the turn's
	// record; the pieces are only a preview.
	Text(turn int, text string)
}

// Tool is one tool an LLM agent's model may call.
type Tool struct {
	// Name is the name the model sees (letters, digits, _ and -).
	Name string
	// Agent is the tool agent's own name.
	Agent       string
	Description string
	// Parameters is the JSON Schema of the tool's arguments (an object).
	Parameters json.RawMessage
	// Run runs the tool on its arguments; key is a stable idempotency key
	// of the call. A *turbocat.StepError is the tool's failure and goes
	// back to the model; the run itself goes on.
	Run func(ctx context.Context, args json.RawMessage, key string) (Result, error)
}

// TurnJournal is the durable record of an LLM tool loop of one step.
type TurnJournal interface {
	// LoadTurns returns what earlier invocations of the step recorded (for
	// each turn and seq, the latest attempt's record), ordered by turn and seq.
	LoadTurns(ctx context.Context) ([]Turn, error)
	// RecordTurn records one model turn or tool call.
	RecordTurn(ctx context.Context, t Turn) error
}

// Turn kinds.
const (
	TurnModel = "model"
	TurnTool  = "tool"
)

// Turn is one model call (Seq 0) or one tool call (Seq i+1 for the i-th
// tool call the model asked for in that turn) of a tool loop.
type Turn struct {
	Turn       int             `json:"turn"`
	Seq        int             `json:"seq"`
	Attempt    int             `json:"attempt"`
	Kind       string          `json:"kind"`
	ToolCallID string          `json:"toolCallId,omitempty"`
	ToolName   string          `json:"toolName,omitempty"`
	Input      json.RawMessage `json:"input,omitempty"`
	Output     json.RawMessage `json:"output,omitempty"`
	Error      json.RawMessage `json:"error,omitempty"`
	Model      string          `json:"model,omitempty"`
	// InputTokens, OutputTokens and CostUSD are the model turn's usage.
	InputTokens  int64     `json:"inputTokens"`
	OutputTokens int64     `json:"outputTokens"`
	CostUSD      float64   `json:"costUsd"`
	DurationMs   int64     `json:"durationMs"`
	CreatedAt    time.Time `json:"createdAt"`
}

// Budget is one bound on model spend: money (USD) or tokens.
type Budget struct {
	// Name says which budget it is, for the error ("the run's maxCostUsd").
	Name string
	// Tokens is true for a token budget, false for a USD one.
	Tokens bool
	Limit  float64
	Spent  float64
}

// IdempotencyHeader is the header API agents send the step's idempotency
// key in, unless their config names another (idempotencyKeyHeader).
const IdempotencyHeader = "Idempotency-Key"

// Result is what a run produced.
type Result struct {
	// Output is the agent's output JSON (nil on failure).
	Output json.RawMessage `json:"output"`
	// Logs are the run's log lines in order, bounded in count and size.
	Logs []LogLine `json:"logs"`
	// Usage is set by LLM agents.
	Usage *Usage `json:"usage,omitempty"`
	// DurationMs is the wall time of the run.
	DurationMs int64 `json:"durationMs"`
	// Wanted is set by a slice of a tool loop (Request.Slice) whose model
	// turn asked for tools: there is no output yet.
	Wanted *ToolsWanted `json:"wanted,omitempty"`
}

// LogLine is one execution log line.
type LogLine struct {
	Time    time.Time       `json:"time"`
	Level   string          `json:"level"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// Log levels used in LogLine.Level.
const (
	LevelDebug = "debug"
	LevelInfo  = "info"
	LevelWarn  = "warn"
	LevelError = "error"
)

// Usage is the token usage and cost of an LLM run.
type Usage struct {
	InputTokens  int64   `json:"inputTokens"`
	OutputTokens int64   `json:"outputTokens"`
	CostUSD      float64 `json:"costUsd"`
	Model        string  `json:"model"`
}

// Errorf returns a *turbocat.StepError with a formatted cause.
func Errorf(name string, retryable bool, format string, args ...any) *turbocat.StepError {
	return turbocat.StepErrorf(name, retryable, format, args...)
}

// AsError returns err as a *turbocat.StepError: itself if it is one (or
// wraps one), a timeout or cancellation error of the context, or
// Executor.Internal.
func AsError(err error, timeoutName string) *turbocat.StepError {
	if err == nil {
		return nil
	}
	var e *turbocat.StepError
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, context.DeadlineExceeded) && timeoutName != "" {
		return &turbocat.StepError{Name: timeoutName, Cause: err.Error(), Retryable: true}
	}
	if errors.Is(err, context.Canceled) {
		return &turbocat.StepError{Name: ErrCanceled, Cause: err.Error()}
	}
	return &turbocat.StepError{Name: ErrInternal, Cause: err.Error()}
}

// Step error names. A workflow's Retry/Catch ErrorEquals can name any of
// them, or "States.ALL".
const (
	// ErrInvalidConfig: the agent config does not satisfy its schema, or a
	// template in it does not resolve (unknown input field, unknown secret).
	ErrInvalidConfig = "Executor.InvalidConfig"
	// ErrUnknownType: no executor registered for the agent type.
	ErrUnknownType = "Executor.UnknownType"
	// ErrOutputTooLarge: the output exceeds the type's size limit.
	ErrOutputTooLarge = "Executor.OutputTooLarge"
	// ErrCanceled: the run's context was cancelled (execution aborted).
	ErrCanceled = "Executor.Canceled"
	// ErrInternal: a fault of the platform, not the agent. Retryable.
	ErrInternal = "Executor.Internal"

	// ErrCodeTimeout: the script exceeded its wall time.
	ErrCodeTimeout = "Code.Timeout"
	// ErrCodeMemoryLimit: the script exceeded its memory budget.
	ErrCodeMemoryLimit = "Code.MemoryLimit"
	// ErrBudgetExceeded: a model call could pass a budget (the run's
	// maxCostUsd or maxTokens, or the user's monthly budget); it was not
	// made.
	ErrBudgetExceeded = "Budget.Exceeded"
	// ErrCodeStackOverflow: the script exceeded the call-stack depth.
	ErrCodeStackOverflow = "Code.StackOverflow"
	// ErrCodeError: the script threw, failed to compile, has no main, or
	// returned a value that is not JSON-serialisable.
	ErrCodeError = "Code.Error"

	// ErrAPIHTTP4xx: the API answered 4xx (other than 429).
	ErrAPIHTTP4xx = "Api.Http4xx"
	// ErrAPIHTTP3xx: the API answered a 1xx/3xx status that is not a
	// followed redirect (e.g. 304, 300).
	ErrAPIHTTP3xx = "Api.Http3xx"
	// ErrAPIHTTP5xx: the API answered 5xx. Retryable.
	ErrAPIHTTP5xx = "Api.Http5xx"
	// ErrAPIRateLimited: the API answered 429 after the agent's own retries. Retryable.
	ErrAPIRateLimited = "Api.RateLimited"
	// ErrAPITimeout: the call exceeded its timeout. Retryable.
	ErrAPITimeout = "Api.Timeout"
	// ErrAPIBlocked: the destination is forbidden (SSRF protection, scheme,
	// too many redirects).
	ErrAPIBlocked = "Api.Blocked"
	// ErrAPIConnection: DNS, connect or TLS failure. Retryable.
	ErrAPIConnection = "Api.ConnectionFailed"
	// ErrAPIResponseTooLarge: the response body exceeds maxResponseBytes.
	ErrAPIResponseTooLarge = "Api.ResponseTooLarge"

	// ErrLLMRateLimited: the provider answered 429/throttling. Retryable.
	ErrLLMRateLimited = "Llm.RateLimited"
	// ErrLLMServerError: the provider failed (5xx, overloaded). Retryable.
	ErrLLMServerError = "Llm.ServerError"
	// ErrLLMTimeout: the call exceeded its timeout. Retryable.
	ErrLLMTimeout = "Llm.Timeout"
	// ErrLLMInvalidRequest: the provider rejected the request (4xx:
	// bad model, bad parameters, authentication).
	ErrLLMInvalidRequest = "Llm.InvalidRequest"
	// ErrLLMContentFiltered: the provider refused or filtered the content.
	ErrLLMContentFiltered = "Llm.ContentFiltered"
	// ErrLLMInvalidOutput: the reply is not valid JSON or does not match
	// responseSchema, or the provider's answer cannot be parsed.
	ErrLLMInvalidOutput = "Llm.InvalidOutput"
	// ErrLLMConnection: the provider cannot be reached. Retryable.
	ErrLLMConnection = "Llm.ConnectionFailed"
	// ErrLLMMaxTurns: the model still asked for tools after maxTurns
	// model calls.
	ErrLLMMaxTurns = "Llm.MaxTurns"
)

// RetryableErrorNames lists the step errors reported with retryable: true
// (agent test runs show it): the ones a step's retry policy without
// errors retries.
func RetryableErrorNames() []string {
	return []string{
		ErrInternal, ErrCodeTimeout,
		ErrAPIHTTP5xx, ErrAPIRateLimited, ErrAPITimeout, ErrAPIConnection,
		ErrLLMRateLimited, ErrLLMServerError, ErrLLMTimeout, ErrLLMConnection, ErrLLMInvalidOutput,
	}
}

// ErrorNames lists every step error name defined here, for documentation
// and validation of workflow Retry/Catch settings.
func ErrorNames() []string {
	return []string{
		ErrInvalidConfig, ErrUnknownType, ErrOutputTooLarge, ErrCanceled, ErrInternal,
		ErrCodeTimeout, ErrCodeMemoryLimit, ErrCodeStackOverflow, ErrCodeError,
		ErrAPIHTTP3xx, ErrAPIHTTP4xx, ErrAPIHTTP5xx, ErrAPIRateLimited, ErrAPITimeout, ErrAPIBlocked, ErrAPIConnection, ErrAPIResponseTooLarge,
		ErrLLMRateLimited, ErrLLMServerError, ErrLLMTimeout, ErrLLMInvalidRequest, ErrLLMContentFiltered, ErrLLMInvalidOutput, ErrLLMConnection, ErrLLMMaxTurns,
		ErrBudgetExceeded,
	}
}
