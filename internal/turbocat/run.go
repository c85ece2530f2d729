package turbocat

import (
	"context"
	"encoding/json"
	"time"
)

// Triggers of an execution.
const (
	TriggerAPI      = "api"
	TriggerWebhook  = "webhook"
	TriggerSchedule = "schedule"
	TriggerRetry    = "retry"
	// TriggerWorkflow: a child run started by a workflow step.
	TriggerWorkflow = "workflow"
	// TriggerReplay: a replay of a finished run against its recorded
	// model and API responses (NewExecution.ReplayOf names the run).
	TriggerReplay = "replay"
	// TriggerMCP: a tools/call of an MCP client on /mcp.
	TriggerMCP = "mcp"
)

// Engine runs compiled workflows: Turbocat's local Step Functions runtime,
// or AWS Step Functions. References are ARNs on both.
type Engine interface {
	// PublishStateMachine creates the state machine called name, or updates
	// its definition, and publishes a version of it; it returns the version
	// reference. EVALIDATION for an invalid definition.
	PublishStateMachine(ctx context.Context, name string, definition []byte) (versionRef string, err error)
	// StartExecution starts target (a machine, version or alias reference)
	// with the execution name and input. Starting the same name with the
	// same input again returns the same execution. ENOTFOUND when target
	// does not exist.
	StartExecution(ctx context.Context, target, name string, input []byte) (executionRef string, err error)
	// StopExecution aborts a running execution; a finished one is left.
	StopExecution(ctx context.Context, executionRef, errName, cause string) error
	// DescribeExecution reports an execution's engine-side status.
	DescribeExecution(ctx context.Context, executionRef string) (*EngineExecution, error)
	// SendTaskSuccess completes the Task waiting on token with output
	// (a .waitForTaskToken Task); SendTaskFailure fails it with an error
	// name and cause. ENOTFOUND when the task no longer waits (answered,
	// timed out, its run ended); EVALIDATION for a malformed token.
	SendTaskSuccess(ctx context.Context, token string, output []byte) error
	SendTaskFailure(ctx context.Context, token, errName, cause string) error
	// SetAlias points the alias called name of the versions' state machine
	// at the routing (one version at 100, or two splitting 100 for a
	// canary), creating it if needed; it returns the alias reference.
	SetAlias(ctx context.Context, name string, routing []AliasRoute) (aliasRef string, err error)
}

// AliasRoute is one version an alias routes to, with its weight (percent).
type AliasRoute struct {
	VersionRef string
	Weight     int
}

// Engine-side execution statuses (Step Functions' words).
const (
	EngineRunning   = "RUNNING"
	EngineSucceeded = "SUCCEEDED"
	EngineFailed    = "FAILED"
	EngineTimedOut  = "TIMED_OUT"
	EngineAborted   = "ABORTED"
)

// EngineExecution is an execution as the engine sees it.
type EngineExecution struct {
	Ref       string
	Name      string
	Status    string
	Error     string
	Cause     string
	StartedAt time.Time
	StoppedAt *time.Time
}

// LogLine is one log line a step produced.
type LogLine struct {
	Time    time.Time
	Level   string
	Message string
	Data    json.RawMessage
}

// StepClaim is the result of claiming a step for a run.
type StepClaim struct {
	// Claimed is true when this invocation owns the step and must run it;
	// otherwise Step is the current state of the step (completed, failed,
	// or running under another live claim).
	Claimed bool
	ClaimID string
	Step    *ExecutionStep
	// HeldBy is the claim another invocation holds on the step, when it is
	// running and not claimed by this one.
	HeldBy string
}

// StepResult is what a step run records.
type StepResult struct {
	Input        json.RawMessage // the resolved input the agent received
	Logs         []LogLine       // the run's log lines, stored with the result
	Output       json.RawMessage
	Error        json.RawMessage // {"error": name, "cause": ...} on failure
	DurationMs   int64
	InputTokens  int64
	OutputTokens int64
	CostUSD      float64
}

