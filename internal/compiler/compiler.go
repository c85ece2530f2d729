// Package compiler compiles a Turbocat workflow (a DAG of steps) into an
// Amazon States Language state machine (JSONPath query language) that AWS Step
// Functions and Turbocat's local runtime execute.
//
// # Shape of a compiled machine
//
// The state carries only {"executionId": ...}: every Task discards its result
// (ResultPath null), so step inputs and outputs stay in Postgres, the state
// never grows and secrets never enter the execution history.
//
// Each step is one Task state named "Step <key>" that invokes the steprunner
// (arn:aws:states:::lambda:invoke) with the payload
//
//	{"action": "step", "executionId.$": "$.executionId", "stepKey": "<key>"}
//
// Its Retry list is the AWS-recommended retrier for transient Lambda service
// errors followed by the step's own retry policy; its TimeoutSeconds is the
// step's. The last step of the top-level sequence carries "finalize": true in
// its payload: after running the step, the steprunner finalizes the execution
// (output, completed status, duration) in the same invocation, which saves the
// transitions of a separate Finalize Task and Succeed state (the steprunner
// must make the pair idempotent: a retried invocation finds the step done and
// finalizes). When the workflow ends with several sink steps (a Parallel
// state), or with Options.SeparateFinalize, a separate "Finalize" Task
// ({"action": "finalize"}) ends the machine instead; its failure goes to
// "Fail execution" without a stepKey. No Succeed state is emitted: a state
// with "End": true ends the execution successfully for one transition less.
//
// # Failure path
//
// Every step Task catches States.ALL with ResultPath "$.error" and goes to a
// Pass state "Failed <key>" that writes the step key into "$.error.stepKey",
// so the error becomes {"Error", "Cause", "stepKey"}.
//
// At the top level the Pass continues to the Task "Fail execution", which
// invokes the steprunner with
//
//	{"action": "fail", "executionId.$": "$.executionId", "error.$": "$.error"}
//
// and then to the Fail state "Execution failed".
//
// Inside a Parallel branch the Pass continues to the branch's Pass "Encode
// failure (Parallel N branch M)", which turns that error object into JSON
// text ({"cause": States.JsonToString($.error)}), and then to the Fail state
// "Branch failed (Parallel N branch M)", which fails with the error
// Turbocat.StepFailed and that text as its cause (CausePath "$.cause"; a
// plain reference path, which every runtime supports, rather than an
// intrinsic function in CausePath). A Parallel inside a branch has
// no Catch, so the error fails every enclosing Parallel unchanged. A
// top-level Parallel catches Turbocat.StepFailed into "$.error" and goes to
// the Pass "Unwrap branch failure", which turns the cause back into the
// object (States.StringToJson) before "Fail execution"; any other error of a
// Parallel goes to "Fail execution" as it is, without stepKey. So the fail
// action always receives {"Error", "Cause", "stepKey"?}. It must be
// idempotent (Task invocations are at-least-once). None of these states is on
// the path of a successful run.
//
// # Concurrency
//
// The DAG is decomposed by dag.Graph.Schedule into nested series and parallel
// blocks; a series block is a chain of states, a parallel block is a Parallel
// state (ResultPath null) with one branch per child. Series-parallel DAGs
// compile exactly: no concurrency is lost and no false dependency is added.
// Other DAGs (those containing an "N": a→c, b→c, b→d) cannot be expressed
// exactly with Parallel states; the scheduler cuts them at a level boundary
// into series(lower, upper), choosing the cut that adds the fewest orderings,
// and decomposes each half again. The result respects every dependency and,
// with equal step durations, finishes as early as the DAG allows (the longest
// chain is never lengthened). Worst case: with unequal durations a step of the
// upper half may wait for an unrelated slow step of the lower half, once per
// cut; for the "N", d waits for a although it only depends on b.
//
// Output is deterministic: states are named from step keys, Parallel states
// are numbered in document order ("Parallel 1", "Parallel 2", ...), and the
// JSON (MarshalJSON) has sorted keys.
package compiler

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/turbocat/turbocat/internal/asl"
	"github.com/turbocat/turbocat/internal/dag"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// DefaultStepRunnerFunction is the FunctionName placed in every Task when
