package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/turbocat/turbocat/internal/asl"
)

// TestState runs one state in isolation, as the Step Functions TestState
// API does: once, without waiting (a Wait state does not wait, a retry is
// reported rather than slept on), with an optional mocked result for Task,
// Parallel and Map states.

// TestStateInput is the input of TestState.
type TestStateInput struct {
	// Definition is one state's definition, or a whole state machine when
	// StateName names the state to test.
	Definition string
	StateName  string
	Input      string // JSON; empty means {}
	// InspectionLevel is INFO (default), DEBUG or TRACE; DEBUG and TRACE
	// return the data after each processing step.
	InspectionLevel string
	// Variables is a JSON object of variables the state can read.
	Variables string
	// Context is a JSON object merged over the context object ($$).
	Context string
	// Mock replaces a Task's, Parallel's or Map's result: Result (JSON) or
	// an error.
	Mock *TestStateMock
	// RetrierRetryCount is how many times the matching retrier already
	// retried (for a RETRIABLE answer).
	RetrierRetryCount int
}

// TestStateMock is a mocked result or error.
type TestStateMock struct {
	Result string
	Error  string
	Cause  string
}

// TestStateOutput is the output of TestState.
type TestStateOutput struct {
	Status     string // SUCCEEDED, FAILED, RETRIABLE or CAUGHT_ERROR
	Output     string
	NextState  string
	Error      string
	Cause      string
	Inspection *Inspection
}

// Inspection is the data after each processing step (DEBUG and TRACE).
type Inspection struct {
	Input               string `json:"input,omitempty"`
	AfterInputPath      string `json:"afterInputPath,omitempty"`
	AfterParameters     string `json:"afterParameters,omitempty"`
	AfterArguments      string `json:"afterArguments,omitempty"`
	Result              string `json:"result,omitempty"`
	AfterResultSelector string `json:"afterResultSelector,omitempty"`
	AfterResultPath     string `json:"afterResultPath,omitempty"`
	AfterItemsPath      string `json:"afterItemsPath,omitempty"`
	AfterItemSelector   string `json:"afterItemSelector,omitempty"`
	Variables           string `json:"variables,omitempty"`
	ErrorDetails        *struct {
		CatchIndex                  *int `json:"catchIndex,omitempty"`
		RetryIndex                  *int `json:"retryIndex,omitempty"`
		RetryBackoffIntervalSeconds *int `json:"retryBackoffIntervalSeconds,omitempty"`
	} `json:"errorDetails,omitempty"`
}

// testRun is the TestState state of a run.
type testRun struct {
	mock       *TestStateMock
	retryCount int
	inspect    map[string]any
	status     string
	caughtErr  *stateErr
	catchIndex *int
	retryIndex *int
	backoff    *int
}

// mocked returns the mock's result or error.
func (t *testRun) mocked() (any, *stateErr) {
	if t.mock.Error != "" || t.mock.Result == "" {
		return nil, &stateErr{Error: t.mock.Error, Cause: t.mock.Cause}
	}
	v, err := decodeJSON([]byte(t.mock.Result))
	if err != nil {
		return nil, &stateErr{Error: ErrRuntime, Cause: fmt.Sprintf("the mocked result is not JSON: %v", err)}
	}
	return v, nil
}

// note records the data after a processing step, for DEBUG inspection.
func (ru *run) note(step string, v any) {
	if ru.test != nil {
		ru.test.inspect[step] = v
	}
}

