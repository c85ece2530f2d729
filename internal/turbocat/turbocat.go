package turbocat

import (
	"context"
	"encoding/json"
	"time"
)

// Roles.
const (
	RoleUser  = "user"
	RoleAdmin = "admin"
)

// Agent types.
const (
	AgentCode = "code"
	AgentAPI  = "api"
	AgentLLM  = "llm"
)

// Agent statuses.
const (
	AgentActive   = "active"
	AgentDisabled = "disabled"
)

// Execution statuses, in the seed's words.
const (
	// ExecutionQueued: waiting for one of its workflow's
	// maxConcurrentRuns slots.
	ExecutionQueued  = "queued"
	ExecutionPending = "pending"
	ExecutionRunning = "running"
	// ExecutionWaiting: at least one step waits for a time (a wait step)
	// or a person (an approval); the run goes on when it is over.
	ExecutionWaiting   = "waiting"
	ExecutionCompleted = "completed"
	ExecutionFailed    = "failed"
	ExecutionCancelled = "cancelled"
	ExecutionTimedOut  = "timed_out"
)

// Execution step statuses.
const (
	StepPending   = "pending"
	StepRunning   = "running"
	StepCompleted = "completed"
	StepFailed    = "failed"
	// StepSkipped: its when condition was false, every step it depends
	// on was skipped, or the run ended before it started.
	StepSkipped = "skipped"
	// StepWaiting: a wait step before its wake-up time, or an approval
	// step before a decision.
	StepWaiting = "waiting"
	// StepCancelled: the run ended (failed elsewhere, cancelled, timed
	// out) while the step ran.
	StepCancelled = "cancelled"
)

// Deployment statuses.
const (
	DeploymentPending  = "pending"
	DeploymentActive   = "active"
	DeploymentFailed   = "failed"
	DeploymentInactive = "inactive"
)

// User is a person with an account.
type User struct {
	ID           string `json:"id"`
	Email        string `json:"email"`
	FullName     string `json:"fullName"`
	Role         string `json:"role"`
	PasswordHash string `json:"-"`
	// TokenVersion is carried by access tokens: raising it ends them.
	TokenVersion int `json:"-"`
	// MonthlyBudgetUSD bounds the user's model spend per calendar month
	// (UTC); nil: none.
	MonthlyBudgetUSD *float64  `json:"monthlyBudgetUsd"`
	CreatedAt        time.Time `json:"createdAt"`
	UpdatedAt        time.Time `json:"updatedAt"`
}

// APIKey is a long-lived credential with scopes. The secret itself is shown
// once at creation (Key) and only its hash is stored.
type APIKey struct {
	ID         string     `json:"id"`
	UserID     string     `json:"-"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Scopes     []string   `json:"scopes"`
	LastUsedAt *time.Time `json:"lastUsedAt"`
	ExpiresAt  *time.Time `json:"expiresAt"`
	RevokedAt  *time.Time `json:"revokedAt,omitempty"`
	CreatedAt  time.Time  `json:"createdAt"`
	KeyHash    []byte     `json:"-"`
}

// Template is a reusable agent or workflow definition. Built-in templates have
// no owner.
type Template struct {
	ID          string          `json:"id"`
	UserID      *string         `json:"-"`
	BuiltIn     bool            `json:"builtIn"`
	Kind        string          `json:"kind"` // "agent" or "workflow"
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Category    string          `json:"category"`
	AgentType   string          `json:"agentType,omitempty"`
	Definition  json.RawMessage `json:"definition"`
	CreatedAt   time.Time       `json:"createdAt"`
	UpdatedAt   time.Time       `json:"updatedAt"`
}

// Template kinds.
const (
	TemplateAgent    = "agent"
	TemplateWorkflow = "workflow"
)

// Agent is something a workflow step runs: sandboxed code, an HTTP call or a
// model call, configured by Config (validated per type).
type Agent struct {
	ID          string          `json:"id"`
	UserID      string          `json:"-"`
	TemplateID  *string         `json:"templateId"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Type        string          `json:"type"`
	Config      json.RawMessage `json:"config"`
	// InputSchema, if set, is the JSON Schema of the agent's input: the
	// parameters of the tool when an LLM agent uses it as one.
	InputSchema json.RawMessage `json:"inputSchema,omitempty"`
	Status      string          `json:"status"`
	CreatedAt   time.Time       `json:"createdAt"`
	UpdatedAt   time.Time       `json:"updatedAt"`
}

