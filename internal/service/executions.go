package service

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/turbocat/turbocat/internal/compiler"
	"github.com/turbocat/turbocat/internal/executor"
	"github.com/turbocat/turbocat/internal/metrics"
	"github.com/turbocat/turbocat/internal/tracing"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// Executions starts, stops and retries workflow runs: it compiles the
// workflow version, publishes it to the engine once per version, inserts the
// execution with its audit row, and starts the engine with the execution id
// as the execution name (so a repeated start is idempotent).
type Executions struct {
	Store     turbocat.ExecutionStore
	Workflows turbocat.WorkflowStore
	// Agents tells which steps run llm agents, whose tool loops compile
	// into the state machine (nil: every loop runs in one invocation).
	Agents turbocat.AgentStore
	// Engine runs the state machines; nil where this process has none (the
	// run routes then answer EUNAVAILABLE).
	Engine turbocat.Engine
	// StepRunnerFunction is the steprunner's name or ARN placed in the
	// compiled Task states.
	StepRunnerFunction string
	// StateMachinePrefix starts the name of every workflow's state machine
	// (DefaultStateMachinePrefix when empty); on AWS it names the stage, so
	// stages sharing an account never touch each other's machines.
	StateMachinePrefix string
	Logger             *slog.Logger
	Metrics            *metrics.Registry
	// Deployments finds the deployment an execute call names by
	// environment.
	Deployments turbocat.DeploymentStore
	// TrackQueued is set where this process sees every run start (turbocat
	// dev): it then remembers which workflows have queued runs, and a run's
	// end looks for queued runs to start only in those. Elsewhere (Lambda)
	// every end looks.
	TrackQueued bool

	// Links signs and checks approval links (nil: approvals have none).
	Links *ApprovalLinks
	// Live carries the text models generate while steps run (nil: the
	// log stream has only the stored lines).
	Live turbocat.LiveStream

	queued sync.Map // workflow id → true while it has queued runs
}

// ExecuteInput is the body of POST /workflows/{id}/execute.
type ExecuteInput struct {
	Input          json.RawMessage `json:"input"`
	IdempotencyKey string          `json:"idempotencyKey"`
	// Environment runs the workflow's active deployment there (its
	// version) instead of the current version.
	Environment string `json:"environment"`
	// Priority orders the run among queued runs of a workflow at its
	// maxConcurrentRuns (-100 to 100, higher first; default 0).
	Priority int `json:"priority"`
	// MaxCostUSD and MaxTokens bound this run's model spend, on top of the
	// workflow's own bounds (the tighter counts).
	MaxCostUSD *float64 `json:"maxCostUsd"`
	MaxTokens  *int64   `json:"maxTokens"`
	// Trigger records what started the run: api when empty (mcp for a
	// tools/call on /mcp). Not part of the request body.
	Trigger string `json:"-"`
}

// DefaultStateMachinePrefix is the state-machine name prefix of turbocat dev.
const DefaultStateMachinePrefix = "turbocat-"

// StateMachineName is the engine's name for a workflow's state machine.
func (s *Executions) StateMachineName(workflowID string) string {
	if s.StateMachinePrefix == "" {
		return DefaultStateMachinePrefix + workflowID
	}
	return s.StateMachinePrefix + workflowID
}

// errNoEngine answers the run routes of a process without an engine.
var errNoEngine = turbocat.Errorf(turbocat.EUNAVAILABLE, "no workflow engine is configured on this server")

// engine returns the engine, or EUNAVAILABLE when there is none.
func (s *Executions) engine() (turbocat.Engine, error) {
	if s.Engine == nil {
		return nil, errNoEngine
	}
	return s.Engine, nil
}

// MaxIdempotencyKey bounds an idempotency key.
const MaxIdempotencyKey = 200

// checkIdempotencyKey validates a run's idempotency key; field names where
// it came from (the idempotencyKey body field, or the Idempotency-Key
// header).
func checkIdempotencyKey(field, key string) error {
	if len(key) > MaxIdempotencyKey {
		return turbocat.ValidationError("invalid idempotency key", turbocat.FieldError{Field: field, Message: fmt.Sprintf("must be at most %d characters", MaxIdempotencyKey)})
	}
	return nil
}