// NewExecution is what starting a run inserts.
type NewExecution struct {
	WorkflowID      string
	WorkflowVersion int
	UserID          string
	DeploymentID    *string
	Trigger         string
	Input           json.RawMessage
	IdempotencyKey  *string
	RetryOf         *string
	// ReuseSteps, for a retry, lists the completed steps of RetryOf whose
	// outputs the new execution takes over instead of running them again.
	ReuseSteps []string
	// RequestHash identifies the request behind IdempotencyKey: the same
	// key with another request is ECONFLICT.
	RequestHash []byte
	// MaxConcurrent is the workflow's maxConcurrentRuns (0: no bound): a
	// run past it, or behind queued ones, is inserted queued.
	MaxConcurrent int
	// Priority orders queued runs (higher first).
	Priority int
	// ParentExecutionID and ParentStepKey: the workflow step that starts
	// this run as its child.
	ParentExecutionID *string
	ParentStepKey     *string
	// MaxCostUSD and MaxTokens bound the run's model spend (nil: none).
	MaxCostUSD *float64
	MaxTokens  *int64
	// ReplayOf, for a replay, is the finished run whose recorded api and
	// llm step outputs the replay's steps take instead of calling out.
	ReplayOf *string
	// EngineRef, if set, is the engine reference the run's start will
	// have (the caller starts it on the engine next, named ID): a run that
	// needs no queueing decision is then recorded with that ID already
	// started, running, with StartedEvents, in the same write. The
	// returned run's EngineRef says whether it was; one that was not gets
	// an id of the store's choosing.
	ID            string
	EngineRef     *string
	StartedEvents []Event
}

// Spend is model spend over some runs.
type Spend struct {
	Runs         int     `json:"runs"`
	CostUSD      float64 `json:"costUsd"`
	InputTokens  int64   `json:"inputTokens"`
	OutputTokens int64   `json:"outputTokens"`
}

// DaySpend is a day's spend (UTC).
type DaySpend struct {
	Day string `json:"day"` // 2026-12-06
	Spend
}

// WorkflowSpend is a workflow's spend.
type WorkflowSpend struct {
	WorkflowID string `json:"workflowId"`
	Name       string `json:"name"`
	Spend
}

// StepTurn is one model turn (Seq 0, Kind "model") or tool call (Seq
// i+1, Kind "tool") of an LLM step's tool loop.
type StepTurn struct {
	ExecutionID  string          `json:"-"`
	StepKey      string          `json:"stepKey"`
	Attempt      int             `json:"attempt"`
	Turn         int             `json:"turn"`
	Seq          int             `json:"seq"`
	Kind         string          `json:"kind"`
	ToolCallID   string          `json:"toolCallId,omitempty"`
	ToolName     string          `json:"toolName,omitempty"`
	Model        string          `json:"model,omitempty"`
	Input        json.RawMessage `json:"input"`
	Output       json.RawMessage `json:"output"`
	Error        json.RawMessage `json:"error"`
	InputTokens  int64           `json:"inputTokens"`
	OutputTokens int64           `json:"outputTokens"`
	CostUSD      float64         `json:"costUsd"`
	DurationMs   int64           `json:"durationMs"`
	CreatedAt    time.Time       `json:"createdAt"`
}

// BudgetState is what a run's next model call is checked against: the
// run's bounds and its spend so far, and its user's monthly budget and
// spend this calendar month (UTC).
type BudgetState struct {
	MaxCostUSD    *float64
	MaxTokens     *int64
	RunCostUSD    float64
	RunTokens     int64
	MonthlyBudget *float64
	MonthCostUSD  float64
}

// StepStart is what claiming a step takes.
type StepStart struct {
	ExecutionID string
	StepKey     string
	AgentID     string
	// Lease is how long the claim holds before another invocation may take
	// the step over (the step's timeout and a margin).
	Lease time.Duration
	// WithOutputs also loads the outputs of the completed steps.
	WithOutputs bool
	// Takeover, if set, is a claim on the step that its holder gave up
	// (it could not record its result): it is taken over at once instead
	// of waiting for its lease to lapse.
	Takeover string
}

