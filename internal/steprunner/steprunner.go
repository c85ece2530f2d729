// Package steprunner runs one step of one execution: the code behind every
// Task state of a compiled workflow, in the steprunner Lambda on AWS and in
// process under `turbocat dev`. It loads the execution, the workflow version
// and the step's agent (all scoped to the execution's user), resolves the
// step's inputs from the execution input and upstream outputs, runs the
// agent's executor and records the step's status, input, output, usage and
// logs in Postgres.
//
// Task invocations are at-least-once, so a step is claimed with a lease
// before its agent runs: a second invocation of the same step waits for the
// first one's result instead of running the agent again, and a completed
// step returns its stored result. Only a retry (after a failure) or an
// expired lease (the first invocation died) runs the agent again.
//
// The state machine carries only {executionId}; outputs stay in Postgres.
package steprunner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/turbocat/turbocat/internal/executor"
	"github.com/turbocat/turbocat/internal/metrics"
	"github.com/turbocat/turbocat/internal/secrets"
	"github.com/turbocat/turbocat/internal/tmpl"
	"github.com/turbocat/turbocat/internal/tracing"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// Actions of the steprunner payload.
const (
	ActionStep     = "step"
	ActionFinalize = "finalize"
	ActionFail     = "fail"
	// ActionTurn runs the next model turn of an llm step whose tool loop
	// is compiled into the state machine → {"done", "turn", "calls"}:
	// done when the model answered; else calls are the indexes of the
	// turn's tool calls, each run by ActionTool, before the next turn.
	ActionTurn = "turn"
	// ActionTool runs one tool call (index) of a model turn (turn).
	ActionTool = "tool"
)

// Payload is what a Task state sends.
type Payload struct {
	Action      string          `json:"action"`
	ExecutionID string          `json:"executionId"`
	StepKey     string          `json:"stepKey,omitempty"`
	Finalize    bool            `json:"finalize,omitempty"`
	Error       json.RawMessage `json:"error,omitempty"`
	// Index is a for-each iteration's item index (action item), or a
	// tool call's index in its model turn (action tool).
	Index *int `json:"index,omitempty"`
	// Turn is the model turn whose tool call runs (action tool).
	Turn *int `json:"turn,omitempty"`
	// TaskToken is an approval's Step Functions task token.
	TaskToken string `json:"taskToken,omitempty"`
}

// Error names the step runner itself raises (the executors add theirs).
const (
	ErrInput             = "Step.InputError"
	ErrAgentUnavailable  = "Step.AgentUnavailable"
	ErrExecutionFinished = "Step.ExecutionFinished"
	ErrLostClaim         = "Step.LostClaim"
	// ErrInvalidOutput: the agent's output holds what cannot be stored (a
	// NUL character).
	ErrInvalidOutput = "Step.InvalidOutput"
	// ErrStoreUnavailable: the database could not be reached or lost the
	// connection. Compiled state machines retry it with backoff (it never
	// consumes a step's own retries): the step runs again once the
	// database is back, and a step that completed is not run twice.
	ErrStoreUnavailable = turbocat.ErrStoreUnavailable
	// ErrInternal: an unexpected failure of Turbocat itself; its details go
	// to the server log, never to the run's record.
	ErrInternal = "Turbocat.Internal"
)

// SecretResolver returns the plaintext of a user's secret.
type SecretResolver func(ctx context.Context, userID, name string) (string, error)

// Runner runs steps.
type Runner struct {
	Store     turbocat.ExecutionStore
	Workflows turbocat.WorkflowStore
	Agents    turbocat.AgentStore
	Executor  executor.Executor
	Secrets   SecretResolver
	Logger    *slog.Logger
	// DefaultTimeout bounds a step without timeoutSeconds (default 5 min).
	DefaultTimeout time.Duration
	// PollInterval is how often a duplicate invocation checks the step
	// another invocation holds (default 100 ms).
	PollInterval time.Duration
	// Lease is how long a claim on a step holds without renewal (default
	// 30 s); the invocation running the step renews it every third of
	// that while the agent runs, so a claim whose holder died (or could
	// not reach the database) lapses within one lease and a retry takes
	// the step over.
	Lease time.Duration
	// Metrics, if set, records step durations, tokens and finished runs.
	Metrics *metrics.Registry
	// Flow records control-flow steps; nil uses Store when it implements
	// turbocat.FlowStore.
	Flow turbocat.FlowStore
	// Children starts the child runs of workflow steps.
	Children ChildStarter
	// WorkflowTools runs the workflows llm agents use as tools; nil makes
	// such a tool fail its step with Executor.InvalidConfig.
	WorkflowTools WorkflowTools
	// Links signs an approval's one-time approve and reject links.
	Links LinkSigner
	// MCPClient makes the calls to the MCP servers llm agents use as tools
	// (agent-chosen destinations: an SSRF-safe client); nil disables MCP
	// tools.
	MCPClient *http.Client
	// Live, if set, carries the text models generate while steps run to
	// the runs' log streams.
	Live turbocat.LiveStream
	// Transient reports database errors worth retrying (connection lost,
	// server restarting); the app sets it to the store's classifier.
	// Those fail the Task as ErrStoreUnavailable, which the state machine
	// retries; other unexpected errors fail it as ErrInternal.
	Transient func(error) bool
	// RecordPatience is how long a step's result, and each record of a
	// tool loop, outlasts a database that Transient says is unavailable
	// before the invocation gives up (and the engine's retry runs the step
	// again): 0 means 30 seconds, a negative value not at all.
	RecordPatience time.Duration
	// Chain says the engine invokes this runner's steps in this process
	// (turbocat dev): a step followed directly by one other claims it
	// with its result, in one round trip (see chains).
	Chain bool

	chained   chains
	shapes    sync.Map // *turbocat.Workflow (from versions) → *shape
	versions  sync.Map // "workflowID@version" → *turbocat.Workflow (immutable)
	abandoned sync.Map // "executionID/stepKey" → the claim id this process gave up on
}