// ExecuteWorkflow starts a run of one of the actor's workflows (as the
// caller has just read it): its current version,
// or, with in.Environment, the version deployed there (recorded with the
// deployment, as a webhook call would be).
func (s *Executions) ExecuteWorkflow(ctx context.Context, actor *turbocat.Actor, w *turbocat.Workflow, in ExecuteInput) (*turbocat.Execution, error) {
	if w.UserID != actor.UserID {
		return nil, turbocat.NotFound("workflow")
	}
	workflowID := w.ID
	if _, err := s.engine(); err != nil {
		return nil, err
	}
	if err := checkIdempotencyKey("idempotencyKey", in.IdempotencyKey); err != nil {
		return nil, err
	}
	if in.Priority < -100 || in.Priority > 100 {
		return nil, turbocat.ValidationError("invalid priority", turbocat.FieldError{Field: "priority", Message: "must be -100 to 100 (higher runs first when runs are queued)"})
	}
	if in.MaxCostUSD != nil && *in.MaxCostUSD < 0 {
		return nil, turbocat.ValidationError("invalid budget", turbocat.FieldError{Field: "maxCostUsd", Message: "must be at least 0 (USD)"})
	}
	if in.MaxTokens != nil && *in.MaxTokens < 0 {
		return nil, turbocat.ValidationError("invalid budget", turbocat.FieldError{Field: "maxTokens", Message: "must be at least 0"})
	}
	if in.Environment != "" {
		if s.Deployments == nil {
			return nil, errNoEngine
		}
		d, err := activeDeployment(ctx, s.Deployments, actor.UserID, workflowID, in.Environment)
		if err != nil {
			return nil, err
		}
		if d == nil {
			return nil, turbocat.Errorf(turbocat.ENOTFOUND, "the workflow has no active deployment in %q: deploy it there first, or leave environment out to run the current version", in.Environment)
		}
		return s.startDeployed(ctx, d, in.Input, in.trigger(), in.IdempotencyKey, in)
	}
	input := in.Input
	if len(input) == 0 || string(input) == "null" {
		input = json.RawMessage(`{}`)
	}
	if err := validateInput(w.InputSchema, input); err != nil {
		return nil, err
	}
	ne := turbocat.NewExecution{WorkflowID: w.ID, WorkflowVersion: w.Version, UserID: actor.UserID, Trigger: in.trigger(), Input: input,
		Priority: in.Priority, MaxCostUSD: in.MaxCostUSD, MaxTokens: in.MaxTokens}
	if in.IdempotencyKey != "" {
		k := in.IdempotencyKey
		ne.IdempotencyKey = &k
	}
	return s.start(ctx, w, ne, "")
}

// start records the run and starts it on target (a deployment's alias), or
// on the workflow version when target is "".
func (s *Executions) start(ctx context.Context, w *turbocat.Workflow, ne turbocat.NewExecution, target string) (*turbocat.Execution, error) {
	if _, err := s.engine(); err != nil {
		return nil, err
	}
	if ne.Trigger != turbocat.TriggerWorkflow {
		// A child run is never queued: its parent waits on it.
		ne.MaxConcurrent = w.MaxConcurrentRuns
	}
	ne.MaxCostUSD, ne.MaxTokens = tighter(w.MaxCostUSD, ne.MaxCostUSD), tighter(w.MaxTokens, ne.MaxTokens)
	if ne.IdempotencyKey != nil {
		ne.RequestHash = requestHash(ne)
	}
	published := s.prestart(ctx, w, &ne, target)
	e, created, err := s.Store.CreateExecution(ctx, ne)
	if err != nil {
		return nil, err
	}
	if !created && e.Status != turbocat.ExecutionPending {
		return e, nil // the same idempotency key: the first run
	}
	if e.Status == turbocat.ExecutionQueued {
		s.queued.Store(e.WorkflowID, true)
		return e, nil // started when one of the workflow's runs ends
	}
	s.Metrics.ExecutionStarted(e.Trigger)
	sctx, span := tracing.Start(ctx, "start-execution", map[string]string{"executionId": e.ID, "workflowId": w.ID})
	started, err := s.startEngine(sctx, w, e, target, published)
	span.End(err)
	if err != nil {
		return nil, s.startFailed(ctx, e, err)
	}
	if started != nil {
		return started, nil
	}
	return s.Store.ExecutionByID(ctx, e.ID) // its start was recorded before (its first Task's)
}