// RetryPolicy is a step's retry settings, compiled into ASL Retry.
type RetryPolicy struct {
	MaxAttempts     int      `json:"maxAttempts"`
	IntervalSeconds int      `json:"intervalSeconds"`
	BackoffRate     float64  `json:"backoffRate"`
	MaxDelaySeconds int      `json:"maxDelaySeconds,omitempty"`
	Errors          []string `json:"errors,omitempty"`
}

// Step types.
const (
	StepTypeAgent    = "agent"
	StepTypeWait     = "wait"
	StepTypeApproval = "approval"
	StepTypeWorkflow = "workflow"
)

// What a step's failure does (WorkflowStep.OnError).
const (
	OnErrorFail     = "fail"
	OnErrorContinue = "continue"
)

// WorkflowStep is one node of a workflow's DAG.
type WorkflowStep struct {
	Key string `json:"key"`
	// Type is agent (the default when empty), wait, approval or workflow.
	Type string `json:"type,omitempty"`
	// AgentID is the agent an agent step runs (agent steps only).
	AgentID        string          `json:"agentId,omitempty"`
	DependsOn      []string        `json:"dependsOn"`
	Inputs         json.RawMessage `json:"inputs"`
	Retry          *RetryPolicy    `json:"retry,omitempty"`
	TimeoutSeconds int             `json:"timeoutSeconds,omitempty"`
	// When is a CEL condition over inputs, steps and execution: false
	// records the step skipped without running it.
	When string `json:"when,omitempty"`
	// ForEach is a template yielding a list: the step runs once per item,
	// at most MaxConcurrency at a time (default 10).
	ForEach        string `json:"forEach,omitempty"`
	MaxConcurrency int    `json:"maxConcurrency,omitempty"`
	// Seconds or Until (a template giving an RFC 3339 time): how long a
	// wait step waits.
	Seconds int    `json:"seconds,omitempty"`
	Until   string `json:"until,omitempty"`
	// Workflow is the workflow (name or id, same owner) a workflow step
	// runs as a child execution, with Inputs as its input.
	Workflow string `json:"workflow,omitempty"`
	// OnError is fail (the default) or continue: the step is recorded
	// failed and the run goes on.
	OnError string `json:"onError,omitempty"`
}

// StepType returns the step's type, agent when unset.
func (s *WorkflowStep) StepType() string {
	if s.Type == "" {
		return StepTypeAgent
	}
	return s.Type
}