// executionMeta returns the immutable facts of an execution (the store
// caches them: no query for the runs this process started).
func (r *Runner) executionMeta(ctx context.Context, id string) (turbocat.ExecutionMeta, error) {
	m, err := r.Store.ExecutionMeta(ctx, id)
	if err != nil {
		return m, fmt.Errorf("load execution %s: %w", id, err)
	}
	return m, nil
}

func (r *Runner) logger() *slog.Logger {
	if r.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Logger
}

// Handle runs one invocation. The result is small control data; a failure
// is always a *turbocat.StepError, whose name the step's ASL Retry and Catch
// match and whose cause users see: a database failure is
// ErrStoreUnavailable (retried), any other unexpected error ErrInternal
// with a generic cause, its details logged here.
func (r *Runner) Handle(ctx context.Context, raw json.RawMessage) (json.RawMessage, error) {
	out, err := r.handle(ctx, raw)
	if err == nil {
		return out, nil
	}
	var se *turbocat.StepError
	if errors.As(err, &se) {
		return nil, se
	}
	var p Payload
	_ = json.Unmarshal(raw, &p)
	log := r.logger().With("execution_id", p.ExecutionID, "step_key", p.StepKey, "action", p.Action)
	if ctx.Err() != nil {
		// The invocation was cancelled (the run stopped, the process is
		// shutting down): the engine retries or has moved on.
		log.Info("step invocation cancelled", "error", err.Error())
		return nil, &turbocat.StepError{Name: ErrStoreUnavailable, Cause: "the step was interrupted before its result was recorded; it is retried", Retryable: true}
	}
	if r.Transient != nil && r.Transient(err) {
		log.Warn("database unavailable; the step will be retried", "error", err.Error())
		return nil, &turbocat.StepError{Name: ErrStoreUnavailable, Cause: "the database was unavailable; the step is retried when it is back", Retryable: true}
	}
	log.Error("step invocation failed", "error", err.Error())
	return nil, &turbocat.StepError{Name: ErrInternal, Cause: "an internal error stopped the step; the server log has the details (search for execution " + p.ExecutionID + ")"}
}

func (r *Runner) handle(ctx context.Context, raw json.RawMessage) (json.RawMessage, error) {
	var p Payload
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, &turbocat.StepError{Name: ErrInput, Cause: "invalid steprunner payload: " + err.Error()}
	}
	if p.ExecutionID == "" {
		return nil, &turbocat.StepError{Name: ErrInput, Cause: "payload has no executionId"}
	}
	if out, ok, err := r.flowAction(ctx, p); ok {
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = map[string]bool{"ok": true}
		}
		return json.Marshal(out)
	}
	switch p.Action {
	case ActionStep, "":
		if err := r.RunStep(ctx, p.ExecutionID, p.StepKey); err != nil {
			return nil, err
		}
		if p.Finalize {
			if err := r.Finalize(ctx, p.ExecutionID); err != nil {
				return nil, err
			}
		}
	case ActionTurn:
		wanted, err := r.RunTurn(ctx, p.ExecutionID, p.StepKey)
		if err != nil {
			return nil, err
		}
		if wanted == nil {
			if p.Finalize {
				if err := r.Finalize(ctx, p.ExecutionID); err != nil {
					return nil, err
				}
			}
			return json.Marshal(turnResult{Done: true, Turn: -1, Calls: []int{}})
		}
		return json.Marshal(turnResult{Turn: wanted.Turn, Calls: wanted.Calls})
	case ActionTool:
		if p.Turn == nil || p.Index == nil {
			return nil, &turbocat.StepError{Name: ErrInput, Cause: "tool action without a turn and an index"}
		}
		if err := r.RunTool(ctx, p.ExecutionID, p.StepKey, *p.Turn, *p.Index); err != nil {
			return nil, err
		}
	case ActionFinalize:
		if err := r.Finalize(ctx, p.ExecutionID); err != nil {
			return nil, err
		}
	case ActionFail:
		var in struct {
			StepKey string `json:"stepKey"`
		}
		_ = json.Unmarshal(p.Error, &in)
		if err := r.RecordFailure(ctx, p.ExecutionID, in.StepKey, p.Error); err != nil {
			return nil, err
		}
		if err := r.Fail(ctx, p.ExecutionID, p.Error); err != nil {
			return nil, err
		}
	default:
		return nil, &turbocat.StepError{Name: ErrInput, Cause: fmt.Sprintf("unknown action %q", p.Action)}
	}
	return json.RawMessage(`{"ok":true}`), nil
}

// workflow returns the execution's workflow version (cached: versions are
// immutable).
func (r *Runner) workflow(ctx context.Context, e *turbocat.Execution) (*turbocat.Workflow, error) {
	key := fmt.Sprintf("%s@%d", e.WorkflowID, e.WorkflowVersion)
	if w, ok := r.versions.Load(key); ok {
		return w.(*turbocat.Workflow), nil
	}
	w, err := r.Workflows.WorkflowVersion(ctx, e.UserID, e.WorkflowID, e.WorkflowVersion)
	if err != nil {
		return nil, fmt.Errorf("load workflow %s version %d: %w", e.WorkflowID, e.WorkflowVersion, err)
	}
	r.versions.Store(key, w)
	return w, nil
}