// prestart readies ne to be recorded already started on the engine target
// (or the workflow version's published machine when target is ""), so that
// a run's start is one write: it sets the run's id and the engine
// reference its start will have. It leaves ne as it is when that
// reference is not known yet (the version is not published, or cannot
// be), and returns the published version's reference it looked up ("" when
// there is a target or none), for the engine start to use.
func (s *Executions) prestart(ctx context.Context, w *turbocat.Workflow, ne *turbocat.NewExecution, target string) (published string) {
	if ne.MaxConcurrent > 0 || len(ne.ReuseSteps) > 0 {
		return "" // recorded in a transaction that decides it, not started
	}
	ref := target
	if ref == "" {
		var err error
		if published, err = s.Store.VersionEngineRef(ctx, w.ID, w.Version); err != nil || published == "" {
			return "" // published by startEngine, which records a failure
		}
		ref = published
	}
	id := turbocat.NewID()
	arn, ok := executionArn(ref, id)
	if !ok {
		return published
	}
	ne.ID, ne.EngineRef = id, &arn
	if ne.ReplayOf == nil { // a replay is a test: no webhook or bus event
		ne.StartedEvents = []turbocat.Event{startedEvent(&turbocat.Execution{ID: id, UserID: ne.UserID, WorkflowID: ne.WorkflowID,
			WorkflowVersion: ne.WorkflowVersion, Trigger: ne.Trigger, DeploymentID: ne.DeploymentID})}
	}
	return published
}

// startFailed records a run the engine would not start as failed, and
// returns the error the caller answers with. A run recorded started
// (prestart), whose execution.started event went out, gets its
// execution.failed event too.
func (s *Executions) startFailed(ctx context.Context, e *turbocat.Execution, err error) error {
	errJSON, _ := json.Marshal(map[string]string{"error": "Turbocat.StartFailed", "cause": "the workflow engine could not start the run"})
	o := turbocat.Outcome{Status: turbocat.ExecutionFailed, Error: errJSON}
	if e.Status == turbocat.ExecutionRunning && !e.IsReplay() {
		o.Events = []turbocat.Event{turbocat.NewEvent(e.UserID, turbocat.EventExecutionFailed, map[string]any{"executionId": e.ID,
			"workflowId": e.WorkflowID, "error": "Turbocat.StartFailed", "cause": "the workflow engine could not start the run"})}
	}
	if _, ferr := s.Store.FinishExecution(context.WithoutCancel(ctx), e.ID, o); ferr != nil {
		err = errors.Join(err, ferr)
	}
	return fmt.Errorf("start execution %s: %w", e.ID, err)
}

// restart starts on the engine a run that was recorded but whose start was
// never recorded (its process died in between), on the target its first
// start used. The engine's named start makes this safe if the first start
// did happen.
func (s *Executions) restart(ctx context.Context, e *turbocat.Execution) error {
	w, err := s.Workflows.WorkflowVersion(ctx, e.UserID, e.WorkflowID, e.WorkflowVersion)
	if err != nil {
		return err
	}
	target := ""
	if e.DeploymentID != nil && s.Deployments != nil {
		d, _, err := s.Deployments.DeploymentByID(ctx, *e.DeploymentID)
		if err != nil && turbocat.ErrorCodeOf(err) != turbocat.ENOTFOUND {
			return err
		}
		if err == nil && d.AliasRef != nil && d.CanaryWeight == nil {
			target = *d.AliasRef
		}
	}
	_, err = s.startEngine(ctx, w, e, target, "")
	return err
}

// startedEvent is the execution.started event of a run.
func startedEvent(e *turbocat.Execution) turbocat.Event {
	return turbocat.NewEvent(e.UserID, turbocat.EventExecutionStarted, map[string]any{"executionId": e.ID,
		"workflowId": e.WorkflowID, "workflowVersion": e.WorkflowVersion, "trigger": e.Trigger, "deploymentId": e.DeploymentID})
}

// startEngine publishes the version if needed (published is its engine
// reference when the caller knows it), starts the engine and records the
// start with its execution.started event; it returns the run as recorded
// (nil when its start had been recorded before). A run recorded started
// (prestart) under the reference the engine answers is returned as it is.
func (s *Executions) startEngine(ctx context.Context, w *turbocat.Workflow, e *turbocat.Execution, target, published string) (*turbocat.Execution, error) {
	execRef, err := s.startOnEngine(ctx, w, e, target, published)
	if err != nil {
		return nil, err
	}
	if e.EngineRef != nil && *e.EngineRef == execRef {
		return e, nil
	}
	if e.IsReplay() || e.EngineRef != nil {
		// A replay is a test: no webhook or bus event. A run recorded
		// started (prestart) wrote its event then.
		return s.Store.MarkStarted(ctx, e.ID, execRef)
	}
	return s.Store.MarkStarted(ctx, e.ID, execRef, startedEvent(e))
}

