package steprunner

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/turbocat/turbocat/internal/cond"
	"github.com/turbocat/turbocat/internal/tmpl"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// Actions of control-flow states (see the compiler's package comment).
const (
	ActionCheck    = "check"    // evaluate a step's condition → {"run"}
	ActionItems    = "items"    // a for-each step's list → {"run", "items"}
	ActionItem     = "item"     // one iteration of a for-each step
	ActionCollect  = "collect"  // a for-each or workflow step's output
	ActionWait     = "wait"     // a wait step starts waiting → {"until"}
	ActionResume   = "resume"   // a wait step is over
	ActionApproval = "approval" // an approval starts waiting on its task token
	ActionChild    = "child"    // a workflow step's child run → {"executionId", "stateMachineArn"}
	ActionContinue = "continue" // a step failed with onError continue
)

// Error names of control flow.
const (
	ErrCondition      = "Step.ConditionError"
	ErrForEachTooLong = "Step.ForEachTooLarge"
	ErrChildFailed    = "Step.ChildFailed"
	ErrWorkflow       = "Step.WorkflowUnavailable"
)

// MaxForEachItems is the longest list a forEach step runs.
const MaxForEachItems = 1000

// ChildStarter starts the child run of a workflow step: it records the
// run (linked to its parent) and publishes its workflow's version,
// returning the child's execution id and the version reference to start.
// The same parent, step and attempt always give the same child.
type ChildStarter interface {
	StartChild(ctx context.Context, parent *turbocat.Execution, step *turbocat.WorkflowStep, attempt int, input json.RawMessage) (childID, target string, err error)
}

// LinkSigner makes the signed one-time approve and reject links of a
// waiting approval (valid until expires, and only while nonce is the
// step's current one).
type LinkSigner func(executionID, stepKey, nonce string, expires time.Time) (approveURL, rejectURL string)

// flowStore returns the control-flow store, or an error when the runner
// has none (a misconfiguration).
func (r *Runner) flowStore() (turbocat.FlowStore, error) {
	if r.Flow != nil {
		return r.Flow, nil
	}
	if f, ok := r.Store.(turbocat.FlowStore); ok {
		return f, nil
	}
	return nil, errors.New("steprunner: no FlowStore configured")
}

// flowAction runs a control-flow action; handled reports whether p named
// one.
func (r *Runner) flowAction(ctx context.Context, p Payload) (out any, handled bool, err error) {
	switch p.Action {
	case ActionCheck:
		run, err := r.Check(ctx, p.ExecutionID, p.StepKey)
		return map[string]bool{"run": run}, true, err
	case ActionItems:
		run, items, err := r.Items(ctx, p.ExecutionID, p.StepKey)
		return map[string]any{"run": run, "items": items}, true, err
	case ActionItem:
		if p.Index == nil {
			return nil, true, &turbocat.StepError{Name: ErrInput, Cause: "item action without an index"}
		}
		return nil, true, r.RunItem(ctx, p.ExecutionID, p.StepKey, *p.Index)
	case ActionCollect:
		return nil, true, r.Collect(ctx, p.ExecutionID, p.StepKey)
	case ActionWait:
		until, err := r.Wait(ctx, p.ExecutionID, p.StepKey)
		return map[string]string{"until": until}, true, err
	case ActionResume:
		return nil, true, r.Resume(ctx, p.ExecutionID, p.StepKey)
	case ActionApproval:
		return nil, true, r.Approval(ctx, p.ExecutionID, p.StepKey, p.TaskToken)
	case ActionChild:
		id, target, err := r.Child(ctx, p.ExecutionID, p.StepKey)
		return map[string]string{"executionId": id, "stateMachineArn": target}, true, err
	case ActionContinue:
		return map[string]string{"executionId": p.ExecutionID}, true, r.RecordFailure(ctx, p.ExecutionID, p.StepKey, p.Error)
	}
	return nil, false, nil
}

