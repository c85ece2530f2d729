package compiler_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/compiler"
	"github.com/turbocat/turbocat/internal/dag"
	"github.com/turbocat/turbocat/internal/runtime"
)

// fakeStepRunner stands in for the steprunner: it records every invocation
// with a logical clock and fails the steps listed in failures.
type fakeStepRunner struct {
	mu       sync.Mutex
	clock    int
	started  map[string]int
	ended    map[string]int
	calls    map[string]int
	finalize []string // "finalize" or the step key that finalized
	// failures[key][i] is the error of attempt i+1 of step key (nil:
	// success); failures["@finalize"][0] fails the finalize action.
	failures map[string][]*runtime.TaskError
	failed   []map[string]any // payloads of fail actions
	// wants[key][i] is how many tools turn i of step key asks for (a
	// turn past the list answers); turns and tools log the turn and tool
	// actions in order ("key turn 0", "key tool 0.1").
	wants  map[string][]int
	turns  map[string]int
	events []string
}

func newFakeStepRunner(failures map[string][]*runtime.TaskError) *fakeStepRunner {
	return &fakeStepRunner{started: map[string]int{}, ended: map[string]int{}, calls: map[string]int{}, failures: failures, turns: map[string]int{}}
}

func (f *fakeStepRunner) invoke(_ context.Context, payload json.RawMessage) (json.RawMessage, error) {
	var p struct {
		Action      string         `json:"action"`
		ExecutionID string         `json:"executionId"`
		StepKey     string         `json:"stepKey"`
		Finalize    bool           `json:"finalize"`
		Error       map[string]any `json:"error"`
		Turn        *int           `json:"turn"`
		Index       *int           `json:"index"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, err
	}
	if p.ExecutionID == "" {
		return nil, &runtime.TaskError{Name: "Test.NoExecutionId", Cause: string(payload)}
	}
	f.mu.Lock()
	f.clock++
	switch p.Action {
	case "turn":
		defer f.mu.Unlock()
		turn := f.turns[p.StepKey]
		f.turns[p.StepKey]++
		f.events = append(f.events, fmt.Sprintf("%s turn %d", p.StepKey, turn))
		if turn < len(f.wants[p.StepKey]) {
			calls := make([]int, f.wants[p.StepKey][turn])
			for i := range calls {
				calls[i] = i
			}
			return json.Marshal(map[string]any{"done": false, "turn": turn, "calls": calls})
		}
		f.calls[p.StepKey]++
		return json.RawMessage(`{"done":true,"turn":-1,"calls":[]}`), nil
	case "tool":
		defer f.mu.Unlock()
		if p.Turn == nil || p.Index == nil {
			return nil, &runtime.TaskError{Name: "Test.BadToolPayload", Cause: string(payload)}
		}
		f.events = append(f.events, fmt.Sprintf("%s tool %d.%d", p.StepKey, *p.Turn, *p.Index))
		return json.RawMessage(`{"ok":true}`), nil
	case "step":
		f.calls[p.StepKey]++
		f.started[p.StepKey] = f.clock
	case "finalize":
		f.finalize = append(f.finalize, "finalize")
	case "fail":
		f.failed = append(f.failed, p.Error)
	}
	var fail *runtime.TaskError
	if attempts := f.failures[p.StepKey]; p.Action == "step" && f.calls[p.StepKey] <= len(attempts) {
		fail = attempts[f.calls[p.StepKey]-1]
	}
	if attempts := f.failures["@finalize"]; p.Action == "finalize" && len(attempts) > 0 {
		fail = attempts[0]
	}
	f.mu.Unlock()
	if p.Action == "finalize" && fail != nil {
		return nil, fail
	}

	if p.Action == "step" {
		time.Sleep(time.Millisecond) // let concurrent branches interleave
		f.mu.Lock()
		f.clock++
		f.ended[p.StepKey] = f.clock
		if fail == nil && p.Finalize {
			f.finalize = append(f.finalize, p.StepKey)
		}
		f.mu.Unlock()
		if fail != nil {
			return nil, fail
		}
	}
	return json.RawMessage(`{"ok":true}`), nil
}

type runResult struct {
	exec *runtime.Execution
	fake *fakeStepRunner
}

func runOnLocalRuntime(t *testing.T, wf compiler.Workflow, failures map[string][]*runtime.TaskError, clock runtime.Clock) runResult {
	t.Helper()
	return runOnLocalRuntimeWith(t, wf, compiler.Options{StepRunnerFunction: "steprunner"}, failures, clock)
}

func runOnLocalRuntimeWith(t *testing.T, wf compiler.Workflow, opts compiler.Options, failures map[string][]*runtime.TaskError, clock runtime.Clock) runResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rt, err := runtime.New(ctx, runtime.Options{Clock: clock})
	require.NoError(t, err)
	t.Cleanup(rt.Close)
	fake := newFakeStepRunner(failures)
	rt.RegisterFunction("steprunner", fake.invoke)

	def, err := compiler.CompileJSON(wf, opts)
	require.NoError(t, err)
	created, err := rt.CreateStateMachine(ctx, runtime.CreateStateMachineInput{Name: "wf", Definition: string(def)})
	require.NoError(t, err)
	exec, err := rt.StartSyncExecution(ctx, runtime.StartInput{
		StateMachineArn: created.StateMachineArn,
		Name:            "exec-1",
		Input:           `{"executionId":"exec-1"}`,
	})
	require.NoError(t, err)
	return runResult{exec: exec, fake: fake}
}

func TestCompiledMachinesRunOnLocalRuntime(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(13, 14))
	cases := map[string]compiler.Workflow{}
	for _, name := range []string{"single_step", "chain", "diamond", "fan_out_fan_in", "n_shape", "retries_timeouts"} {
		cases[name] = readWorkflow(t, "testdata/"+name+"/workflow.json")
	}
	for i := 0; i < 6; i++ {
		size := 2 + rng.IntN(15)
		cases[fmt.Sprintf("random_%d", i)] = randomWorkflow(rng, size, size, 0.3)
	}
	for name, wf := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			res := runOnLocalRuntime(t, wf, nil, nil)
			require.Equal(t, runtime.StatusSucceeded, res.exec.Status, "%s: %s", res.exec.Error, res.exec.Cause)
			require.JSONEq(t, `{"executionId":"exec-1"}`, string(res.exec.Output), "the state never grows")

			f := res.fake
			require.Len(t, f.calls, len(wf.Steps))
			for key, n := range f.calls {
				require.Equal(t, 1, n, "step %s runs once", key)
			}
			nodes := make([]dag.Node, len(wf.Steps))
			for i, s := range wf.Steps {
				nodes[i] = dag.Node{Key: s.Key, DependsOn: s.DependsOn}
			}
			g, err := dag.New(nodes, dag.Options{})
			require.NoError(t, err)
			for _, s := range wf.Steps {
				for _, d := range s.DependsOn {
					require.Less(t, f.ended[d], f.started[s.Key], "%s ends before %s starts", d, s.Key)
				}
			}
			require.Len(t, f.finalize, 1, "finalized once")
			if fin := f.finalize[0]; fin != "finalize" {
				// The finalizing step starts after every other step ended.
				for key, end := range f.ended {
					if key != fin {
						require.Less(t, end, f.started[fin], "%s ends before the finalizing step %s", key, fin)
					}
				}
				require.Contains(t, g.Sinks(), fin)
			} else {
				require.Greater(t, len(g.Sinks()), 1, "a separate Finalize only when the workflow ends with several steps")
			}
			require.Empty(t, f.failed)
		})
	}
}

func TestCompiledFailurePathOnLocalRuntime(t *testing.T) {
	t.Parallel()
	nested := compiler.Workflow{ID: "nested", Steps: []compiler.Step{
		{Key: "start"},
		{Key: "left", DependsOn: []string{"start"}},
		{Key: "deep_a", DependsOn: []string{"left"}},
		{Key: "deep_b", DependsOn: []string{"left"}},
		{Key: "right", DependsOn: []string{"start"}},
		{Key: "end", DependsOn: []string{"deep_a", "deep_b", "right"}},
	}}
	tests := []struct {
		name    string
		failKey string
	}{
		{"top-level step", "start"},
		{"finalizing step", "end"},
		{"step in a branch", "right"},
		{"step in a nested branch", "deep_b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := runOnLocalRuntime(t, nested, map[string][]*runtime.TaskError{
				tt.failKey: {{Name: "Api.Http4xx", Cause: "404 from example.com"}},
			}, nil)
			require.Equal(t, runtime.StatusFailed, res.exec.Status)
			require.Equal(t, "Turbocat.ExecutionFailed", res.exec.Error)
			f := res.fake
			require.Len(t, f.failed, 1, "the failure is recorded once")
			require.Equal(t, tt.failKey, f.failed[0]["stepKey"])
			require.Equal(t, "Api.Http4xx", f.failed[0]["Error"])
			require.Contains(t, f.failed[0]["Cause"], "404 from example.com")
			require.Empty(t, f.finalize, "a failed run is not finalized")
			require.Zero(t, f.calls["end"]-boolInt(tt.failKey == "end"), "downstream steps do not run")
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestCompiledRetriesOnLocalRuntime(t *testing.T) {
	t.Parallel()
	wf := compiler.Workflow{ID: "retry", Steps: []compiler.Step{
		{Key: "call_api", Retry: &compiler.RetryPolicy{MaxAttempts: 2, IntervalSeconds: 3, Errors: []string{"Api.Http5xx"}}},
		{Key: "notify", DependsOn: []string{"call_api"}},
	}}
	lambdaErr := &runtime.TaskError{Name: "Lambda.ServiceException", Cause: "transient"}
	http5xx := &runtime.TaskError{Name: "Api.Http5xx", Cause: "502"}
	http4xx := &runtime.TaskError{Name: "Api.Http4xx", Cause: "404"}
	tests := []struct {
		name       string
		attempts   []*runtime.TaskError
		wantStatus string
		wantCalls  int
		wantSleeps []time.Duration
	}{
		{
			// A Lambda service error uses the Lambda retrier (2 s) and does
			// not consume the step's two retries (3 s, then 6 s).
			name:       "lambda error then step errors then success",
			attempts:   []*runtime.TaskError{lambdaErr, http5xx, http5xx, nil},
			wantStatus: runtime.StatusSucceeded, wantCalls: 4,
			wantSleeps: []time.Duration{2 * time.Second, 3 * time.Second, 6 * time.Second},
		},
		{
			name:       "retries exhausted",
			attempts:   []*runtime.TaskError{http5xx, http5xx, http5xx},
			wantStatus: runtime.StatusFailed, wantCalls: 3,
			wantSleeps: []time.Duration{3 * time.Second, 6 * time.Second},
		},
		{
			name:       "error not in the policy is not retried",
			attempts:   []*runtime.TaskError{http4xx},
			wantStatus: runtime.StatusFailed, wantCalls: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := runtime.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			res := runOnLocalRuntime(t, wf, map[string][]*runtime.TaskError{"call_api": tt.attempts}, clock)
			require.Equal(t, tt.wantStatus, res.exec.Status, "%s: %s", res.exec.Error, res.exec.Cause)
			require.Equal(t, tt.wantCalls, res.fake.calls["call_api"])
			require.Equal(t, tt.wantSleeps, clock.Sleeps())
			if tt.wantStatus == runtime.StatusFailed {
				require.Len(t, res.fake.failed, 1)
				require.Equal(t, "call_api", res.fake.failed[0]["stepKey"])
				require.Zero(t, res.fake.calls["notify"])
			} else {
				require.Equal(t, 1, res.fake.calls["notify"])
			}
		})
	}
}

func TestCompiledFinalizeFailureOnLocalRuntime(t *testing.T) {
	t.Parallel()
	// Two sinks: a separate Finalize task ends the machine.
	wf := compiler.Workflow{ID: "two-sinks", Steps: []compiler.Step{{Key: "a"}, {Key: "b"}}}
	res := runOnLocalRuntime(t, wf, map[string][]*runtime.TaskError{
		"@finalize": {{Name: "Turbocat.OutputMapping", Cause: "output references steps.c"}},
	}, nil)
	require.Equal(t, runtime.StatusFailed, res.exec.Status)
	require.Equal(t, "Turbocat.ExecutionFailed", res.exec.Error)
	require.Len(t, res.fake.failed, 1)
	require.Equal(t, "Turbocat.OutputMapping", res.fake.failed[0]["Error"])
	require.NotContains(t, res.fake.failed[0], "stepKey", "a finalize failure belongs to no step")
}

func TestSeparateFinalizeOnLocalRuntime(t *testing.T) {
	t.Parallel()
	wf := readWorkflow(t, "testdata/chain/workflow.json")
	res := runOnLocalRuntimeWith(t, wf, compiler.Options{StepRunnerFunction: "steprunner", SeparateFinalize: true}, nil, nil)
	require.Equal(t, runtime.StatusSucceeded, res.exec.Status)
	require.Equal(t, []string{"finalize"}, res.fake.finalize, "finalized by the Finalize task, not by the last step")
	require.Equal(t, map[string]int{"fetch": 1, "summarize": 1, "notify": 1}, res.fake.calls)
}

func TestToolLoopRunsEachTurnAndCallOnLocalRuntime(t *testing.T) {
	t.Parallel()
	wf := compiler.Workflow{ID: "loop", Steps: []compiler.Step{
		{Key: "agent", Turns: true},
		{Key: "plain", DependsOn: []string{"agent"}},
		{Key: "quiet", DependsOn: []string{"agent"}, Turns: true},
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rt, err := runtime.New(ctx, runtime.Options{})
	require.NoError(t, err)
	t.Cleanup(rt.Close)
	fake := newFakeStepRunner(nil)
	fake.wants = map[string][]int{"agent": {2, 1}} // quiet's agent wants no tools
	rt.RegisterFunction("steprunner", fake.invoke)
	def, err := compiler.CompileJSON(wf, compiler.Options{StepRunnerFunction: "steprunner"})
	require.NoError(t, err)
	created, err := rt.CreateStateMachine(ctx, runtime.CreateStateMachineInput{Name: "wf", Definition: string(def)})
	require.NoError(t, err)
	exec, err := rt.StartSyncExecution(ctx, runtime.StartInput{StateMachineArn: created.StateMachineArn, Name: "exec-1", Input: `{"executionId":"exec-1"}`})
	require.NoError(t, err)
	require.Equal(t, runtime.StatusSucceeded, exec.Status, "%s: %s", exec.Error, exec.Cause)
	require.JSONEq(t, `{"executionId":"exec-1"}`, string(exec.Output), "the loop leaves nothing in the state")

	var agent, quiet []string
	for _, e := range fake.events {
		switch {
		case strings.HasPrefix(e, "agent "):
			agent = append(agent, strings.TrimPrefix(e, "agent "))
		case strings.HasPrefix(e, "quiet "):
			quiet = append(quiet, strings.TrimPrefix(e, "quiet "))
		}
	}
	// Each turn is one invocation; the calls of a turn run between it and
	// the next turn (in either order: they run at once).
	require.Len(t, agent, 6)
	require.Equal(t, "turn 0", agent[0])
	require.ElementsMatch(t, []string{"tool 0.0", "tool 0.1"}, agent[1:3])
	require.Equal(t, []string{"turn 1", "tool 1.0", "turn 2"}, agent[3:])
	require.Equal(t, []string{"turn 0"}, quiet, "an agent without tools answers at its first turn")
	require.Equal(t, 1, fake.calls["plain"])
	require.Equal(t, []string{"finalize"}, fake.finalize)
}