// TestState runs one state once. Errors: InvalidDefinition,
// ValidationException.
func (r *Runtime) TestState(ctx context.Context, in TestStateInput) (*TestStateOutput, error) {
	switch in.InspectionLevel {
	case "", "INFO", "DEBUG", "TRACE":
	default:
		return nil, apiErr(CodeValidation, "1 validation error detected: Value '%s' at 'inspectionLevel' failed to satisfy constraint: Member must satisfy enum value set: [INFO, DEBUG, TRACE]", in.InspectionLevel)
	}
	prog, cs, err := r.testProgram(in.Definition, in.StateName)
	if err != nil {
		return nil, err
	}
	input := in.Input
	if strings.TrimSpace(input) == "" {
		input = "{}"
	}
	inVal, err := decodeJSON([]byte(input))
	if err != nil {
		return nil, apiErr(CodeInvalidExecutionInput, "Invalid State Machine Execution Input: '%v'", err)
	}
	if in.Mock != nil {
		switch cs.st.Type {
		case asl.TypeTask, asl.TypeParallel, asl.TypeMap:
		default:
			return nil, apiErr(CodeValidation, "A mock can only be specified for Task, Map, or Parallel states")
		}
	} else if cs.st.Type == asl.TypeTask && (cs.token || cs.syncMode != "" || cs.res == resActivity) {
		return nil, apiErr(CodeValidation, "TestState does not wait for a task token, an activity worker or a child execution: mock the result of %s", cs.st.Resource)
	}
	now := r.clock.Now()
	rec := &Execution{ExecutionArn: r.arnPrefix("execution") + "TestStateMachine:" + newUUID(), StateMachineArn: r.arnPrefix("stateMachine") + "TestStateMachine",
		Name: "TestState", Status: StatusRunning, Input: json.RawMessage(input), StartDate: now}
	ex := &execution{rec: rec, done: make(chan struct{})}
	t := &testRun{mock: in.Mock, retryCount: in.RetrierRetryCount, inspect: map[string]any{}}
	ru := &run{r: r, ex: ex, prog: prog, input: inVal, jctx: r.closeCtx, test: t}
	if in.Context != "" {
		v, err := decodeJSON([]byte(in.Context))
		m, ok := v.(map[string]any)
		if err != nil || !ok {
			return nil, apiErr(CodeValidation, "context must be a JSON object")
		}
		base := ru.baseContext()
		for k, v := range m {
			base[k] = v
		}
	}
	th := &thread{vars: newScope(nil)}
	if in.Variables != "" {
		v, err := decodeJSON([]byte(in.Variables))
		m, ok := v.(map[string]any)
		if err != nil || !ok {
			return nil, apiErr(CodeValidation, "variables must be a JSON object")
		}
		th.vars.set(m)
	}
	entered := &HistoryEvent{Type: cs.enteredTyp, Name: cs.name, Input: inVal, HasInput: true, Timestamp: now}
	t.inspect["input"] = inVal
	out, next, serr := ru.exec(ctx, th, cs, inVal, entered, false)
	res := &TestStateOutput{Status: "SUCCEEDED"}
	switch {
	case serr != nil && t.status == "RETRIABLE":
		res.Status, res.Error, res.Cause = "RETRIABLE", serr.Error, serr.Cause
	case serr != nil:
		res.Status, res.Error, res.Cause = "FAILED", serr.Error, serr.Cause
	default:
		if t.catchIndex != nil {
			res.Status = "CAUGHT_ERROR"
			res.Error, res.Cause = t.caughtErr.Error, t.caughtErr.Cause
		}
		b, err := encodeJSON(out)
		if err != nil {
			return nil, err
		}
		res.Output = string(b)
		res.NextState = next
		th.vars.set(th.assign)
	}
	if in.InspectionLevel == "DEBUG" || in.InspectionLevel == "TRACE" {
		res.Inspection = t.inspection(th)
	}
	return res, nil
}

func (t *testRun) inspection(th *thread) *Inspection {
	str := func(k string) string {
		v, ok := t.inspect[k]
		if !ok {
			return ""
		}
		return mustEncode(v)
	}
	ins := &Inspection{Input: str("input"), AfterInputPath: str("afterInputPath"), AfterParameters: str("afterParameters"),
		AfterArguments: str("afterArguments"), Result: str("result"), AfterResultSelector: str("afterResultSelector"),
		AfterResultPath: str("afterResultPath"), AfterItemsPath: str("afterItemsPath")}
	if len(th.vars.vars) > 0 {
		ins.Variables = mustEncode(th.vars.vars)
	}
	if t.catchIndex != nil || t.retryIndex != nil {
		ins.ErrorDetails = &struct {
			CatchIndex                  *int `json:"catchIndex,omitempty"`
			RetryIndex                  *int `json:"retryIndex,omitempty"`
			RetryBackoffIntervalSeconds *int `json:"retryBackoffIntervalSeconds,omitempty"`
		}{CatchIndex: t.catchIndex, RetryIndex: t.retryIndex, RetryBackoffIntervalSeconds: t.backoff}
	}
	return ins
}