func (s *Executions) startOnEngine(ctx context.Context, w *turbocat.Workflow, e *turbocat.Execution, target, published string) (string, error) {
	input, _ := json.Marshal(map[string]string{"executionId": e.ID})
	if target != "" {
		return s.Engine.StartExecution(ctx, target, e.ID, input)
	}
	ref := published
	if ref == "" {
		var err error
		if ref, err = s.Publish(ctx, w); err != nil {
			return "", err
		}
	}
	execRef, err := s.Engine.StartExecution(ctx, ref, e.ID, input)
	if turbocat.ErrorCodeOf(err) == turbocat.ENOTFOUND {
		// The engine lost the published version (a local runtime without
		// its journal, a deleted machine): publish again, once.
		if ref, err = s.republish(ctx, w, ref); err != nil {
			return "", err
		}
		execRef, err = s.Engine.StartExecution(ctx, ref, e.ID, input)
	}
	return execRef, err
}

// republish publishes again a workflow version whose engine reference
// (lost) the engine no longer has: a pruned version, a machine deleted, a
// local runtime without its journal.
func (s *Executions) republish(ctx context.Context, w *turbocat.Workflow, lost string) (string, error) {
	if err := s.Store.ResetVersionEngineRef(ctx, w.ID, w.Version, lost); err != nil {
		return "", err
	}
	return s.Publish(ctx, w)
}

// Publish compiles and publishes a workflow version once; later runs and
// deployments reuse the engine's version reference.
func (s *Executions) Publish(ctx context.Context, w *turbocat.Workflow) (string, error) {
	ref, err := s.Store.VersionEngineRef(ctx, w.ID, w.Version)
	if err != nil || ref != "" {
		return ref, err
	}
	in, err := s.compileInput(ctx, w)
	if err != nil {
		return "", err
	}
	sm, err := compiler.Compile(in, compiler.Options{StepRunnerFunction: s.StepRunnerFunction})
	if err != nil {
		return "", fmt.Errorf("compile workflow %s version %d: %w", w.ID, w.Version, err)
	}
	def, err := compiler.MarshalCompactJSON(sm)
	if err != nil {
		return "", err
	}
	if b, err := compiler.Measure(sm); err == nil && b.Warning() != "" {
		s.Logger.WarnContext(ctx, "workflow near Step Functions' history limit", "workflow_id", w.ID, "version", w.Version,
			"history_events", b.HistoryEvents, "worst_case_history_events", b.WorstCaseHistoryEvents, "warning", b.Warning())
	}
	ref, err = s.Engine.PublishStateMachine(ctx, s.StateMachineName(w.ID), def)
	if err != nil {
		return "", fmt.Errorf("publish workflow %s version %d: %w", w.ID, w.Version, err)
	}
	return s.Store.SetVersionEngineRef(ctx, w.ID, w.Version, ref)
}

func (in ExecuteInput) trigger() string {
	if in.Trigger != "" {
		return in.Trigger
	}
	return turbocat.TriggerAPI
}

// compileInput is what a workflow version compiles from: the steps of
// llm agents compile to their tool loops, each turn and each tool call its
// own invocation. Agent types never change, so a version published once
// stays right; an agent given tools later loops in its steps' machines.
func (s *Executions) compileInput(ctx context.Context, w *turbocat.Workflow) (compiler.Workflow, error) {
	in := compiler.FromDomain(w)
	if s.Agents == nil {
		return in, nil
	}
	var ids []string
	for _, st := range w.Steps {
		if st.AgentID != "" && st.StepType() == turbocat.StepTypeAgent {
			ids = append(ids, st.AgentID)
		}
	}
	if len(ids) == 0 {
		return in, nil
	}
	types, err := s.Agents.OwnedAgents(ctx, w.UserID, ids)
	if err != nil {
		return in, fmt.Errorf("agent types of workflow %s: %w", w.ID, err)
	}
	for i, st := range w.Steps {
		if st.StepType() == turbocat.StepTypeAgent && types[st.AgentID] == turbocat.AgentLLM {
			in.Steps[i].Turns = true
		}
	}
	return in, nil
}