// StartedStep is what StartStep returns.
type StartedStep struct {
	Claim     *StepClaim
	Execution *Execution
	// Agent is the step's agent if it belongs to the execution's user, nil
	// otherwise.
	Agent *Agent
	// Outputs are the completed steps' outputs by key (with WithOutputs).
	Outputs map[string]json.RawMessage
	// Item is the item of a for-each iteration (nil for a step).
	Item json.RawMessage
}

// ClaimedStep names a step and the claim its holder has on it.
type ClaimedStep struct {
	ExecutionID string
	StepKey     string
	ClaimID     string
}

// Outcome is how an execution ends: a final status (completed, failed,
// cancelled, timed_out) with its output or error document, and the
// lifecycle events that report it (written with the change, and only if
// the execution was still live).
type Outcome struct {
	Status string
	Output json.RawMessage
	Error  json.RawMessage
	Events []Event
	// OutputSteps, if set, makes the output the outputs of these
	// completed top-level steps by key (null for one that did not
	// complete), read as the run ends, in place of Output; it is also set
	// as the events' "output".
	OutputSteps []string
}

// LogRange selects log lines of an execution: those after the sequence
// number After, at most Limit.
type LogRange struct {
	After int64
	Limit int
}

// ExecutionMeta is what never changes about an execution: which workflow
// version it runs, for whom.
type ExecutionMeta struct {
	WorkflowID      string
	WorkflowVersion int
	UserID          string
	// Replay is true for a replay (its lifecycle events are not sent).
	Replay bool
}