func findStep(w *turbocat.Workflow, key string) *turbocat.WorkflowStep {
	for i := range w.Steps {
		if w.Steps[i].Key == key {
			return &w.Steps[i]
		}
	}
	return nil
}

func terminal(status string) bool {
	switch status {
	case turbocat.ExecutionCompleted, turbocat.ExecutionFailed, turbocat.ExecutionCancelled, turbocat.ExecutionTimedOut:
		return true
	}
	return false
}

// RunStep runs one step, at most once per attempt.
func (r *Runner) RunStep(ctx context.Context, executionID, stepKey string) error {
	w, step, err := r.stepOf(ctx, executionID, stepKey)
	if err != nil {
		return err
	}
	_, err = r.runStep(ctx, executionID, w, step, stepKey, nil, false)
	return err
}

// turnResult is the answer of a turn action: done, or the turn whose
// tool calls (indexes) are still to run. Every field is always present:
// the Task's ResultSelector reads each.
type turnResult struct {
	Done  bool  `json:"done"`
	Turn  int   `json:"turn"`
	Calls []int `json:"calls"`
}

// RunTurn runs the next model turn of an llm step whose tool loop is
// compiled into the state machine (a step of any other agent runs whole).
// When the model asks for tools, the claim on the step is released with
// the step still running, and the calls not yet recorded are returned:
// each runs as its own invocation (RunTool), then the next turn. nil means
// the step is done (the model answered, or the step was completed
// before).
func (r *Runner) RunTurn(ctx context.Context, executionID, stepKey string) (*executor.ToolsWanted, error) {
	w, step, err := r.stepOf(ctx, executionID, stepKey)
	if err != nil {
		return nil, err
	}
	return r.runStep(ctx, executionID, w, step, stepKey, nil, true)
}

// RunTool runs the tool call index of model turn turn of a step's tool
// loop. It claims nothing: between its turns the step is released, and
// the call's record makes a repeated invocation safe (a call recorded
// before is not run again). Its log lines go to the step's.
func (r *Runner) RunTool(ctx context.Context, executionID, stepKey string, turn, index int) error {
	_, step, err := r.stepOf(ctx, executionID, stepKey)
	if err != nil {
		return err
	}
	f, err := r.flowStore()
	if err != nil {
		return err
	}
	cur, err := f.StepRecord(ctx, executionID, stepKey)
	if err != nil {
		return fmt.Errorf("read step %s of execution %s: %w", stepKey, executionID, err)
	}
	switch cur.Status {
	case turbocat.StepRunning:
	case turbocat.StepCompleted:
		return nil
	case turbocat.StepFailed, turbocat.StepSkipped:
		name, cause := decodeError(cur.Error)
		return &turbocat.StepError{Name: name, Cause: cause}
	default:
		return &turbocat.StepError{Name: ErrExecutionFinished, Cause: fmt.Sprintf("step %s is %s", stepKey, cur.Status)}
	}
	e, err := r.Store.ExecutionByID(ctx, executionID)
	if err != nil {
		return fmt.Errorf("load execution %s: %w", executionID, err)
	}
	if terminal(e.Status) {
		return &turbocat.StepError{Name: ErrExecutionFinished, Cause: "execution is " + e.Status}
	}
	if r.Agents == nil {
		return errors.New("steprunner: no AgentStore configured")
	}
	agent, err := r.Agents.Agent(ctx, e.UserID, step.AgentID)
	if turbocat.ErrorCodeOf(err) == turbocat.ENOTFOUND {
		agent, err = nil, nil
	}
	if err != nil {
		return fmt.Errorf("load agent %s: %w", step.AgentID, err)
	}
	if se := unusable(step, agent); se != nil {
		return se
	}
	if agent.Type != turbocat.AgentLLM {
		return &turbocat.StepError{Name: ErrInput, Cause: fmt.Sprintf("step %s runs a %s agent, which has no tool calls", stepKey, agent.Type)}
	}
	scrub := secrets.NewScrubber()
	live := r.startLive(ctx, e.ID, stepKey, scrub)
	req := executor.Request{Input: cur.Input, Timeout: r.stepTimeout(step), Scrubber: scrub, IdempotencyKey: e.ID + ":" + stepKey, Live: live,
		Turns: r.turnJournal(e.ID, stepKey, cur.Attempt), Slice: &executor.LoopSlice{Tool: true, Turn: turn, Index: index}}
	res, runErr := r.runAgent(ctx, e.UserID, agent, req, &stepOf{execution: e, key: stepKey})
	if logs := toLogLines(res.Logs[min(live.end(ctx), len(res.Logs)):], scrub); len(logs) > 0 {
		if err := r.Store.AppendLogs(context.WithoutCancel(ctx), e.ID, &stepKey, logs); err != nil {
			return err
		}
	}
	var se *turbocat.StepError
	if errors.As(runErr, &se) {
		se.Cause = scrub.String(se.Cause)
	}
	return runErr
}

// stepTimeout bounds one invocation of a step.
func (r *Runner) stepTimeout(step *turbocat.WorkflowStep) time.Duration {
	if step.TimeoutSeconds > 0 {
		return time.Duration(step.TimeoutSeconds) * time.Second
	}
	if r.DefaultTimeout > 0 {
		return r.DefaultTimeout
	}
	return 5 * time.Minute
}