// states loads what conditions read: the execution and its steps.
func (r *Runner) states(ctx context.Context, executionID string) (*turbocat.Execution, map[string]*turbocat.ExecutionStep, error) {
	f, err := r.flowStore()
	if err != nil {
		return nil, nil, err
	}
	e, err := r.Store.ExecutionByID(ctx, executionID)
	if err != nil {
		return nil, nil, fmt.Errorf("load execution %s: %w", executionID, err)
	}
	st, err := f.StepStates(ctx, executionID)
	if err != nil {
		return nil, nil, err
	}
	return e, st, nil
}

// decide applies a step's condition, or without one the skip rule (a step
// whose every dependency was skipped is skipped), and records the step
// skipped when it does not run. A step already done does not run again.
func (r *Runner) decide(ctx context.Context, e *turbocat.Execution, w *turbocat.Workflow, step *turbocat.WorkflowStep, states map[string]*turbocat.ExecutionStep) (bool, error) {
	if cur := states[step.Key]; cur != nil {
		switch cur.Status {
		case turbocat.StepSkipped, turbocat.StepCompleted:
			return false, nil // decided before, or done in the run a retry reuses
		case turbocat.StepPending:
		default:
			return true, nil
		}
	}
	if terminal(e.Status) {
		return false, &turbocat.StepError{Name: ErrExecutionFinished, Cause: "execution is " + e.Status}
	}
	run, reason := true, ""
	if step.When != "" {
		ok, err := cond.Eval(step.When, condVars(e, w, states))
		if err != nil {
			return false, &turbocat.StepError{Name: ErrCondition, Cause: fmt.Sprintf("the condition of step %s could not be decided: %v", step.Key, err)}
		}
		run, reason = ok, "its condition is false: "+step.When
	} else if len(step.DependsOn) > 0 {
		run = false
		for _, d := range step.DependsOn {
			if s := states[d]; s == nil || s.Status != turbocat.StepSkipped {
				run = true
				break
			}
		}
		reason = "every step it depends on was skipped"
	}
	if run {
		return true, nil
	}
	f, err := r.flowStore()
	if err != nil {
		return false, err
	}
	status, err := f.SkipStep(ctx, e.ID, step.Key, errorJSON("Step.Skipped", reason))
	if err != nil {
		return false, err
	}
	return status != turbocat.StepSkipped, nil
}

// condVars are the variables a condition sees.
func condVars(e *turbocat.Execution, w *turbocat.Workflow, states map[string]*turbocat.ExecutionStep) cond.Vars {
	v := cond.Vars{Steps: map[string]cond.Step{}, Execution: map[string]any{"id": e.ID}}
	_ = json.Unmarshal(e.InputData, &v.Inputs)
	if e.StartedAt != nil {
		v.Execution["startedAt"] = e.StartedAt.UTC().Format(time.RFC3339Nano)
	}
	for _, s := range w.Steps {
		cs := cond.Step{Status: turbocat.StepPending}
		if st := states[s.Key]; st != nil {
			cs.Status = st.Status
			if st.Status == turbocat.StepCompleted {
				_ = json.Unmarshal(st.Output, &cs.Output)
			}
			if st.Status == turbocat.StepFailed {
				_ = json.Unmarshal(st.Error, &cs.Error)
			}
		}
		v.Steps[s.Key] = cs
	}
	return v
}

// Check decides whether a gated step runs (see decide).
func (r *Runner) Check(ctx context.Context, executionID, stepKey string) (bool, error) {
	w, step, err := r.stepOf(ctx, executionID, stepKey)
	if err != nil {
		return false, err
	}
	e, states, err := r.states(ctx, executionID)
	if err != nil {
		return false, err
	}
	return r.decide(ctx, e, w, step, states)
}