// StartDeployed starts a run of a deployment (webhook or schedule) for its
// owner, on the deployment's alias. A repeated idempotency key returns the
// first run.
func (s *Executions) StartDeployed(ctx context.Context, d *turbocat.Deployment, input json.RawMessage, trigger, idempotencyKey string) (*turbocat.Execution, error) {
	return s.startDeployed(ctx, d, input, trigger, idempotencyKey, ExecuteInput{})
}

// startDeployed starts a run of a deployment; call carries the execute
// call's priority and budgets (zero for webhooks and schedules).
func (s *Executions) startDeployed(ctx context.Context, d *turbocat.Deployment, input json.RawMessage, trigger, idempotencyKey string, call ExecuteInput) (*turbocat.Execution, error) {
	version, target := d.Version, ""
	if d.AliasRef != nil {
		target = *d.AliasRef
	}
	if d.CanaryWeight != nil && d.PreviousVersion != nil {
		// A canary: Turbocat picks the version (as the alias's routing
		// would) and starts it directly, so the run records the version it
		// really runs.
		target = ""
		if pick(100) >= *d.CanaryWeight {
			version = *d.PreviousVersion
		}
	}
	w := d.Workflow // loaded with the deployment, when it was
	if w == nil || w.Version != version {
		var err error
		if w, err = s.Workflows.WorkflowVersion(ctx, d.UserID, d.WorkflowID, version); err != nil {
			return nil, err
		}
	}
	if len(input) == 0 || string(input) == "null" {
		input = d.Input // the deployment's input for runs that bring none
	}
	if len(input) == 0 || string(input) == "null" {
		input = json.RawMessage(`{}`)
	}
	if err := validateInput(w.InputSchema, input); err != nil {
		return nil, err
	}
	id := d.ID
	ne := turbocat.NewExecution{WorkflowID: w.ID, WorkflowVersion: version, UserID: d.UserID, DeploymentID: &id, Trigger: trigger, Input: input,
		Priority: call.Priority, MaxCostUSD: call.MaxCostUSD, MaxTokens: call.MaxTokens}
	if idempotencyKey != "" {
		ne.IdempotencyKey = &idempotencyKey
	}
	return s.start(ctx, w, ne, target)
}

// Cancel stops a running execution and marks it cancelled.
func (s *Executions) Cancel(ctx context.Context, actor *turbocat.Actor, id string) (*turbocat.Execution, error) {
	e, err := s.Store.Execution(ctx, actor.UserID, id)
	if err != nil {
		return nil, err
	}
	if _, err := s.engine(); err != nil {
		return nil, err
	}
	switch e.Status {
	case turbocat.ExecutionQueued, turbocat.ExecutionPending, turbocat.ExecutionRunning, turbocat.ExecutionWaiting:
	default:
		return nil, turbocat.Errorf(turbocat.ECONFLICT, "execution is already %s", e.Status)
	}
	// Child runs end with their parent: waits, approvals and sub-workflows
	// all stop.
	defer s.cancelChildren(context.WithoutCancel(ctx), e.UserID, e.ID)
	if e.EngineRef != nil {
		if err := s.Engine.StopExecution(ctx, *e.EngineRef, "Turbocat.Cancelled", "cancelled by the user"); err != nil {
			return nil, fmt.Errorf("stop execution %s: %w", e.ID, err)
		}
	}
	errJSON, _ := json.Marshal(map[string]string{"error": "Turbocat.Cancelled", "cause": "cancelled by the user"})
	events := []turbocat.Event{turbocat.NewEvent(e.UserID, turbocat.EventExecutionCancelled, map[string]any{"executionId": e.ID, "workflowId": e.WorkflowID})}
	if e.IsReplay() {
		events = nil // a replay is a test: no webhook or bus event
	}
	if done, err := s.Store.FinishExecution(ctx, e.ID, turbocat.Outcome{Status: turbocat.ExecutionCancelled, Error: errJSON,
		Events: events}); err != nil {
		return nil, err
	} else if done {
		s.Metrics.ExecutionFinished(turbocat.ExecutionCancelled)
		if e.Status != turbocat.ExecutionQueued {
			s.StartQueued(ctx, e.UserID, e.WorkflowID) // its slot is free
		}
	}
	return s.Store.Execution(ctx, actor.UserID, id)
}