// stepOf loads the workflow version of an execution and one of its steps.
func (r *Runner) stepOf(ctx context.Context, executionID, stepKey string) (*turbocat.Workflow, *turbocat.WorkflowStep, error) {
	meta, err := r.executionMeta(ctx, executionID)
	if err != nil {
		return nil, nil, err
	}
	w, err := r.workflow(ctx, &turbocat.Execution{WorkflowID: meta.WorkflowID, WorkflowVersion: meta.WorkflowVersion, UserID: meta.UserID})
	if err != nil {
		return nil, nil, err
	}
	step := findStep(w, stepKey)
	if step == nil {
		return nil, nil, &turbocat.StepError{Name: ErrInput, Cause: fmt.Sprintf("workflow version %d has no step %q", w.Version, stepKey)}
	}
	return w, step, nil
}

// runStep runs an agent step, or one iteration (index) of a for-each
// step, recorded under recordKey, at most once per attempt. With turns,
// an llm agent runs only the next turn of its tool loop, and the tools it
// wants are returned (nil when the step is done).
func (r *Runner) runStep(ctx context.Context, executionID string, w *turbocat.Workflow, step *turbocat.WorkflowStep, stepKey string, index *int,
	turns bool) (*executor.ToolsWanted, error) {
	timeout := r.stepTimeout(step)
	needSteps := needsStepOutputs(step) || index != nil && strings.Contains(step.ForEach, "steps")
	abandonKey := executionID + "/" + stepKey
	takeover := ""

	// Claiming the step also loads the execution, the agent and the
	// upstream outputs: one round trip per invocation, none when the step
	// before claimed it with its result (chains).
	if index == nil {
		if started, _ := r.chained.take(executionID, stepKey); started != nil {
			return r.runClaimed(ctx, started, w, step, timeout, stepKey, index, turns)
		}
	}
	for {
		started, err := r.Store.StartStep(ctx, turbocat.StepStart{ExecutionID: executionID, StepKey: stepKey, AgentID: step.AgentID,
			Lease: r.lease(), WithOutputs: needSteps, Takeover: takeover})
		if err != nil {
			return nil, fmt.Errorf("start step %s of execution %s: %w", stepKey, executionID, err)
		}
		if takeover != "" {
			r.abandoned.CompareAndDelete(abandonKey, takeover)
			takeover = ""
		}
		claim, e := started.Claim, started.Execution
		if claim.Claimed {
			return r.runClaimed(ctx, started, w, step, timeout, stepKey, index, turns)
		}
		switch claim.Step.Status {
		case turbocat.StepCompleted:
			return nil, nil // done before: the stored result stands, the agent does not run again
		case turbocat.StepFailed, turbocat.StepSkipped:
			name, cause := decodeError(claim.Step.Error)
			return nil, &turbocat.StepError{Name: name, Cause: cause}
		case turbocat.StepCancelled:
			return nil, &turbocat.StepError{Name: ErrExecutionFinished, Cause: "execution is " + e.Status}
		}
		if held, ok := r.abandoned.Load(abandonKey); ok && held == claim.HeldBy && claim.HeldBy != "" {
			// This process held the claim and gave up on it (it could not
			// record the result): take the step over now.
			takeover = claim.HeldBy
			continue
		}
		// Another invocation holds a live claim: wait for its outcome.
		poll := r.PollInterval
		if poll <= 0 {
			poll = 100 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(poll):
		}
	}
}

// runClaimed runs a step this invocation claimed, unless its run ended
// meanwhile.
func (r *Runner) runClaimed(ctx context.Context, started *turbocat.StartedStep, w *turbocat.Workflow, step *turbocat.WorkflowStep, timeout time.Duration,
	stepKey string, index *int, turns bool) (*executor.ToolsWanted, error) {
	claim, e := started.Claim, started.Execution
	if terminal(e.Status) {
		// Cancelled or ended while this Task was in flight: do not run.
		res := turbocat.StepResult{Error: errorJSON(ErrExecutionFinished, "execution is "+e.Status)}
		_, _ = r.Store.FinishStep(ctx, turbocat.ClaimedStep{ExecutionID: e.ID, StepKey: stepKey, ClaimID: claim.ClaimID}, res)
		return nil, &turbocat.StepError{Name: ErrExecutionFinished, Cause: "execution is " + e.Status}
	}
	return r.run(ctx, started, w, step, timeout, stepKey, index, turns)
}

func (r *Runner) lease() time.Duration {
	if r.Lease > 0 {
		return r.Lease
	}
	return 30 * time.Second
}

// renewLease keeps the claim on a step alive while it runs; the returned
// func stops it. A renewal that fails (the database is down) is tried at
// the next tick: if the claim lapses meanwhile, another invocation may take
// the step, and this one's result then does not count (its FinishStep finds
// no claim).
func (r *Runner) renewLease(ctx context.Context, step turbocat.ClaimedStep) func() {
	ctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(r.lease() / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := r.Store.RenewStepLease(ctx, step, r.lease()); err != nil && ctx.Err() == nil {
					r.logger().Warn("renew step lease", "execution_id", step.ExecutionID, "step_key", step.StepKey, "error", err.Error())
				}
			}
		}
	}()
	return func() { stop(); <-done }
}

// needsStepOutputs reports whether a step's inputs may refer to the outputs
// of other steps (a cheap, conservative test).
func needsStepOutputs(step *turbocat.WorkflowStep) bool {
	return bytes.Contains(step.Inputs, []byte("steps"))
}