// Options.StepRunnerFunction is empty: a definition substitution that the
// deployer replaces (CloudFormation DefinitionSubstitutions) and the local
// runtime resolves by name.
const DefaultStepRunnerFunction = "${StepRunnerFunctionArn}"

// LambdaInvokeResource is the Resource of every Task: the optimized Lambda
// integration of Step Functions.
const LambdaInvokeResource = "arn:aws:states:::lambda:invoke"

// ErrStepFailed is the error a Parallel branch fails with when one of its
// steps fails; its cause is the JSON text of {"Error", "Cause", "stepKey"}.
const ErrStepFailed = "Turbocat.StepFailed"

// Limits on numeric fields, as Step Functions accepts them.
const (
	maxASLInt       = 99999999
	maxDelayLimit   = 31622400
	maxNameLen      = 80
	defaultMaxSteps = dag.DefaultMaxNodes
)

// Workflow is the input of Compile: one version of a workflow.
type Workflow struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
	Name    string `json:"name"`
	Steps   []Step `json:"steps"`
	// TimeoutSeconds bounds the whole execution; 0 means no bound.
	TimeoutSeconds int `json:"timeoutSeconds,omitempty"`
}

// Step is one step of a workflow.
type Step struct {
	Key       string       `json:"key"`
	DependsOn []string     `json:"dependsOn,omitempty"`
	Retry     *RetryPolicy `json:"retry,omitempty"`
	// TimeoutSeconds bounds one attempt of the step; 0 means no bound.
	TimeoutSeconds int `json:"timeoutSeconds,omitempty"`
	// Type is agent (""), wait, approval or workflow (see flow.go).
	Type string `json:"type,omitempty"`
	// When is the step's condition (evaluated by the steprunner; the
	// compiler only needs to know there is one).
	When string `json:"when,omitempty"`
	// ForEach, when set, runs the step once per item in a Map state, at
	// most MaxConcurrency at a time (0: DefaultMaxConcurrency).
	ForEach        string `json:"forEach,omitempty"`
	MaxConcurrency int    `json:"maxConcurrency,omitempty"`
	// OnError is fail ("") or continue.
	OnError string `json:"onError,omitempty"`
	// Turns marks a step whose agent is an llm agent: its tool loop
	// compiles into the machine, each model turn and each tool call its
	// own Task (see flow.go). A forEach step runs each item's loop whole.
	Turns bool `json:"turns,omitempty"`
}

// RetryPolicy is a step's retry settings, compiled into an ASL Retrier.
type RetryPolicy struct {
	// MaxAttempts is the number of retries after the first attempt (ASL
	// semantics); 0 disables the step's retrier.
	MaxAttempts int `json:"maxAttempts"`
	// IntervalSeconds is the wait before the first retry; 0 means the ASL
	// default (1).
	IntervalSeconds int `json:"intervalSeconds,omitempty"`
	// BackoffRate multiplies the wait at each retry; 0 means the ASL default
	// (2.0).
	BackoffRate float64 `json:"backoffRate,omitempty"`
	// MaxDelaySeconds caps the wait; 0 means no cap.
	MaxDelaySeconds int `json:"maxDelaySeconds,omitempty"`
	// Errors are the error names retried; empty means DefaultRetryErrors.
	Errors []string `json:"errors,omitempty"`
}

// Options tunes compilation. The zero value is ready to use.
type Options struct {
	// StepRunnerFunction is the FunctionName of the steprunner; "" means
	// DefaultStepRunnerFunction.
	StepRunnerFunction string
	// MaxSteps bounds the number of steps; 0 means dag.DefaultMaxNodes.
	MaxSteps int
	// SeparateFinalize always ends the machine with the "Finalize" Task
	// instead of folding finalization into a single last step: one more
	// transition per run, for a steprunner that does not implement
	// "finalize": true on a step action.
	SeparateFinalize bool
}

// DefaultRetryErrors are the error names a step retry policy without Errors
// retries: every executor error reported as retryable (executor.
// RetryableErrorNames; a test keeps the two lists equal), a Task timeout
// (States.Timeout) and an unhandled steprunner failure (Lambda.Unknown: a
// crash, out of memory or a function timeout).
var DefaultRetryErrors = []string{
	"Executor.Internal", "Code.Timeout",
	"Api.Http5xx", "Api.RateLimited", "Api.Timeout", "Api.ConnectionFailed",
	"Llm.RateLimited", "Llm.ServerError", "Llm.Timeout", "Llm.ConnectionFailed", "Llm.InvalidOutput",
	"States.Timeout", "Lambda.Unknown",
}