// Retry starts a new run of the same workflow version and input that reuses
// the outputs of the steps that completed: only the failed steps and what
// depends on them run again.
func (s *Executions) Retry(ctx context.Context, actor *turbocat.Actor, id string) (*turbocat.Execution, error) {
	old, err := s.Store.Execution(ctx, actor.UserID, id)
	if err != nil {
		return nil, err
	}
	if _, err := s.engine(); err != nil {
		return nil, err
	}
	if !actor.HasScope("workflows:execute") {
		return nil, turbocat.Errorf(turbocat.EFORBIDDEN, "retrying runs the workflow again: the key needs workflows:execute")
	}
	switch old.Status {
	case turbocat.ExecutionFailed, turbocat.ExecutionCancelled, turbocat.ExecutionTimedOut:
	default:
		return nil, turbocat.Errorf(turbocat.ECONFLICT, "only a failed, cancelled or timed-out execution can be retried; this one is %s", old.Status)
	}
	if old.IsReplay() {
		// A retry runs for real: it would call the agents the replay did not.
		source := "the run it replayed"
		if old.ReplayOf != nil {
			source = *old.ReplayOf
		}
		return nil, turbocat.Errorf(turbocat.ECONFLICT, "execution %s is a replay, which is not retried (a retry would call its agents for real): replay %s again", old.ID, source)
	}
	w, err := s.Workflows.WorkflowVersion(ctx, actor.UserID, old.WorkflowID, old.WorkflowVersion)
	if err != nil {
		return nil, err
	}
	steps, err := s.Store.ExecutionSteps(ctx, actor.UserID, old.ID)
	if err != nil {
		return nil, err
	}
	var reuse []string
	for _, st := range steps {
		if st.Status == turbocat.StepCompleted {
			reuse = append(reuse, st.StepKey)
		}
		for _, it := range st.Iterations {
			if it.Status == turbocat.StepCompleted {
				reuse = append(reuse, it.StepKey) // completed items of a for-each step that failed
			}
		}
	}
	oldID := old.ID
	return s.start(ctx, w, turbocat.NewExecution{WorkflowID: old.WorkflowID, WorkflowVersion: old.WorkflowVersion, UserID: actor.UserID,
		DeploymentID: old.DeploymentID, Trigger: turbocat.TriggerRetry, Input: old.InputData, RetryOf: &oldID, ReuseSteps: reuse,
		Priority: old.Priority, MaxCostUSD: old.MaxCostUSD, MaxTokens: old.MaxTokens}, "")
}

// Waiter is implemented by engines that can block until an execution ends
// (the local runtime); others are polled.
type Waiter interface {
	WaitExecution(ctx context.Context, executionRef string) error
}

// WaitFor returns when an execution the caller has just read or started
// finishes or ctx ends, with its latest state either way (known's engine
// reference, when it has one, spares a read).
func (s *Executions) WaitFor(ctx context.Context, actor *turbocat.Actor, known *turbocat.Execution) (*turbocat.Execution, error) {
	userID, id := actor.UserID, known.ID
	if w, ok := s.Engine.(Waiter); ok {
		e := known
		if e.EngineRef == nil || e.UserID != userID {
			var err error
			if e, err = s.Store.Execution(ctx, userID, id); err != nil {
				return nil, err
			}
		}
		if e.EngineRef != nil && !Finished(e.Status) {
			// The run's row is final before its state machine ends (the
			// last Task finalizes it), so one read after the wait suffices.
			if err := w.WaitExecution(ctx, *e.EngineRef); err != nil && ctx.Err() == nil {
				return nil, err
			}
		}
	}
	delay := 5 * time.Millisecond
	for {
		e, err := s.Store.Execution(context.WithoutCancel(ctx), userID, id)
		if err != nil {
			return nil, err
		}
		if Finished(e.Status) {
			return e, nil
		}
		select {
		case <-ctx.Done():
			return e, nil
		case <-time.After(delay):
		}
		delay = min(delay*2, 100*time.Millisecond)
	}
}

// Finished reports whether an execution status is final.
func Finished(status string) bool {
	switch status {
	case turbocat.ExecutionCompleted, turbocat.ExecutionFailed, turbocat.ExecutionCancelled, turbocat.ExecutionTimedOut:
		return true
	}
	return false
}