// run runs a claimed step with what was loaded with the claim (the
// execution, the agent and, if the inputs need them, the upstream outputs).
func (r *Runner) run(ctx context.Context, started *turbocat.StartedStep, w *turbocat.Workflow, step *turbocat.WorkflowStep, timeout time.Duration,
	key string, index *int, turns bool) (wanted *executor.ToolsWanted, err error) {
	e, agent, claim, outputs := started.Execution, started.Agent, started.Claim, started.Outputs
	held := turbocat.ClaimedStep{ExecutionID: e.ID, StepKey: key, ClaimID: claim.ClaimID}
	defer func() {
		var se *turbocat.StepError
		if err != nil && !errors.As(err, &se) {
			// The result could not be recorded: the claim is given up, and
			// the engine's retry of this Task takes it over at once.
			r.abandoned.Store(e.ID+"/"+key, claim.ClaimID)
		}
	}()
	stopRenewing := r.renewLease(ctx, held)
	defer stopRenewing()
	// The result is recorded even when the invocation was cancelled while
	// the agent ran (a sibling branch failed, the run was stopped): a step
	// is never left running.
	record := context.WithoutCancel(ctx)
	ctx, span := tracing.Start(ctx, "step", map[string]string{"executionId": e.ID, "stepKey": key, "agentType": agentType(agent)})
	defer func() { span.End(err) }()
	start := time.Now()
	if turns && claim.Step.StartedAt != nil && claim.Step.StartedAt.Before(start) {
		start = *claim.Step.StartedAt // the attempt's first turn: its turns are one run
	}
	log := r.logger().With("execution_id", e.ID, "step_key", key, "attempt", claim.Step.Attempt)
	fail := func(name, cause string, input json.RawMessage, logs []turbocat.LogLine) error {
		cause = strings.ReplaceAll(cause, "\x00", "\uFFFD")
		logs = append(logs, turbocat.LogLine{Time: time.Now(), Level: "error", Message: fmt.Sprintf("step %s failed: %s: %s", key, name, cause)})
		if _, err := r.finishStep(record, held, turbocat.StepResult{Input: input, Error: errorJSON(name, cause),
			DurationMs: time.Since(start).Milliseconds(), Logs: logs}); err != nil {
			return err
		}
		r.Metrics.Step(agentType(agent), turbocat.StepFailed, time.Since(start))
		log.Info("step failed", "error_name", name)
		return &turbocat.StepError{Name: name, Cause: cause}
	}

	if se := unusable(step, agent); se != nil {
		return nil, fail(se.Name, se.Cause, nil, nil)
	}

	extra := map[string]any{}
	if index != nil {
		extra["item"], extra["index"] = started.Item, *index
	}
	if needsNulls(w) && outputs != nil {
		outputs = withNulls(w, outputs)
	}
	input, err := r.resolveInput(ctx, e, step, outputs, extra)
	if err != nil {
		return nil, fail(ErrInput, err.Error(), nil, nil)
	}

	scrub := secrets.NewScrubber()
	req := executor.Request{Input: input, Timeout: timeout, Scrubber: scrub, IdempotencyKey: e.ID + ":" + key}
	if agent.Type == turbocat.AgentLLM && !e.IsReplay() { // a replay calls no model: no budget to read
		if turns {
			req.Slice = &executor.LoopSlice{} // the next model turn only
		}
		if req.Budgets, err = r.budgets(ctx, e.ID); err != nil {
			return nil, err
		}
		// Every model turn and tool call is recorded; a retry resumes.
		req.Turns = r.turnJournal(e.ID, key, claim.Step.Attempt)
	}
	// The step's log lines are stored, and its model text published, while
	// it runs; the lines not stored by its end go with its result.
	live := r.startLive(ctx, e.ID, key, scrub)
	req.Live = live
	res, runErr := r.runOrReplay(ctx, e, agent, key, req) // a replay's api and llm steps call nothing
	logs := toLogLines(res.Logs[min(live.end(ctx), len(res.Logs)):], scrub)
	if runErr != nil {
		var xe *turbocat.StepError
		if errors.As(runErr, &xe) {
			return nil, fail(xe.Name, scrub.String(xe.Cause), input, logs)
		}
		return nil, runErr
	}
	if res.Wanted != nil {
		// The model asked for tools: the turn is recorded; its lines are
		// stored and the step released, still running, for the calls'
		// own invocations and the next turn.
		if len(logs) > 0 {
			if err := r.Store.AppendLogs(record, e.ID, &key, logs); err != nil {
				return nil, err
			}
		}
		ok, err := r.Store.ReleaseStep(record, held, input)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, &turbocat.StepError{Name: ErrLostClaim, Cause: "the step's lease expired while it ran; another attempt owns it"}
		}
		log.Debug("step waits for its tool calls", "turn", res.Wanted.Turn, "calls", len(res.Wanted.Calls))
		return res.Wanted, nil
	}
	result := turbocat.StepResult{Input: input, Output: scrub.JSON(res.Output), DurationMs: time.Since(start).Milliseconds(), Logs: logs}
	if res.Usage != nil {
		result.InputTokens, result.OutputTokens, result.CostUSD = res.Usage.InputTokens, res.Usage.OutputTokens, res.Usage.CostUSD
	}
	if path := nulPath(result.Output); path != "" {
		return nil, fail(ErrInvalidOutput, fmt.Sprintf("the output holds a NUL character (\\u0000) at %s, which cannot be stored; remove it in the agent", path), input, logs)
	}
	var ok bool
	if index == nil {
		ok, err = r.finishStepThen(record, w, step, held, result)
	} else {
		ok, err = r.finishStep(record, held, result)
	}
	if err != nil {
		return nil, err
	}
	if !ok {
		// The lease expired and another invocation took the step over;
		// its result is the one that counts.
		return nil, &turbocat.StepError{Name: ErrLostClaim, Cause: "the step's lease expired while it ran; another attempt owns it"}
	}
	r.Metrics.Step(agent.Type, turbocat.StepCompleted, time.Since(start))
	if u := res.Usage; u != nil {
		r.Metrics.LLM(u.Model, u.InputTokens, u.OutputTokens, u.CostUSD)
	}
	log.Debug("step completed", "duration_ms", result.DurationMs)
	return nil, nil
}