// lambdaRetrier retries transient Lambda service errors as AWS recommends in
// "Handle Lambda service exceptions"
// (https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html):
// ClientExecutionTimeoutException, ServiceException, AWSLambdaException and
// SdkClientException with IntervalSeconds 2, MaxAttempts 6, BackoffRate 2. The
// same page names Lambda.TooManyRequestsException as the error when Lambda
// hits its invocation limit; it is transient too, so it is retried alike. The
// retrier comes first so that these errors never consume a step's own
// retries.
func lambdaRetrier() *asl.Retrier {
	return &asl.Retrier{
		ErrorEquals: []string{
			"Lambda.ClientExecutionTimeoutException",
			"Lambda.ServiceException",
			"Lambda.AWSLambdaException",
			"Lambda.SdkClientException",
			"Lambda.TooManyRequestsException",
		},
		IntervalSeconds: ptr(2),
		MaxAttempts:     ptr(6),
		BackoffRate:     ptr(2.0),
	}
}

// storeRetrier retries a step runner invocation that failed because the
// database was unavailable (turbocat.ErrStoreUnavailable): every 1, 2, 4,
// 8, 16, then 30 seconds, for about five minutes, so a database restart or
// fail-over never fails a run. Like the Lambda retrier it comes before the
// step's own retrier and never consumes its attempts.
func storeRetrier() *asl.Retrier {
	return &asl.Retrier{
		ErrorEquals:     []string{turbocat.ErrStoreUnavailable},
		IntervalSeconds: ptr(1),
		MaxAttempts:     ptr(14),
		BackoffRate:     ptr(2.0),
		MaxDelaySeconds: ptr(30),
	}
}

// Compile validates wf and compiles it into a state machine. Invalid input
// yields an error wrapping a *dag.ValidationError whose problems carry field
// paths such as "steps[2].retry.maxAttempts".
func Compile(wf Workflow, opts Options) (*asl.StateMachine, error) {
	g, err := validate(wf, opts)
	if err != nil {
		return nil, fmt.Errorf("compile workflow %s: %w", wf.ID, err)
	}
	fn := opts.StepRunnerFunction
	if fn == "" {
		fn = DefaultStepRunnerFunction
	}
	steps := make(map[string]*Step, len(wf.Steps))
	for i := range wf.Steps {
		steps[wf.Steps[i].Key] = &wf.Steps[i]
	}
	c := &compiler{fnJSON: string(mustJSON(fn)), steps: steps}
	sched := g.Schedule()

	top := newScope("")
	blocks := []*dag.Block{sched.Root}
	if sched.Root.Kind == dag.SeriesBlock {
		blocks = sched.Root.Children
	}
	last := blocks[len(blocks)-1]
	c.skippable = skippable(wf.Steps)
	finalizeInStep := last.Kind == dag.StepBlock && !opts.SeparateFinalize && c.plain(last.Key)
	var states []*namedState
	for i, b := range blocks {
		states = append(states, c.block(top, b, finalizeInStep && i == len(blocks)-1)...)
	}
	if !finalizeInStep {
		fin := c.task(`{"action":"finalize","executionId.$":"$.executionId"}`)
		fin.Catch = []*asl.Catcher{{ErrorEquals: []string{"States.ALL"}, ResultPath: asl.PathOf("$.error"), Next: "Fail execution"}}
		top.hasCatch = true
		states = append(states, &namedState{name: "Finalize", state: fin})
	}
	if err := top.chain(states); err != nil {
		return nil, fmt.Errorf("compile workflow %s: %w", wf.ID, err)
	}
	if top.hasCatch {
		top.add("Fail execution", c.failTask("Execution failed"))
		if c.unwrap {
			top.add(unwrapState, &asl.State{
				Type: asl.TypePass,
				Parameters: mustJSON(map[string]any{
					"executionId.$": "$.executionId",
					"error.$":       "States.StringToJson($.error.Cause)",
				}),
				Next: "Fail execution",
			})
		}
		top.add("Execution failed", &asl.State{
			Type:  asl.TypeFail,
			Error: "Turbocat.ExecutionFailed",
			Cause: "The workflow failed; the execution record holds the failing step and its error.",
		})
	}
	sm := &asl.StateMachine{
		Comment: comment(wf),
		StartAt: states[0].name,
		States:  top.states,
	}
	if wf.TimeoutSeconds > 0 {
		sm.TimeoutSeconds = ptr(wf.TimeoutSeconds)
	}
	if err := top.err; err != nil {
		return nil, fmt.Errorf("compile workflow %s: %w", wf.ID, err)
	}
	if err := checkLimits(wf.ID, sm); err != nil {
		return nil, err
	}
	return sm, nil
}