// Items starts a for-each step: its condition first (when it may be
// skipped), then its list, one pending iteration per item; it returns the
// item indexes the Map runs (none when the step is done).
func (r *Runner) Items(ctx context.Context, executionID, stepKey string) (bool, []int, error) {
	w, step, err := r.stepOf(ctx, executionID, stepKey)
	if err != nil {
		return false, nil, err
	}
	e, states, err := r.states(ctx, executionID)
	if err != nil {
		return false, nil, err
	}
	if cur := states[stepKey]; cur != nil && cur.Status == turbocat.StepCompleted {
		return true, []int{}, nil // reused from the run a retry repeats
	}
	run, err := r.decide(ctx, e, w, step, states)
	if err != nil || !run {
		return false, []int{}, err
	}
	f, _ := r.flowStore()
	fail := func(name, cause string) (bool, []int, error) {
		_, _, _ = f.BeginStep(ctx, executionID, stepKey, nil)
		_, _ = f.FinishControlStep(ctx, executionID, stepKey, turbocat.StepFailed, nil, errorJSON(name, cause))
		return false, nil, &turbocat.StepError{Name: name, Cause: cause}
	}
	values, err := templateValues(e, outputsOf(w, states))
	if err != nil {
		return false, nil, err
	}
	list, err := tmpl.RenderContext(ctx, mustJSON(step.ForEach), tmpl.Context{Values: values, NullPropagates: true})
	if err != nil {
		return fail(ErrInput, fmt.Sprintf("forEach of step %s: %v", stepKey, err))
	}
	var items []json.RawMessage
	if string(list) == "null" {
		items = []json.RawMessage{}
	} else if err := json.Unmarshal(list, &items); err != nil {
		return fail(ErrInput, fmt.Sprintf("forEach of step %s must give a list; %s gave %s", stepKey, step.ForEach, truncate(string(list), 200)))
	}
	if len(items) > MaxForEachItems {
		return fail(ErrForEachTooLong, fmt.Sprintf("forEach of step %s gave %d items; a step runs at most %d inline: split the list upstream", stepKey, len(items), MaxForEachItems))
	}
	cur, begun, err := f.BeginStep(ctx, executionID, stepKey, mustJSON(map[string]any{"forEach": step.ForEach, "items": len(items)}))
	if err != nil {
		return false, nil, err
	}
	if !begun && cur.Status != turbocat.StepRunning {
		return true, []int{}, nil
	}
	if len(items) > 0 {
		if err := f.AddIterations(ctx, executionID, stepKey, list); err != nil {
			return false, nil, err
		}
	}
	idx := make([]int, len(items))
	for i := range idx {
		idx[i] = i
	}
	return true, idx, nil
}

// RunItem runs one iteration of a for-each step, recorded as
// "<key>[<index>]" with its own attempts; its idempotency key is
// "<executionId>:<key>[<index>]".
func (r *Runner) RunItem(ctx context.Context, executionID, stepKey string, index int) error {
	w, step, err := r.stepOf(ctx, executionID, stepKey)
	if err != nil {
		return err
	}
	_, err = r.runStep(ctx, executionID, w, step, IterationKey(stepKey, index), &index, false)
	var se *turbocat.StepError
	if errors.As(err, &se) {
		return &turbocat.StepError{Name: se.Name, Cause: fmt.Sprintf("item %d: %s", index, se.Cause), Retryable: se.Retryable}
	}
	return err
}

// IterationKey is the record key of a for-each step's iteration.
func IterationKey(stepKey string, index int) string { return fmt.Sprintf("%s[%d]", stepKey, index) }

// Collect records the output of a for-each step (its items' outputs, in
// order) or of a workflow step (its child run's output).
func (r *Runner) Collect(ctx context.Context, executionID, stepKey string) error {
	_, step, err := r.stepOf(ctx, executionID, stepKey)
	if err != nil {
		return err
	}
	f, err := r.flowStore()
	if err != nil {
		return err
	}
	if step.StepType() == turbocat.StepTypeWorkflow {
		return r.collectChild(ctx, f, executionID, stepKey)
	}
	its, err := f.Iterations(ctx, executionID, stepKey)
	if err != nil {
		return err
	}
	outs := make([]json.RawMessage, len(its))
	for i, it := range its {
		if it.Status != turbocat.StepCompleted {
			return &turbocat.StepError{Name: ErrInput, Cause: fmt.Sprintf("item %d of step %s is %s", i, stepKey, it.Status)}
		}
		outs[i] = it.Output
		if len(outs[i]) == 0 {
			outs[i] = json.RawMessage("null")
		}
	}
	_, err = f.FinishControlStep(ctx, executionID, stepKey, turbocat.StepCompleted, mustJSON(outs), nil)
	return err
}