// unusable says why a step's agent cannot run (nil: it can): it no longer
// exists (agent nil), or it is disabled.
func unusable(step *turbocat.WorkflowStep, agent *turbocat.Agent) *turbocat.StepError {
	switch {
	case agent == nil:
		return &turbocat.StepError{Name: ErrAgentUnavailable, Cause: fmt.Sprintf("agent %s no longer exists", step.AgentID)}
	case agent.Status != turbocat.AgentActive:
		return &turbocat.StepError{Name: ErrAgentUnavailable, Cause: fmt.Sprintf("agent %q is %s; enable it with PATCH /api/v1/agents/%s", agent.Name, agent.Status, agent.ID)}
	}
	return nil
}

// turnJournal records the tool loop of a step's attempt, outlasting a
// database outage for up to RecordPatience.
func (r *Runner) turnJournal(executionID, stepKey string, attempt int) *turnJournal {
	return &turnJournal{store: r.Store, transient: r.Transient, patience: r.patience(), executionID: executionID, stepKey: stepKey, attempt: attempt}
}

// patience is RecordPatience with its default.
func (r *Runner) patience() time.Duration {
	switch {
	case r.RecordPatience < 0:
		return 0
	case r.RecordPatience == 0:
		return 30 * time.Second
	}
	return r.RecordPatience
}

// finishStep records a claimed step's result. While the database is
// unavailable (a restart, a fail-over) it tries again for up to
// RecordPatience, so the agent does not run, and its effect does not
// happen, a second time. When the claim turns out lost after such an
// outage (Postgres crashed before the claim was flushed), the outage's
// error is returned: the engine retries the step, which claims it anew.
func (r *Runner) finishStep(ctx context.Context, held turbocat.ClaimedStep, res turbocat.StepResult) (bool, error) {
	return r.recordResult(ctx, held, func() (bool, error) { return r.Store.FinishStep(ctx, held, res) })
}

// recordResult runs write, the recording of held's result, outlasting a
// database outage as finishStep says.
func (r *Runner) recordResult(ctx context.Context, held turbocat.ClaimedStep, write func() (bool, error)) (bool, error) {
	var ok bool
	outage, err := outlast(ctx, r.Transient, r.patience(), func() (err error) {
		ok, err = write()
		return err
	})
	if outage != nil {
		r.logger().Warn("the database was unavailable while a step's result was recorded", "execution_id", held.ExecutionID,
			"step_key", held.StepKey, "error", outage.Error(), "recorded", err == nil && ok)
	}
	if err != nil {
		return false, err
	}
	if !ok && outage != nil {
		return false, outage
	}
	return ok, nil
}

// outlast runs write, and again while it fails with an error transient
// says is the database's unavailability, for up to patience (waiting 0.2 s
// doubling to 2 s between tries). It returns write's last error and the
// first transient one it outlasted (nil when none).
func outlast(ctx context.Context, transient func(error) bool, patience time.Duration, write func() error) (outage, err error) {
	deadline := time.Now().Add(patience)
	for wait := 200 * time.Millisecond; ; wait = min(2*wait, 2*time.Second) {
		if err = write(); err == nil || transient == nil || !transient(err) || time.Now().Add(wait).After(deadline) {
			return outage, err
		}
		if outage == nil {
			outage = err
		}
		select {
		case <-ctx.Done():
			return outage, err
		case <-time.After(wait):
		}
	}
}

// budgets returns the budgets a run's next model call is checked against:
// the run's maxCostUsd and maxTokens, and its user's monthly budget.
func (r *Runner) budgets(ctx context.Context, executionID string) ([]executor.Budget, error) {
	st, err := r.Store.BudgetState(ctx, executionID)
	if err != nil {
		return nil, fmt.Errorf("budgets of execution %s: %w", executionID, err)
	}
	var out []executor.Budget
	if st.MaxCostUSD != nil {
		out = append(out, executor.Budget{Name: "the run's maxCostUsd", Limit: *st.MaxCostUSD, Spent: st.RunCostUSD})
	}
	if st.MaxTokens != nil {
		out = append(out, executor.Budget{Name: "the run's maxTokens", Tokens: true, Limit: float64(*st.MaxTokens), Spent: float64(st.RunTokens)})
	}
	if st.MonthlyBudget != nil {
		out = append(out, executor.Budget{Name: "your monthly budget", Limit: *st.MonthlyBudget, Spent: st.MonthCostUSD})
	}
	return out, nil
}

// RunAgent runs an agent once with the user's secrets: req carries the
// input, timeout, scrubber (every secret value resolved is added to it) and
// idempotency key; the agent fills in the rest. The agent test endpoint and
// steps share it.
func (r *Runner) RunAgent(ctx context.Context, userID string, agent *turbocat.Agent, req executor.Request) (executor.Result, error) {
	return r.runAgent(ctx, userID, agent, req, nil)
}

// stepOf is the step of a run an agent runs for (its workflow tools' runs
// become the run's children).
type stepOf struct {
	execution *turbocat.Execution
	key       string
}

