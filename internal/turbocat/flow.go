package turbocat

import (
	"context"
	"encoding/json"
	"time"
)

// FlowStore records the steps of a run that are not one agent call: skipped
// steps, for-each steps and their iterations, waits, approvals and child
// runs. The step runner writes them for the engine; the API reads
// decisions through DecideStep.
type FlowStore interface {
	// StepStates returns the recorded steps of a run by key (iterations
	// aside): status, output and error.
	StepStates(ctx context.Context, executionID string) (map[string]*ExecutionStep, error)
	// StepRecord returns one step's record (ENOTFOUND when it has none).
	StepRecord(ctx context.Context, executionID, stepKey string) (*ExecutionStep, error)
	// SkipStep records a step skipped (reason: why, as {error, cause})
	// unless it was decided before; it returns the step's status.
	SkipStep(ctx context.Context, executionID, stepKey string, reason json.RawMessage) (string, error)
	// BeginStep starts a step that runs no agent itself: a new, pending
	// or failed step becomes running with a new attempt (begun true);
	// otherwise the step is returned as it is.
	BeginStep(ctx context.Context, executionID, stepKey string, input json.RawMessage) (step *ExecutionStep, begun bool, err error)
	// AddIterations records a for-each step's iterations, pending, one per
	// item of items (a JSON array); existing ones are kept.
	AddIterations(ctx context.Context, executionID, stepKey string, items json.RawMessage) error
	// Iterations returns a for-each step's iterations in item order.
	Iterations(ctx context.Context, executionID, stepKey string) ([]*ExecutionStep, error)
	// FinishControlStep ends a live step (pending, running or waiting)
	// as status (completed or failed) with its output or error, writing
	// events with the change; the run stops waiting when no other step
	// waits. False when the step was not live.
	FinishControlStep(ctx context.Context, executionID, stepKey, status string, output, errJSON json.RawMessage, events ...Event) (bool, error)
	// WaitStep makes a running step wait, and its run with it, writing
	// events with the change.
	WaitStep(ctx context.Context, executionID, stepKey string, w StepWait, events ...Event) error
	// DecideStep records a decision on a waiting approval: under the
	// step's lock it calls send with the step's task token (an error
	// leaves everything as it was), then records the step as d says and
	// audits it. ENOTFOUND for another user's run or an unknown step,
	// ECONFLICT when the step is not waiting for a decision or (a link)
	// the nonce is not the current one.
	DecideStep(ctx context.Context, d StepDecision, send func(token string) error) (*ExecutionStep, error)
	// SetStepChild links a workflow step to the child run it started.
	SetStepChild(ctx context.Context, executionID, stepKey, childID string) error
	// ChildExecutions returns the runs that steps of a run started.
	ChildExecutions(ctx context.Context, executionID string) ([]*Execution, error)
	// WorkflowByName returns one of a user's workflows by name.
	WorkflowByName(ctx context.Context, userID, name string) (*Workflow, error)
}

// StepWait is how a step waits: until WakeAt (a wait step, or an
// approval's timeout), on TaskToken (an approval), and the nonce of the
// signed links that decide it.
type StepWait struct {
	WakeAt    *time.Time
	TaskToken string
	LinkNonce string
}

// StepDecision is an approval's decision.
type StepDecision struct {
	UserID      string
	ExecutionID string
	StepKey     string
	// Nonce, when set (a signed link), must be the step's current one.
	Nonce    string
	Approved bool
	Output   json.RawMessage
	Error    json.RawMessage
	// Audit is the audit row's action and metadata.
	AuditAction string
	AuditMeta   map[string]any
}