func (r *Runner) collectChild(ctx context.Context, f turbocat.FlowStore, executionID, stepKey string) error {
	states, err := f.StepStates(ctx, executionID)
	if err != nil {
		return err
	}
	cur := states[stepKey]
	if cur == nil || cur.Status == turbocat.StepCompleted {
		return nil
	}
	full, err := r.stepRecord(ctx, executionID, stepKey)
	if err != nil {
		return err
	}
	if full.ChildExecutionID == nil {
		return &turbocat.StepError{Name: ErrChildFailed, Cause: "the step started no child run"}
	}
	child, err := r.Store.ExecutionByID(ctx, *full.ChildExecutionID)
	if err != nil {
		return err
	}
	if child.Status != turbocat.ExecutionCompleted {
		name, cause := decodeError(child.Error)
		cause = fmt.Sprintf("child run %s is %s: %s: %s", child.ID, child.Status, name, cause)
		_, _ = f.FinishControlStep(ctx, executionID, stepKey, turbocat.StepFailed, nil, errorJSON(ErrChildFailed, cause))
		return &turbocat.StepError{Name: ErrChildFailed, Cause: cause}
	}
	out := child.OutputData
	if len(out) == 0 {
		out = json.RawMessage("null")
	}
	_, err = f.FinishControlStep(ctx, executionID, stepKey, turbocat.StepCompleted, out, nil)
	return err
}

// stepRecord reads one step's full record.
func (r *Runner) stepRecord(ctx context.Context, executionID, stepKey string) (*turbocat.ExecutionStep, error) {
	f, err := r.flowStore()
	if err != nil {
		return nil, err
	}
	return f.StepRecord(ctx, executionID, stepKey)
}

// Wait starts a wait step: it records the step (and its run) waiting with
// its wake-up time, which it returns (RFC 3339, UTC) for the Wait state.
func (r *Runner) Wait(ctx context.Context, executionID, stepKey string) (string, error) {
	w, step, err := r.stepOf(ctx, executionID, stepKey)
	if err != nil {
		return "", err
	}
	f, err := r.flowStore()
	if err != nil {
		return "", err
	}
	e, states, err := r.states(ctx, executionID)
	if err != nil {
		return "", err
	}
	now := time.Now().UTC()
	cur := states[stepKey]
	if cur != nil && cur.Status == turbocat.StepCompleted {
		return now.Format(time.RFC3339), nil // reused: no wait
	}
	wake := now.Add(time.Duration(step.Seconds) * time.Second)
	if step.Until != "" {
		values, err := templateValues(e, outputsOf(w, states))
		if err != nil {
			return "", err
		}
		s, err := tmpl.RenderString(ctx, step.Until, tmpl.Context{Values: values})
		if err != nil {
			return "", &turbocat.StepError{Name: ErrInput, Cause: fmt.Sprintf("until of step %s: %v", stepKey, err)}
		}
		t, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
		if err != nil {
			return "", &turbocat.StepError{Name: ErrInput, Cause: fmt.Sprintf("until of step %s gave %q, not an RFC 3339 time such as 2026-01-02T15:04:05Z", stepKey, s)}
		}
		wake = t.UTC()
	}
	if wake.Before(now) {
		wake = now
	}
	wake = wake.Truncate(time.Second)
	if wake.Before(now) {
		wake = wake.Add(time.Second)
	}
	st, begun, err := f.BeginStep(ctx, executionID, stepKey, mustJSON(map[string]any{"until": wake}))
	if err != nil {
		return "", err
	}
	if !begun && st.Status == turbocat.StepWaiting && st.WakeAt != nil {
		return st.WakeAt.UTC().Format(time.RFC3339), nil // a repeated call: the first wake-up time stands
	}
	ev := turbocat.NewEvent(e.UserID, turbocat.EventStepWaiting, map[string]any{"executionId": e.ID, "workflowId": e.WorkflowID,
		"stepKey": stepKey, "type": turbocat.StepTypeWait, "wakeAt": wake})
	if err := f.WaitStep(ctx, executionID, stepKey, turbocat.StepWait{WakeAt: &wake}, ev); err != nil {
		return "", err
	}
	return wake.Format(time.RFC3339), nil
}