// Workflow is a named DAG of steps. Version increments on every change.
type Workflow struct {
	ID          string          `json:"id"`
	UserID      string          `json:"-"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	InputSchema json.RawMessage `json:"inputSchema,omitempty"`
	Output      json.RawMessage `json:"output,omitempty"`
	Schedule    *string         `json:"schedule"`
	// MaxConcurrentRuns bounds the workflow's runs in flight (0: no
	// bound); runs past it wait as queued, by priority, then age.
	MaxConcurrentRuns int `json:"maxConcurrentRuns,omitempty"`
	// MaxCostUSD and MaxTokens bound each run's model spend (nil: none).
	MaxCostUSD *float64       `json:"maxCostUsd,omitempty"`
	MaxTokens  *int64         `json:"maxTokens,omitempty"`
	Version    int            `json:"version"`
	Steps      []WorkflowStep `json:"steps"`
	CreatedAt  time.Time      `json:"createdAt"`
	UpdatedAt  time.Time      `json:"updatedAt"`
}

// Execution is one run of one workflow version.
type Execution struct {
	ID              string          `json:"id"`
	WorkflowID      string          `json:"workflowId"`
	WorkflowVersion int             `json:"workflowVersion"`
	UserID          string          `json:"-"`
	DeploymentID    *string         `json:"deploymentId"`
	Status          string          `json:"status"`
	Trigger         string          `json:"trigger"`
	InputData       json.RawMessage `json:"inputData"`
	OutputData      json.RawMessage `json:"outputData"`
	Error           json.RawMessage `json:"error"`
	IdempotencyKey  *string         `json:"idempotencyKey,omitempty"`
	RetryOf         *string         `json:"retryOf,omitempty"`
	// ReplayOf, for a replay (trigger "replay"), is the run whose recorded
	// model and API responses it ran against.
	ReplayOf *string `json:"replayOf,omitempty"`
	// Priority orders queued runs of a workflow (higher first).
	Priority int `json:"priority"`
	// ParentExecutionID and ParentStepKey name the workflow step whose
	// child this run is (trigger "workflow").
	ParentExecutionID *string `json:"parentExecutionId,omitempty"`
	ParentStepKey     *string `json:"parentStepKey,omitempty"`
	// MaxCostUSD and MaxTokens bound the run's model spend (nil: none).
	MaxCostUSD  *float64   `json:"maxCostUsd,omitempty"`
	MaxTokens   *int64     `json:"maxTokens,omitempty"`
	EngineRef   *string    `json:"engineRef,omitempty"`
	StartedAt   *time.Time `json:"startedAt"`
	CompletedAt *time.Time `json:"completedAt"`
	DurationMs  *int64     `json:"durationMs"`
	CreatedAt   time.Time  `json:"createdAt"`
}

// IsReplay reports whether e is a replay: its api and llm steps never call
// out, whatever became of the run it replays.
func (e *Execution) IsReplay() bool { return e.Trigger == TriggerReplay || e.ReplayOf != nil }

// ExecutionStep is the record of one step within one execution.
type ExecutionStep struct {
	ExecutionID  string          `json:"executionId"`
	StepKey      string          `json:"stepKey"`
	AgentID      *string         `json:"agentId"`
	Status       string          `json:"status"`
	Attempt      int             `json:"attempt"`
	Input        json.RawMessage `json:"input"`
	Output       json.RawMessage `json:"output"`
	Error        json.RawMessage `json:"error"`
	StartedAt    *time.Time      `json:"startedAt"`
	CompletedAt  *time.Time      `json:"completedAt"`
	DurationMs   *int64          `json:"durationMs"`
	InputTokens  int64           `json:"inputTokens"`
	OutputTokens int64           `json:"outputTokens"`
	CostUSD      float64         `json:"costUsd"`
	// WakeAt is when a waiting wait step goes on (or an approval times
	// out).
	WakeAt *time.Time `json:"wakeAt,omitempty"`
	// ChildExecutionID is the run a workflow step started.
	ChildExecutionID *string `json:"childExecutionId,omitempty"`
	// Index is the item index of a forEach iteration (nil for a step).
	Index *int `json:"index,omitempty"`
	// Iterations are a forEach step's per-item records, in item order.
	Iterations []*ExecutionStep `json:"iterations,omitempty"`
}

// ExecutionLog is one log line of an execution.
type ExecutionLog struct {
	Sequence  int64           `json:"sequence"`
	StepKey   *string         `json:"stepKey"`
	Level     string          `json:"level"`
	Message   string          `json:"message"`
	Data      json.RawMessage `json:"data,omitempty"`
	CreatedAt time.Time       `json:"createdAt"`
}

// Deployment is a workflow version deployed to an environment.
type Deployment struct {
	ID              string `json:"id"`
	WorkflowID      string `json:"workflowId"`
	UserID          string `json:"-"`
	Environment     string `json:"environment"`
	Status          string `json:"status"`
	Version         int    `json:"version"`
	PreviousVersion *int   `json:"previousVersion"`
	// CanaryWeight, when set, is the percentage of runs that go to Version;
	// the others run PreviousVersion.
	CanaryWeight    *int       `json:"canaryWeight,omitempty"`
	EndpointURL     *string    `json:"endpointUrl"`
	StateMachineRef *string    `json:"stateMachineRef,omitempty"`
	VersionRef      *string    `json:"versionRef,omitempty"`
	AliasRef        *string    `json:"aliasRef,omitempty"`
	Schedule        *string    `json:"schedule"`
	Timezone        *string    `json:"timezone"`
	Error           *string    `json:"error,omitempty"`
	CreatedAt       time.Time  `json:"createdAt"`
	UpdatedAt       time.Time  `json:"updatedAt"`
	ActivatedAt     *time.Time `json:"activatedAt"`
	// NextFires are the next scheduled runs (filled by the API).
	NextFires []time.Time `json:"nextFires,omitempty"`
	// Input is the input of the runs the deployment starts without one:
	// schedule fires, and webhook or API calls with none (nil: {}).
	Input json.RawMessage `json:"input,omitempty"`
	// MayExecute records that whoever created the deployment could start
	// runs (workflows:execute): its webhook and schedule start runs only
	// then.
	MayExecute bool `json:"-"`
	// Workflow is the deployment's workflow as it is now, when the store
	// loaded it with the deployment (ActiveDeployment); nil otherwise.
	Workflow *Workflow `json:"-"`
}

// AuditEntry records one mutation.
type AuditEntry struct {
	ID           int64           `json:"id"`
	UserID       *string         `json:"userId"`
	Action       string          `json:"action"`
	ResourceType string          `json:"resourceType"`
	ResourceID   string          `json:"resourceId"`
	Metadata     json.RawMessage `json:"metadata"`
	IP           string          `json:"ip"`
	UserAgent    string          `json:"userAgent"`
	RequestID    string          `json:"requestId"`
	CreatedAt    time.Time       `json:"createdAt"`
}

// Page is the cursor of a list request. Limit is already clamped.
type Page struct {
	Limit  int
	Cursor string
}

// List is one page of results.
type List[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"nextCursor,omitempty"`
}