// validateInput checks input against the workflow's JSON Schema.
func validateInput(schema, input json.RawMessage) error {
	if firstNonSpace(input) != '{' {
		return turbocat.ValidationError("invalid input", turbocat.FieldError{Field: "input", Message: "must be a JSON object"})
	}
	if len(schema) == 0 {
		return nil
	}
	s, err := executor.CompileSchema(schema)
	if err != nil {
		return turbocat.ValidationError("the workflow's inputSchema is invalid; fix it with PATCH", turbocat.FieldError{Field: "inputSchema", Message: err.Error()})
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(input))
	if err != nil {
		return turbocat.ValidationError("invalid input", turbocat.FieldError{Field: "input", Message: "not valid JSON"})
	}
	if err := s.Validate(doc); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			var details []turbocat.FieldError
			for _, c := range leaves(ve) {
				field := "input"
				for _, p := range c.InstanceLocation {
					field += "." + p
				}
				details = append(details, turbocat.FieldError{Field: field, Message: c.ErrorKind.LocalizedString(schemaPrinter)})
			}
			return turbocat.ValidationError("input does not match the workflow's inputSchema", details...)
		}
		return turbocat.ValidationError("input does not match the workflow's inputSchema", turbocat.FieldError{Field: "input", Message: err.Error()})
	}
	return nil
}

var schemaPrinter = message.NewPrinter(language.English)

func leaves(ve *jsonschema.ValidationError) []*jsonschema.ValidationError {
	if len(ve.Causes) == 0 {
		return []*jsonschema.ValidationError{ve}
	}
	var out []*jsonschema.ValidationError
	for _, c := range ve.Causes {
		out = append(out, leaves(c)...)
	}
	return out
}

// pick returns a uniformly random integer in [0, n).
func pick(n int) int {
	var b [8]byte
	_, _ = crand.Read(b[:])
	return int(binary.BigEndian.Uint64(b[:]) % uint64(n))
}

// ExecutionDetail is an execution with its steps.
type ExecutionDetail struct {
	*turbocat.Execution
	Steps []*turbocat.ExecutionStep `json:"steps"`
}

// Get returns one of the actor's executions with its steps.
func (s *Executions) Get(ctx context.Context, actor *turbocat.Actor, id string) (*ExecutionDetail, error) {
	e, err := s.Store.Execution(ctx, actor.UserID, id)
	if err != nil {
		return nil, err
	}
	steps, err := s.Store.ExecutionSteps(ctx, actor.UserID, e.ID)
	if err != nil {
		return nil, err
	}
	return &ExecutionDetail{Execution: e, Steps: steps}, nil
}

// List returns a page of the actor's executions.
func (s *Executions) List(ctx context.Context, actor *turbocat.Actor, f turbocat.ExecutionFilter, p turbocat.Page) (*turbocat.List[*turbocat.Execution], error) {
	return s.Store.ListExecutions(ctx, actor.UserID, f, p)
}

// Steps returns the steps of one of the actor's executions.
func (s *Executions) Steps(ctx context.Context, actor *turbocat.Actor, id string) ([]*turbocat.ExecutionStep, error) {
	return s.Store.ExecutionSteps(ctx, actor.UserID, id)
}

// Turns returns the model turns and tool calls a step of one of the
// actor's executions recorded (ENOTFOUND for another user's execution).
func (s *Executions) Turns(ctx context.Context, actor *turbocat.Actor, id, stepKey string) ([]*turbocat.StepTurn, error) {
	return s.Store.StepTurns(ctx, actor.UserID, id, stepKey)
}

// Logs returns log lines of one of the actor's executions.
func (s *Executions) Logs(ctx context.Context, actor *turbocat.Actor, id string, r turbocat.LogRange) ([]*turbocat.ExecutionLog, error) {
	return s.Store.ExecutionLogs(ctx, actor.UserID, id, r)
}

// Follow returns the status of one of the actor's executions and the text
// models generate in it while its steps run, until the returned func is
// called (a nil channel when this process has no live stream). ENOTFOUND
// for another user's execution.
func (s *Executions) Follow(ctx context.Context, actor *turbocat.Actor, id string) (string, <-chan turbocat.LiveText, func(), error) {
	status, _, err := s.Store.ExecutionStatus(ctx, actor.UserID, id)
	if err != nil || s.Live == nil {
		return status, nil, func() {}, err
	}
	ch, cancel := s.Live.Subscribe(id)
	return status, ch, cancel, nil
}

// Status returns the status of one of the actor's executions and its last
// log sequence number.
func (s *Executions) Status(ctx context.Context, actor *turbocat.Actor, id string) (string, int64, error) {
	return s.Store.ExecutionStatus(ctx, actor.UserID, id)
}