// Resume records a wait step completed after its Wait state.
func (r *Runner) Resume(ctx context.Context, executionID, stepKey string) error {
	f, err := r.flowStore()
	if err != nil {
		return err
	}
	_, err = f.FinishControlStep(ctx, executionID, stepKey, turbocat.StepCompleted,
		mustJSON(map[string]any{"resumedAt": time.Now().UTC().Format(time.RFC3339)}), nil)
	return err
}

// Approval records an approval step waiting on the Task's token, and the
// step.waiting event with its signed one-time approve and reject links.
// The step's timeoutSeconds is when it times out (the Task's timeout).
func (r *Runner) Approval(ctx context.Context, executionID, stepKey, token string) error {
	_, step, err := r.stepOf(ctx, executionID, stepKey)
	if err != nil {
		return err
	}
	if token == "" {
		return &turbocat.StepError{Name: ErrInput, Cause: "approval action without a task token"}
	}
	f, err := r.flowStore()
	if err != nil {
		return err
	}
	e, err := r.Store.ExecutionByID(ctx, executionID)
	if err != nil {
		return err
	}
	if terminal(e.Status) {
		return &turbocat.StepError{Name: ErrExecutionFinished, Cause: "execution is " + e.Status}
	}
	st, begun, err := f.BeginStep(ctx, executionID, stepKey, nil)
	if err != nil {
		return err
	}
	if !begun && st.Status != turbocat.StepRunning && st.Status != turbocat.StepWaiting {
		return nil // decided already
	}
	var wake *time.Time
	expires := time.Now().Add(7 * 24 * time.Hour)
	if step.TimeoutSeconds > 0 {
		t := time.Now().UTC().Add(time.Duration(step.TimeoutSeconds) * time.Second).Truncate(time.Second)
		wake, expires = &t, t
	}
	nonce := randomHex(16)
	data := map[string]any{"executionId": e.ID, "workflowId": e.WorkflowID, "stepKey": stepKey, "type": turbocat.StepTypeApproval,
		"timeoutAt": wake, "linksExpireAt": expires.UTC().Truncate(time.Second)}
	if r.Links != nil {
		if approve, reject := r.Links(e.ID, stepKey, nonce, expires); approve != "" {
			data["approveUrl"], data["rejectUrl"] = approve, reject
		}
	}
	ev := turbocat.NewEvent(e.UserID, turbocat.EventStepWaiting, data)
	return f.WaitStep(ctx, executionID, stepKey, turbocat.StepWait{WakeAt: wake, TaskToken: token, LinkNonce: nonce}, ev)
}

// Child starts a workflow step's child run (once per attempt) and returns
// its execution id and the state machine version to run.
func (r *Runner) Child(ctx context.Context, executionID, stepKey string) (string, string, error) {
	w, step, err := r.stepOf(ctx, executionID, stepKey)
	if err != nil {
		return "", "", err
	}
	if r.Children == nil {
		return "", "", &turbocat.StepError{Name: ErrWorkflow, Cause: "this server cannot start child runs"}
	}
	f, err := r.flowStore()
	if err != nil {
		return "", "", err
	}
	e, states, err := r.states(ctx, executionID)
	if err != nil {
		return "", "", err
	}
	if terminal(e.Status) {
		return "", "", &turbocat.StepError{Name: ErrExecutionFinished, Cause: "execution is " + e.Status}
	}
	if e.IsReplay() {
		return "", "", r.failControl(ctx, f, executionID, stepKey, ErrReplayUnsupported,
			fmt.Sprintf("step %s runs workflow %q: a replay does not start sub-workflow runs, which would call their agents for real", stepKey, step.Workflow))
	}
	values, err := templateValues(e, outputsOf(w, states))
	if err != nil {
		return "", "", err
	}
	inputs := step.Inputs
	if len(inputs) == 0 {
		inputs = json.RawMessage(`{}`)
	}
	input, err := tmpl.RenderContext(ctx, inputs, tmpl.Context{Values: values, NullPropagates: true})
	if err != nil {
		return "", "", r.failControl(ctx, f, executionID, stepKey, ErrInput, fmt.Sprintf("inputs of step %s: %v", stepKey, err))
	}
	st, _, err := f.BeginStep(ctx, executionID, stepKey, input)
	if err != nil {
		return "", "", err
	}
	id, target, err := r.Children.StartChild(ctx, e, step, st.Attempt, input)
	if err != nil {
		if te := turbocat.AsError(err); te != nil && te.Code != turbocat.EINTERNAL {
			return "", "", r.failControl(ctx, f, executionID, stepKey, ErrWorkflow, fmt.Sprintf("workflow %q: %s", step.Workflow, te.Message))
		}
		return "", "", err
	}
	if err := f.SetStepChild(ctx, executionID, stepKey, id); err != nil {
		return "", "", err
	}
	return id, target, nil
}