func (r *Runner) runAgent(ctx context.Context, userID string, agent *turbocat.Agent, req executor.Request, step *stepOf) (executor.Result, error) {
	scrub := req.Scrubber
	if scrub == nil {
		scrub = secrets.NewScrubber()
		req.Scrubber = scrub
	}
	req.AgentID, req.UserID, req.Type, req.Config, req.Logger = agent.ID, userID, agent.Type, agent.Config, r.logger()
	req.Secrets = executor.SecretResolverFunc(func(ctx context.Context, name string) (string, error) {
		if r.Secrets == nil {
			return "", fmt.Errorf("secret %q: secrets are not configured on this server", name)
		}
		v, err := r.Secrets(ctx, userID, name)
		if err != nil {
			return "", err
		}
		scrub.Add(v)
		return v, nil
	})
	if agent.Type == turbocat.AgentLLM {
		tools, closeTools, err := r.tools(ctx, userID, agent, req, step)
		if err != nil {
			return executor.Result{}, err
		}
		defer closeTools()
		req.Tools = tools
	}
	return r.Executor.Execute(ctx, req)
}

// resolveInput renders the step's inputs against the execution input, the
// outputs of completed steps (loaded with the claim when the inputs refer
// to steps) and the execution itself.
func (r *Runner) resolveInput(ctx context.Context, e *turbocat.Execution, step *turbocat.WorkflowStep, outputs map[string]json.RawMessage, extra map[string]any) (json.RawMessage, error) {
	values, err := templateValues(e, outputs)
	if err != nil {
		return nil, err
	}
	for k, v := range extra {
		values[k] = v
	}
	inputs := step.Inputs
	if len(inputs) == 0 {
		inputs = json.RawMessage(`{}`)
	}
	out, err := tmpl.RenderContext(ctx, inputs, tmpl.Context{Values: values, NullPropagates: true})
	if err != nil {
		return nil, fmt.Errorf("resolve inputs of step %s: %w", step.Key, err)
	}
	return out, nil
}

// templateValues returns the values step inputs and the output mapping
// render against; outputs are the completed steps' outputs.
func templateValues(e *turbocat.Execution, outputs map[string]json.RawMessage) (map[string]any, error) {
	wrapped := make(map[string]map[string]json.RawMessage, len(outputs))
	for k, v := range outputs {
		wrapped[k] = map[string]json.RawMessage{"output": v}
	}
	steps, err := json.Marshal(wrapped)
	if err != nil {
		return nil, fmt.Errorf("step outputs: %w", err)
	}
	execution := map[string]any{"id": e.ID}
	if e.StartedAt != nil {
		execution["startedAt"] = e.StartedAt.UTC().Format(time.RFC3339Nano)
	}
	input := e.InputData
	if len(input) == 0 {
		input = json.RawMessage(`{}`)
	}
	return map[string]any{"inputs": input, "steps": json.RawMessage(steps), "execution": execution}, nil
}

// Finalize marks the execution completed with its output: the workflow's
// output mapping, or by default the outputs of its sink steps by key.
func (r *Runner) Finalize(ctx context.Context, executionID string) error {
	if _, ended := r.chained.take(executionID, ""); ended {
		return nil // recorded with its last step's result (chains)
	}
	meta, err := r.executionMeta(ctx, executionID)
	if err != nil {
		return err
	}
	w, err := r.workflow(ctx, &turbocat.Execution{UserID: meta.UserID, WorkflowID: meta.WorkflowID, WorkflowVersion: meta.WorkflowVersion})
	if err != nil {
		return err
	}
	if len(w.Output) == 0 {
		// The sinks' outputs by key: the store reads them as it records
		// the end, in one round trip.
		return r.completed(ctx, executionID, success(executionID, meta, r.shapeOf(w).sinks))
	}
	e, outputs, err := r.Store.ExecutionWithOutputs(ctx, executionID)
	if err != nil {
		return fmt.Errorf("load execution %s: %w", executionID, err)
	}
	if terminal(e.Status) {
		return nil
	}
	values, err := templateValues(e, withNulls(w, outputs))
	if err != nil {
		return err
	}
	output, err := tmpl.RenderContext(ctx, w.Output, tmpl.Context{Values: values, NullPropagates: needsNulls(w)})
	if err != nil {
		cause := fmt.Sprintf("workflow output mapping: %v", err)
		_, ferr := r.Store.FinishExecution(ctx, e.ID, turbocat.Outcome{Status: turbocat.ExecutionFailed, Error: failureJSON("", ErrInput, cause)})
		if ferr != nil {
			return ferr
		}
		return &turbocat.StepError{Name: ErrInput, Cause: cause}
	}
	events := []turbocat.Event{turbocat.NewEvent(e.UserID, turbocat.EventExecutionSucceeded, map[string]any{"executionId": e.ID,
		"workflowId": e.WorkflowID, "workflowVersion": e.WorkflowVersion, "output": output})}
	if e.IsReplay() {
		events = nil // a replay is a test: no webhook or bus event
	}
	return r.completed(ctx, e.ID, turbocat.Outcome{Status: turbocat.ExecutionCompleted, Output: output, Events: events})
}

// success is the successful end of a run without an output mapping: its
// sinks' outputs by key, read by the store as it records the end.
func success(executionID string, meta turbocat.ExecutionMeta, sinks []string) turbocat.Outcome {
	var events []turbocat.Event
	if !meta.Replay { // a replay is a test: no webhook or bus event
		events = []turbocat.Event{turbocat.NewEvent(meta.UserID, turbocat.EventExecutionSucceeded, map[string]any{"executionId": executionID,
			"workflowId": meta.WorkflowID, "workflowVersion": meta.WorkflowVersion})}
	}
	return turbocat.Outcome{Status: turbocat.ExecutionCompleted, OutputSteps: sinks, Events: events}
}