// requestHash identifies the request behind an idempotency key: the input
// (compacted, so formatting does not count) and the deployment it runs.
func requestHash(ne turbocat.NewExecution) []byte {
	h := sha256.New()
	var buf bytes.Buffer
	if json.Compact(&buf, ne.Input) == nil {
		h.Write(buf.Bytes())
	} else {
		h.Write(ne.Input)
	}
	if ne.DeploymentID != nil {
		h.Write([]byte("\x00" + *ne.DeploymentID))
	}
	return h.Sum(nil)
}

// StartQueued starts the queued runs of a workflow that its
// maxConcurrentRuns now lets start, highest priority first. It is called
// whenever one of its runs ends (locally from the engine's status change,
// on AWS from the status-change event) and by the sweep; failures are
// logged and left to the next call.
func (s *Executions) StartQueued(ctx context.Context, userID, workflowID string) {
	if s.Engine == nil {
		return
	}
	if s.TrackQueued {
		if _, ok := s.queued.Load(workflowID); !ok {
			return
		}
	}
	w, err := s.Workflows.Workflow(ctx, userID, workflowID)
	if err != nil {
		if turbocat.ErrorCodeOf(err) != turbocat.ENOTFOUND {
			s.logger().Warn("start queued runs: load workflow", "workflow_id", workflowID, "error", err.Error())
		}
		return
	}
	for {
		e, left, err := s.Store.PromoteQueued(ctx, workflowID, w.MaxConcurrentRuns)
		if err != nil {
			s.logger().Warn("start queued runs", "workflow_id", workflowID, "error", err.Error())
			return
		}
		if left == 0 {
			s.queued.Delete(workflowID)
		}
		if e == nil {
			return
		}
		if err := s.restart(ctx, e); err != nil {
			// Left pending without an engine reference: the sweep starts
			// it, or fails it with the reason.
			s.logger().Warn("start queued run", "execution_id", e.ID, "error", err.Error())
			return
		}
	}
}

func (s *Executions) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// anyQueued reports whether some workflow may have queued runs (always,
// where queues are not tracked).
func (s *Executions) anyQueued() bool {
	if !s.TrackQueued {
		return true
	}
	found := false
	s.queued.Range(func(_, _ any) bool { found = true; return false })
	return found
}

// tighter returns the lower of two optional bounds (nil: none).
func tighter[T int64 | float64](a, b *T) *T {
	switch {
	case a == nil:
		return b
	case b == nil || *a < *b:
		return a
	}
	return b
}

// UsageReport is a user's model spend: this calendar month (UTC) against
// the monthly budget, and the last days by day and by workflow.
type UsageReport struct {
	MonthToDate      turbocat.Spend           `json:"monthToDate"`
	MonthlyBudgetUSD *float64                 `json:"monthlyBudgetUsd"`
	Since            time.Time                `json:"since"`
	ByDay            []turbocat.DaySpend      `json:"byDay"`
	ByWorkflow       []turbocat.WorkflowSpend `json:"byWorkflow"`
}

// MaxUsageDays bounds the days a usage report covers.
const MaxUsageDays = 366

// Usage reports the actor's model spend over the last days (1 to 366),
// with the month to date and the monthly budget.
func (s *Executions) Usage(ctx context.Context, actor *turbocat.Actor, days int, budget *float64, now time.Time) (*UsageReport, error) {
	if days < 1 || days > MaxUsageDays {
		return nil, turbocat.ValidationError("invalid days", turbocat.FieldError{Field: "days", Message: fmt.Sprintf("must be 1 to %d", MaxUsageDays)})
	}
	now = now.UTC()
	since := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1-days)
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	from := since
	if month.Before(from) {
		from = month
	}
	byDay, byWorkflow, err := s.Store.Usage(ctx, actor.UserID, from)
	if err != nil {
		return nil, err
	}
	r := &UsageReport{MonthlyBudgetUSD: budget, Since: since, ByDay: []turbocat.DaySpend{}, ByWorkflow: byWorkflow}
	if r.ByWorkflow == nil {
		r.ByWorkflow = []turbocat.WorkflowSpend{}
	}
	for _, d := range byDay {
		if d.Day >= month.Format(time.DateOnly) {
			r.MonthToDate.Runs += d.Runs
			r.MonthToDate.CostUSD += d.CostUSD
			r.MonthToDate.InputTokens += d.InputTokens
			r.MonthToDate.OutputTokens += d.OutputTokens
		}
		if d.Day >= since.Format(time.DateOnly) {
			r.ByDay = append(r.ByDay, d)
		}
	}
	return r, nil
}