func (r *Runner) failControl(ctx context.Context, f turbocat.FlowStore, executionID, stepKey, name, cause string) error {
	_, _, _ = f.BeginStep(ctx, executionID, stepKey, nil)
	if _, err := f.FinishControlStep(ctx, executionID, stepKey, turbocat.StepFailed, nil, errorJSON(name, cause)); err != nil {
		return err
	}
	return &turbocat.StepError{Name: name, Cause: cause}
}

// RecordFailure records a step failed with the engine's error ({Error,
// Cause}) unless it is already done: a Task that timed out, a Map whose
// item failed, a child run that failed, a rejected approval.
func (r *Runner) RecordFailure(ctx context.Context, executionID, stepKey string, raw json.RawMessage) error {
	if stepKey == "" {
		return nil
	}
	f, err := r.flowStore()
	if err != nil {
		return err
	}
	states, err := f.StepStates(ctx, executionID)
	if err != nil {
		return err
	}
	cur := states[stepKey]
	if cur != nil {
		switch cur.Status {
		case turbocat.StepCompleted, turbocat.StepFailed, turbocat.StepSkipped, turbocat.StepCancelled:
			return nil
		}
	}
	var in struct{ Error, Cause string }
	_ = json.Unmarshal(raw, &in)
	if in.Error == "" {
		in.Error = "States.TaskFailed"
	}
	if cur == nil {
		if _, _, err := f.BeginStep(ctx, executionID, stepKey, nil); err != nil {
			return err
		}
	}
	_, err = f.FinishControlStep(ctx, executionID, stepKey, turbocat.StepFailed, nil, errorJSON(in.Error, lambdaCause(in.Cause)))
	return err
}

// lambdaCause unwraps a Lambda error's cause ({"errorMessage"}) on AWS.
func lambdaCause(cause string) string {
	var le struct {
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal([]byte(cause), &le) == nil && le.ErrorMessage != "" {
		return le.ErrorMessage
	}
	return cause
}

// needsNulls reports whether steps of w may end without an output that
// later steps read (skipped, or failed with onError continue).
func needsNulls(w *turbocat.Workflow) bool {
	for _, s := range w.Steps {
		if s.When != "" || s.OnError == turbocat.OnErrorContinue {
			return true
		}
	}
	return false
}

// withNulls gives every step without an output a null one: a skipped (or
// failed, continued) step's output reads as null downstream.
func withNulls(w *turbocat.Workflow, outputs map[string]json.RawMessage) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(w.Steps))
	for _, s := range w.Steps {
		out[s.Key] = json.RawMessage("null")
	}
	for k, v := range outputs {
		out[k] = v
	}
	return out
}

// outputsOf returns the outputs templates read (null for a step without
// one) from step states.
func outputsOf(w *turbocat.Workflow, states map[string]*turbocat.ExecutionStep) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(w.Steps))
	for _, s := range w.Steps {
		out[s.Key] = json.RawMessage("null")
		if st := states[s.Key]; st != nil && st.Status == turbocat.StepCompleted && len(st.Output) > 0 {
			out[s.Key] = st.Output
		}
	}
	return out
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage("null")
	}
	return b
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = crand.Read(b)
	return hex.EncodeToString(b)
}