// MarshalJSON returns the deterministic, indented JSON of a state machine,
// ending with a newline.
func MarshalJSON(sm *asl.StateMachine) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(sm); err != nil {
		return nil, fmt.Errorf("marshal state machine: %w", err)
	}
	return buf.Bytes(), nil
}

// MarshalCompactJSON returns the deterministic JSON of a state machine
// without insignificant whitespace: the form to submit to Step Functions,
// whose definitions are limited to 1 MB.
func MarshalCompactJSON(sm *asl.StateMachine) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(sm); err != nil {
		return nil, fmt.Errorf("marshal state machine: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// CompileJSON compiles wf and returns its deterministic, indented JSON
// definition (MarshalJSON), the form kept in golden files and statemachines/.
func CompileJSON(wf Workflow, opts Options) ([]byte, error) {
	sm, err := Compile(wf, opts)
	if err != nil {
		return nil, err
	}
	return MarshalJSON(sm)
}

func comment(wf Workflow) string {
	s := "Turbocat workflow"
	if wf.Name != "" {
		s += fmt.Sprintf(" %q", wf.Name)
	}
	if wf.ID != "" {
		s += " " + wf.ID
	}
	if wf.Version != 0 {
		s += fmt.Sprintf(" v%d", wf.Version)
	}
	return s
}

// validate checks the graph and the per-step settings, reporting every
// problem with its field path.
func validate(wf Workflow, opts Options) (*dag.Graph, error) {
	maxSteps := opts.MaxSteps
	if maxSteps <= 0 {
		maxSteps = defaultMaxSteps
	}
	nodes := make([]dag.Node, len(wf.Steps))
	for i, s := range wf.Steps {
		nodes[i] = dag.Node{Key: s.Key, DependsOn: s.DependsOn}
	}
	var probs []dag.Problem
	add := func(field, format string, args ...any) {
		probs = append(probs, dag.Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if wf.TimeoutSeconds < 0 || wf.TimeoutSeconds > maxASLInt {
		add("timeoutSeconds", "must be between 0 (no timeout) and %d", maxASLInt)
	}
	for i, s := range wf.Steps {
		f := fmt.Sprintf("steps[%d]", i)
		if s.TimeoutSeconds < 0 || s.TimeoutSeconds > maxASLInt {
			add(f+".timeoutSeconds", "must be between 0 (no timeout) and %d", maxASLInt)
		}
		switch s.Type {
		case "", "agent", typeWait, typeApproval, typeWorkflow:
		default:
			add(f+".type", "must be agent, wait, approval or workflow")
		}
		if s.ForEach != "" && s.Type != "" && s.Type != "agent" {
			add(f+".forEach", "only agent steps run for each item")
		}
		if s.MaxConcurrency < 0 || s.MaxConcurrency > MaxForEachItems {
			add(f+".maxConcurrency", "must be between 0 (default %d) and %d", DefaultMaxConcurrency, MaxForEachItems)
		}
		if s.OnError != "" && s.OnError != "fail" && s.OnError != onContinue {
			add(f+".onError", "must be fail or continue")
		}
		r := s.Retry
		if r == nil {
			continue
		}
		f += ".retry"
		if r.MaxAttempts < 0 || r.MaxAttempts > maxASLInt {
			add(f+".maxAttempts", "must be between 0 (no retry) and %d", maxASLInt)
		}
		if r.IntervalSeconds < 0 || r.IntervalSeconds > maxASLInt {
			add(f+".intervalSeconds", "must be between 1 and %d (0 means 1)", maxASLInt)
		}
		if r.BackoffRate != 0 && r.BackoffRate < 1 {
			add(f+".backoffRate", "must be at least 1.0 (0 means 2.0)")
		}
		if r.MaxDelaySeconds < 0 || r.MaxDelaySeconds > maxDelayLimit {
			add(f+".maxDelaySeconds", "must be between 1 and %d (0 means no cap)", maxDelayLimit)
		}
		seen := map[string]bool{}
		for j, e := range r.Errors {
			ef := fmt.Sprintf("%s.errors[%d]", f, j)
			switch {
			case e == "":
				add(ef, "error name is empty")
			case seen[e]:
				add(ef, "duplicate error name %q", e)
			case e == "States.ALL" && len(r.Errors) > 1:
				add(ef, "States.ALL matches every error and must be the only entry")
			}
			seen[e] = true
		}
	}
	g, err := dag.New(nodes, dag.Options{MaxNodes: maxSteps})
	var verr *dag.ValidationError
	switch {
	case errors.As(err, &verr):
		probs = append(verr.Problems, probs...)
	case err != nil:
		return nil, err
	}
	if len(probs) > 0 {
		return nil, &dag.ValidationError{Problems: probs}
	}
	return g, nil
}

type compiler struct {
	fnJSON    string // the FunctionName as a JSON string
	steps     map[string]*Step
	skippable map[string]bool // steps a Choice may skip
	parallels int
	unwrap    bool // a top-level Parallel needs the unwrap Pass
}

// unwrapState turns a branch failure back into the failing step's error.
const unwrapState = "Unwrap branch failure"

type namedState struct {
	name  string
	state *asl.State
	// exits are the states that leave this unit (state itself when nil):
	// chain links each to the next unit, or ends it.
	exits []*asl.State
}

// scope is one States map: the top level or a Parallel branch.
type scope struct {
	label    string // "" at top level, "Parallel N branch M" in a branch
	states   map[string]*asl.State
	hasCatch bool
	err      error
}

func newScope(label string) *scope {
	return &scope{label: label, states: map[string]*asl.State{}}
}

func (s *scope) add(name string, st *asl.State) {
	if _, dup := s.states[name]; dup && s.err == nil {
		s.err = fmt.Errorf("duplicate state name %q", name)
	}
	if len(name) > maxNameLen && s.err == nil {
		s.err = fmt.Errorf("state name %q is longer than %d characters", name, maxNameLen)
	}
	s.states[name] = st
}

// chain adds states to the scope, linking each to the next; the last ends.
func (s *scope) chain(states []*namedState) error {
	for i, ns := range states {
		exits := ns.exits
		if exits == nil {
			exits = []*asl.State{ns.state}
		}
		for _, x := range exits {
			if i+1 < len(states) {
				x.Next = states[i+1].name
			} else {
				x.End = true
			}
		}
		s.add(ns.name, ns.state)
	}
	return s.err
}

// failTarget is the state a step's failure goes to after its "Failed" Pass.
func (s *scope) failTarget() string {
	if s.label == "" {
		return "Fail execution"
	}
	return "Encode failure (" + s.label + ")"
}

// block compiles b into the states of sc, returned in run order (not yet
// linked). finalize marks the single step of b as the finalizing step.
func (c *compiler) block(sc *scope, b *dag.Block, finalize bool) []*namedState {
	switch b.Kind {
	case dag.StepBlock:
		if !c.plain(b.Key) {
			return []*namedState{c.flowStep(sc, b.Key)}
		}
		return []*namedState{c.step(sc, b.Key, finalize)}
	case dag.SeriesBlock:
		var out []*namedState
		for _, ch := range b.Children {
			out = append(out, c.block(sc, ch, false)...)
		}
		return out
	default:
		return []*namedState{c.parallel(sc, b)}
	}
}

func (c *compiler) step(sc *scope, key string, finalize bool) *namedState {
	// Keys are validated ([A-Za-z0-9_-]), so they need no JSON escaping.
	payload := `{"action":"step","executionId.$":"$.executionId",`
	if finalize {
		payload += `"finalize":true,`
	}
	st := c.task(payload + `"stepKey":"` + key + `"}`)
	c.stepSettings(st, c.steps[key])
	st.Catch = []*asl.Catcher{catchAll(c.failed(sc, key))}
	return &namedState{name: "Step " + key, state: st}
}

// stepSettings gives a Task running the step's work its timeout and its
// retry policy.
func (c *compiler) stepSettings(st *asl.State, s *Step) {
	if s.TimeoutSeconds > 0 {
		st.TimeoutSeconds = ptr(s.TimeoutSeconds)
	}
	if r := s.Retry; r != nil && r.MaxAttempts > 0 {
		errs := r.Errors
		if len(errs) == 0 {
			errs = DefaultRetryErrors
		}
		rt := &asl.Retrier{ErrorEquals: append([]string(nil), errs...), MaxAttempts: ptr(r.MaxAttempts)}
		if r.IntervalSeconds > 0 {
			rt.IntervalSeconds = ptr(r.IntervalSeconds)
		}
		if r.BackoffRate > 0 {
			rt.BackoffRate = ptr(r.BackoffRate)
		}
		if r.MaxDelaySeconds > 0 {
			rt.MaxDelaySeconds = ptr(r.MaxDelaySeconds)
		}
		st.Retry = append(st.Retry, rt)
	}
}

// failed adds (once) the "Failed <key>" Pass that records the failing
// step in the error and goes on to the scope's failure path, and returns
// its name.
func (c *compiler) failed(sc *scope, key string) string {
	name := "Failed " + key
	if _, ok := sc.states[name]; ok {
		return name
	}
	sc.add(name, &asl.State{
		Type:       asl.TypePass,
		Result:     json.RawMessage(`"` + key + `"`),
		ResultPath: asl.PathOf("$.error.stepKey"),
		Next:       sc.failTarget(),
	})
	sc.hasCatch = true
	return name
}

// catchAll catches every error into $.error and goes to next.
func catchAll(next string) *asl.Catcher {
	return &asl.Catcher{ErrorEquals: []string{"States.ALL"}, ResultPath: asl.PathOf("$.error"), Next: next}
}

func (c *compiler) parallel(sc *scope, b *dag.Block) *namedState {
	c.parallels++
	name := fmt.Sprintf("Parallel %d", c.parallels)
	st := &asl.State{Type: asl.TypeParallel, ResultPath: asl.NullPath()}
	for i, ch := range b.Children {
		br := newScope(fmt.Sprintf("%s branch %d", name, i+1))
		states := c.block(br, ch, false)
		if err := br.chain(states); err != nil && sc.err == nil {
			sc.err = err
		}
		if br.hasCatch {
			failed := "Branch failed (" + br.label + ")"
			br.add(br.failTarget(), &asl.State{
				Type:       asl.TypePass,
				Parameters: json.RawMessage(`{"cause.$":"States.JsonToString($.error)"}`),
				Next:       failed,
			})
			br.add(failed, &asl.State{
				Type:      asl.TypeFail,
				Error:     ErrStepFailed,
				CausePath: "$.cause",
			})
		}
		if br.err != nil && sc.err == nil {
			sc.err = br.err
		}
		st.Branches = append(st.Branches, &asl.StateMachine{StartAt: states[0].name, States: br.states})
	}
	if sc.label == "" {
		// Top level: route branch failures to the failure path. Inside a
		// branch a Parallel has no Catch: its error fails the enclosing
		// branch unchanged.
		st.Catch = []*asl.Catcher{
			{ErrorEquals: []string{ErrStepFailed}, ResultPath: asl.PathOf("$.error"), Next: unwrapState},
			{ErrorEquals: []string{"States.ALL"}, ResultPath: asl.PathOf("$.error"), Next: "Fail execution"},
		}
		c.unwrap = true
		sc.hasCatch = true
	}
	return &namedState{name: name, state: st}
}

// task returns a steprunner Task with the given payload (a JSON object) and
// the Lambda service retrier; its result is discarded.
func (c *compiler) task(payload string) *asl.State {
	return &asl.State{
		Type:       asl.TypeTask,
		Resource:   LambdaInvokeResource,
		Parameters: json.RawMessage(`{"FunctionName":` + c.fnJSON + `,"Payload":` + payload + `}`),
		ResultPath: asl.NullPath(),
		Retry:      []*asl.Retrier{lambdaRetrier(), storeRetrier()},
	}
}

// failTask records the failure in $.error and continues to next.
func (c *compiler) failTask(next string) *asl.State {
	st := c.task(`{"action":"fail","error.$":"$.error","executionId.$":"$.executionId"}`)
	st.Next = next
	return st
}

func ptr[T any](v T) *T { return &v }

// mustJSON marshals values built by this package (strings, bools, maps of
// them), which cannot fail.
func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(`null`)
	}
	return b
}