// testAttempt runs one attempt of a Task, Parallel or Map state under
// TestState: an error a retrier would retry is RETRIABLE, one a catcher
// handles is CAUGHT_ERROR.
func (ru *run) testAttempt(ctx context.Context, th *thread, cs *cstate, in any, entered *HistoryEvent) (any, string, *stateErr) {
	var replayed []*HistoryEvent
	out, serr := ru.attempt(ctx, th, cs, in, entered, 0, ru.test.retryCount, &replayed)
	if serr == nil {
		return out, cs.st.Next, nil
	}
	th.assign = nil
	for i, rt := range cs.st.Retry {
		if !serr.matches(rt.ErrorEquals) {
			continue
		}
		if ru.test.retryCount < rt.Attempts() {
			idx := i
			secs := int(ru.r.backoff(rt, ru.test.retryCount).Seconds())
			ru.test.status, ru.test.retryIndex, ru.test.backoff = "RETRIABLE", &idx, &secs
			return nil, "", serr
		}
		break
	}
	ru.test.caughtErr = serr
	if out, next, handled, cerr := ru.catch(th, cs, in, entered, ru.test.retryCount, serr); handled {
		return out, next, cerr
	}
	return nil, "", serr
}

// testProgram compiles what TestState runs: the named state of a whole
// machine, or a lone state (its transitions pointing at stand-in states).
func (r *Runtime) testProgram(def, stateName string) (*program, *cstate, error) {
	if stateName != "" {
		prog, err := r.program(def)
		if err != nil {
			return nil, nil, definitionError(err)
		}
		cs := findState(prog.root, stateName)
		if cs == nil {
			return nil, nil, apiErr(CodeValidation, "State '%s' does not exist in the definition", stateName)
		}
		return prog, cs, nil
	}
	var st map[string]any
	if err := json.Unmarshal([]byte(def), &st); err != nil {
		return nil, nil, apiErr(CodeInvalidDefinition, "Invalid State Machine Definition: 'INVALID_JSON_DESCRIPTION: %v'", err)
	}
	const name = "TestState"
	states := map[string]any{name: st}
	stub := map[string]any{"Type": "Succeed"}
	var targets []string
	add := func(v any) {
		if s, ok := v.(string); ok && s != "" && s != name {
			targets = append(targets, s)
		}
	}
	add(st["Next"])
	add(st["Default"])
	for _, key := range []string{"Choices", "Catch"} {
		if arr, ok := st[key].([]any); ok {
			for _, it := range arr {
				if m, ok := it.(map[string]any); ok {
					add(m["Next"])
				}
			}
		}
	}
	sort.Strings(targets)
	for _, t := range targets {
		states[t] = stub
	}
	machine := map[string]any{"StartAt": name, "States": states}
	if ql, ok := st["QueryLanguage"].(string); ok && ql == asl.QueryLanguageJSONata {
		machine["QueryLanguage"] = ql
		delete(st, "QueryLanguage")
	}
	b, err := json.Marshal(machine)
	if err != nil {
		return nil, nil, err
	}
	sm, diags := asl.Check(b)
	var errs asl.ValidationErrors
	for _, d := range diags.Errors() {
		if d.Code == asl.CodeUnreachable {
			continue // the stand-in states are reachable only through the tested one
		}
		errs = append(errs, d)
	}
	if len(errs) > 0 {
		return nil, nil, definitionError(errs)
	}
	prog, perrs := compile(sm, false)
	if len(perrs) > 0 {
		return nil, nil, definitionError(perrs)
	}
	return prog, prog.root.states[name], nil
}

func findState(g *graph, name string) *cstate {
	if cs, ok := g.states[name]; ok {
		return cs
	}
	for _, cs := range g.states {
		for _, b := range cs.branches {
			if f := findState(b, name); f != nil {
				return f
			}
		}
		if cs.processor != nil {
			if f := findState(cs.processor, name); f != nil {
				return f
			}
		}
	}
	return nil
}