// ExecutionStore stores executions: the API's reads, scoped by user, and
// the execution path's reads and writes by execution id alone (the step
// runner and the reconciler act for the engine, not for a caller, and scope
// what they load by the execution's own user).
type ExecutionStore interface {
	Execution(ctx context.Context, userID, id string) (*Execution, error)
	ListExecutions(ctx context.Context, userID string, f ExecutionFilter, p Page) (*List[*Execution], error)
	ExecutionSteps(ctx context.Context, userID, id string) ([]*ExecutionStep, error)
	ExecutionLogs(ctx context.Context, userID, id string, r LogRange) ([]*ExecutionLog, error)
	// ExecutionStatus returns the status and the last log sequence number
	// (the live log stream polls it).
	ExecutionStatus(ctx context.Context, userID, id string) (status string, lastSeq int64, err error)

	// CreateExecution inserts a pending execution (queued when its
	// workflow is at MaxConcurrent) and its audit row in one transaction.
	// With an idempotency key already used for the workflow it returns the
	// existing execution and created=false, or ECONFLICT when that run was
	// made by another request (RequestHash).
	CreateExecution(ctx context.Context, in NewExecution) (e *Execution, created bool, err error)
	// PromoteQueued makes the next queued run of a workflow pending when
	// fewer than max of its runs are active (max 0: no bound), and returns
	// it (nil when none may start) and how many stay queued.
	PromoteQueued(ctx context.Context, workflowID string, max int) (e *Execution, stillQueued int, err error)
	// MarkStarted records the engine's reference and moves pending →
	// running, writing events with the change (only if it happened); it
	// returns the execution as it now is, or nil when its start had been
	// recorded before (nothing was written).
	MarkStarted(ctx context.Context, id, engineRef string, events ...Event) (*Execution, error)
	// FinishExecution moves a live execution to its outcome, its steps
	// that never ended to skipped or cancelled, and writes its events and
	// audit row, all at once; it returns false if it had already finished,
	// which then stays as it was.
	FinishExecution(ctx context.Context, id string, o Outcome) (bool, error)
	ExecutionByID(ctx context.Context, id string) (*Execution, error)
	// ExecutionMeta returns what never changes about an execution (from a
	// cache that the runs this process created fill).
	ExecutionMeta(ctx context.Context, id string) (ExecutionMeta, error)
	// ExecutionWithOutputs returns an execution and the outputs of its
	// completed top-level steps by key.
	ExecutionWithOutputs(ctx context.Context, id string) (*Execution, map[string]json.RawMessage, error)
	UnfinishedExecutions(ctx context.Context) ([]*Execution, error)

	// VersionEngineRef returns the engine reference of a published workflow
	// version ("" when not yet published); SetVersionEngineRef records one
	// (the first writer wins and every caller gets the winner).
	VersionEngineRef(ctx context.Context, workflowID string, version int) (string, error)
	SetVersionEngineRef(ctx context.Context, workflowID string, version int, ref string) (string, error)
	ResetVersionEngineRef(ctx context.Context, workflowID string, version int, ref string) error

	// StartStep claims a step for a run with a lease and, in the same round
	// trip, loads the execution, the agent and (WithOutputs) the upstream
	// outputs. When the step is not claimed, the claim's Step carries its
	// status, attempt and error. ENOTFOUND for an unknown execution.
	StartStep(ctx context.Context, in StepStart) (*StartedStep, error)
	// FinishStepThenStart records a step's successful result (as
	// FinishStep) and claims the step that follows it (as StartStep, not
	// committed asynchronously) in one round trip and one transaction.
	// next is that claim, or nil when the step was not claimed (held by
	// another invocation, done, or the result was not recorded: ok false).
	FinishStepThenStart(ctx context.Context, step ClaimedStep, r StepResult, following StepStart) (ok bool, next *StartedStep, err error)
	// FinishStepThenEnd records a run's last step's successful result (as
	// FinishStep) and the run's end (as FinishExecution) in one round trip
	// and one transaction; the run ends only if the result was recorded.
	FinishStepThenEnd(ctx context.Context, step ClaimedStep, r StepResult, end Outcome) (ok, ended bool, err error)
	// Usage returns a user's model spend since a time, by day and by
	// workflow.
	Usage(ctx context.Context, userID string, since time.Time) ([]DaySpend, []WorkflowSpend, error)
	// BudgetState returns the budgets a run's next model call is checked
	// against.
	BudgetState(ctx context.Context, executionID string) (*BudgetState, error)
	// RecordStepTurn records one model turn or tool call of a step's tool
	// loop (a record already there for the same attempt, turn and seq is
	// kept).
	RecordStepTurn(ctx context.Context, t *StepTurn) error
	// LatestStepTurns returns what a step's tool loop recorded: for each
	// turn and seq, the latest attempt's record, by turn then seq.
	LatestStepTurns(ctx context.Context, executionID, stepKey string) ([]*StepTurn, error)
	// StepTurns returns every recorded turn of a step of one of the user's
	// executions (every attempt, in order); ENOTFOUND for an execution of
	// another user or none.
	StepTurns(ctx context.Context, userID, executionID, stepKey string) ([]*StepTurn, error)
	// ReleaseStep gives up a claim between two turns of a step's tool loop
	// (compiled into the state machine): the step stays running with its
	// resolved input recorded, and the next StartStep claims it at once in
	// the same attempt, keeping its start time. False if the claim was
	// lost.
	ReleaseStep(ctx context.Context, step ClaimedStep, input json.RawMessage) (bool, error)
	// RenewStepLease extends a claim the caller still holds by lease from
	// now (the holder renews it while the agent runs).
	RenewStepLease(ctx context.Context, step ClaimedStep, lease time.Duration) error
	// SetStepInput records the resolved input of a claimed step.
	SetStepInput(ctx context.Context, step ClaimedStep, input json.RawMessage) error
	// FinishStep records a claimed step's result and its logs atomically:
	// a run is recorded whole or not at all. False if the claim was lost.
	FinishStep(ctx context.Context, step ClaimedStep, r StepResult) (bool, error)
	// AppendLogs stores log lines with consecutive sequence numbers.
	AppendLogs(ctx context.Context, executionID string, stepKey *string, lines []LogLine) error
}

// Rollback is where RollbackDeployment moves a deployment.
type Rollback struct {
	Version    int // the version it goes back to
	Previous   int // the version it leaves (its new previous version)
	VersionRef string
}