// completed records a run's successful end (nothing, if it had ended).
func (r *Runner) completed(ctx context.Context, executionID string, o turbocat.Outcome) error {
	done, err := r.Store.FinishExecution(ctx, executionID, o)
	if err != nil || !done {
		return err
	}
	r.ranToEnd(executionID)
	return nil
}

// ranToEnd counts and logs a run recorded completed.
func (r *Runner) ranToEnd(executionID string) {
	r.Metrics.ExecutionFinished(turbocat.ExecutionCompleted)
	r.logger().Info("execution completed", "execution_id", executionID)
}

// Fail marks the execution failed with the failing step and cause. The
// first failure recorded stands (parallel branches can fail together).
func (r *Runner) Fail(ctx context.Context, executionID string, raw json.RawMessage) error {
	var in struct {
		Error   string `json:"Error"`
		Cause   string `json:"Cause"`
		StepKey string `json:"stepKey"`
	}
	_ = json.Unmarshal(raw, &in)
	cause := in.Cause
	// On AWS a Lambda error's Cause is itself JSON: {"errorMessage", "errorType"}.
	var lambdaErr struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}
	if json.Unmarshal([]byte(cause), &lambdaErr) == nil && lambdaErr.ErrorMessage != "" {
		cause = lambdaErr.ErrorMessage
	}
	if in.Error == "" {
		in.Error = "States.TaskFailed"
	}
	meta, err := r.executionMeta(ctx, executionID)
	if err != nil {
		return err
	}
	failure := map[string]any{"executionId": executionID, "workflowId": meta.WorkflowID, "stepKey": in.StepKey, "error": in.Error, "cause": cause}
	events := []turbocat.Event{turbocat.NewEvent(meta.UserID, turbocat.EventExecutionFailed, failure)}
	if in.StepKey != "" {
		events = append([]turbocat.Event{turbocat.NewEvent(meta.UserID, turbocat.EventStepFailed, failure)}, events...)
	}
	if meta.Replay {
		events = nil // a replay is a test: no webhook or bus event
	}
	if done, err := r.Store.FinishExecution(ctx, executionID, turbocat.Outcome{Status: turbocat.ExecutionFailed,
		Error: failureJSON(in.StepKey, in.Error, cause), Events: events}); err != nil {
		return err
	} else if done {
		r.Metrics.ExecutionFinished(turbocat.ExecutionFailed)
	}
	r.logger().Info("execution failed", "execution_id", executionID, "step_key", in.StepKey, "error_name", in.Error)
	return nil
}

func sinkKeys(w *turbocat.Workflow) []string {
	used := map[string]bool{}
	for _, s := range w.Steps {
		for _, d := range s.DependsOn {
			used[d] = true
		}
	}
	var out []string
	for _, s := range w.Steps {
		if !used[s.Key] {
			out = append(out, s.Key)
		}
	}
	return out
}

func toLogLines(in []executor.LogLine, scrub *secrets.Scrubber) []turbocat.LogLine {
	out := make([]turbocat.LogLine, len(in))
	for i, l := range in {
		data := scrub.JSON(l.Data)
		if nulPath(data) != "" {
			// A log line never fails a step: data that cannot be stored
			// is kept as text.
			data, _ = json.Marshal(map[string]string{"text": string(data)})
		}
		out[i] = turbocat.LogLine{Time: l.Time, Level: l.Level, Message: strings.ReplaceAll(scrub.String(l.Message), "\x00", "\uFFFD"), Data: data}
	}
	return out
}

// nulPath returns the JSON path of the first string (or object key) in doc
// that holds a NUL character, which Postgres cannot store in jsonb, or ""
// when there is none.
func nulPath(doc json.RawMessage) string {
	if !bytes.Contains(doc, []byte(`\u0000`)) {
		return "" // the only way JSON text spells a NUL
	}
	var v any
	if json.Unmarshal(doc, &v) != nil {
		return ""
	}
	return findNUL(v, "$")
}

func findNUL(v any, path string) string {
	switch t := v.(type) {
	case string:
		if strings.ContainsRune(t, 0) {
			return path
		}
	case []any:
		for i, e := range t {
			if p := findNUL(e, fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p
			}
		}
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if strings.ContainsRune(k, 0) {
				return path + "." + strings.ReplaceAll(k, "\x00", `\u0000`)
			}
			if p := findNUL(t[k], path+"."+k); p != "" {
				return p
			}
		}
	}
	return ""
}

func errorJSON(name, cause string) json.RawMessage {
	b, _ := json.Marshal(map[string]string{"error": name, "cause": strings.ReplaceAll(cause, "\x00", "\uFFFD")})
	return b
}

func failureJSON(stepKey, name, cause string) json.RawMessage {
	m := map[string]string{"error": name, "cause": cause}
	if stepKey != "" {
		m["stepKey"] = stepKey
	}
	b, _ := json.Marshal(m)
	return b
}

func decodeError(raw json.RawMessage) (string, string) {
	var e struct{ Error, Cause string }
	if json.Unmarshal(raw, &e) != nil || e.Error == "" {
		return "States.TaskFailed", "the step failed"
	}
	return e.Error, e.Cause
}

func agentType(a *turbocat.Agent) string {
	if a == nil {
		return "unknown"
	}
	return a.Type
}