// AuditFilter narrows an audit-log listing.
type AuditFilter struct {
	UserID       *string // nil: every user (admins only)
	ResourceType string
	ResourceID   string
	Action       string
	Since, Until *time.Time
}

// ExecutionFilter narrows an execution listing.
type ExecutionFilter struct {
	WorkflowID   string
	Status       string
	DeploymentID string
	Trigger      string
	Since, Until *time.Time
}

// Actor is who performs a request: a user via JWT, or a user via an API key
// with scopes.
type Actor struct {
	UserID   string
	Role     string
	APIKeyID string   // empty for JWT callers
	Scopes   []string // nil for JWT callers: every scope
}

// HasScope reports whether the actor may use scope. JWT callers hold all.
func (a *Actor) HasScope(scope string) bool {
	if a.APIKeyID == "" {
		return true
	}
	for _, s := range a.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// IsAdmin reports whether the actor is an administrator.
func (a *Actor) IsAdmin() bool { return a.Role == RoleAdmin }

// RequestInfo is what the audit log records about the request behind a change.
type RequestInfo struct {
	RequestID string
	IP        string
	UserAgent string
}

type ctxKey int

const (
	actorKey ctxKey = iota
	requestKey
)

// WithActor returns a context carrying the authenticated actor.
func WithActor(ctx context.Context, a *Actor) context.Context {
	return context.WithValue(ctx, actorKey, a)
}

// ActorFrom returns the actor of ctx, or nil.
func ActorFrom(ctx context.Context) *Actor {
	a, _ := ctx.Value(actorKey).(*Actor)
	return a
}

// WithRequestInfo returns a context carrying request information for audit.
func WithRequestInfo(ctx context.Context, r RequestInfo) context.Context {
	return context.WithValue(ctx, requestKey, r)
}

// RequestInfoFrom returns the request information of ctx (zero if none).
func RequestInfoFrom(ctx context.Context) RequestInfo {
	r, _ := ctx.Value(requestKey).(RequestInfo)
	return r
}