// DeploymentStore stores deployments. Reads by id alone (DeploymentByID) are
// for the trigger: the webhook and the scheduler act for the deployment's
// owner.
type DeploymentStore interface {
	Deployment(ctx context.Context, userID, id string) (*Deployment, error)
	ListDeployments(ctx context.Context, userID string, f DeploymentFilter, p Page) (*List[*Deployment], error)
	// CreateDeployment stores d; an active one replaces the active
	// deployment of its (workflow, environment), whose version becomes d's
	// PreviousVersion and whose signing secret it keeps (kept reports it;
	// signingSecretEnc is used when there is none to keep). Audited in the
	// same transaction.
	CreateDeployment(ctx context.Context, d *Deployment, signingSecretEnc []byte) (kept bool, err error)
	// DeploymentByID returns a deployment and its encrypted signing secret.
	DeploymentByID(ctx context.Context, id string) (*Deployment, []byte, error)
	// ActiveDeployment returns the active deployment of a workflow's
	// environment and its encrypted signing secret (ENOTFOUND when none).
	ActiveDeployment(ctx context.Context, workflowID, environment string) (*Deployment, []byte, error)
	// RollbackDeployment moves an active deployment to its previous
	// version. ECONFLICT when it has none or is not active.
	RollbackDeployment(ctx context.Context, userID, id string, to Rollback) (*Deployment, error)
	// DeactivateDeployment stops an active deployment (its webhook and
	// schedule stop). ENOTFOUND when there is no active one of that id.
	DeactivateDeployment(ctx context.Context, userID, id string) (*Deployment, error)
	// SetSigningSecret replaces an active deployment's webhook signing
	// secret (audited); ENOTFOUND when there is no active one of that id.
	SetSigningSecret(ctx context.Context, userID, id string, secretEnc []byte) (*Deployment, error)
	// RecordWebhookSignature records a webhook request's signature the
	// first time it is seen (first=true); a repeat returns the
	// Idempotency-Key the first request carried.
	RecordWebhookSignature(ctx context.Context, deploymentID string, signature []byte, idempotencyKey string) (first bool, firstKey string, err error)
	// ScheduledDeployments lists active deployments with a schedule.
	ScheduledDeployments(ctx context.Context) ([]*Deployment, error)
	// ActiveWorkflows lists userID's active deployments (at most limit),
	// each with what the version it runs says of itself, ordered by
	// workflow name and environment.
	ActiveWorkflows(ctx context.Context, userID string, limit int) ([]*DeployedWorkflow, error)
}

// DeployedWorkflow is an active deployment as a caller of the workflow sees
// it: the workflow's name, and the description and inputSchema of the
// version the deployment runs.
type DeployedWorkflow struct {
	DeploymentID string
	WorkflowID   string
	Environment  string
	Version      int
	Name         string
	Description  string
	// InputSchema is the version's inputSchema (nil when it has none).
	InputSchema json.RawMessage
}

// LiveText is a piece of the text a model generates while a step runs. It
// is a preview for whoever watches the run's log stream and is not stored:
// the step's output and turn records hold the whole answer.
type LiveText struct {
	ExecutionID string    `json:"executionId"`
	StepKey     string    `json:"stepKey"`
	Turn        int       `json:"turn"` // the model turn, as in the step's turn records (0 first)
	Text        string    `json:"text"`
	Time        time.Time `json:"time"`
	// Snapshot marks the turn's whole text so far, sent first to a new
	// watcher: it replaces what the watcher has for the step; the pieces
	// after it add to it.
	Snapshot bool `json:"snapshot,omitempty"`
}

// LiveStream carries runs' live text from the step runners that produce
// it to the log streams that show it, across processes. Delivery is best
// effort: a slow or absent watcher misses pieces, never blocks a run.
type LiveStream interface {
	// Publish sends a piece of live text to the run's watchers.
	Publish(ctx context.Context, t LiveText) error
	// Subscribe returns the live text of one execution as it is
	// published, until the returned func is called, starting with a
	// snapshot of each running step's text so far where it is known.
	Subscribe(executionID string) (<-chan LiveText, func())
}
