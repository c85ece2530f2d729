package compiler_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/asl"
	"github.com/turbocat/turbocat/internal/compiler"
	"github.com/turbocat/turbocat/internal/dag"
	"github.com/turbocat/turbocat/internal/turbocat"
)

var update = flag.Bool("update", false, "rewrite the golden want.asl.json files")

func readWorkflow(t testing.TB, path string) compiler.Workflow {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var wf compiler.Workflow
	require.NoError(t, json.Unmarshal(data, &wf))
	return wf
}

func TestGolden(t *testing.T) {
	t.Parallel()
	dirs, err := filepath.Glob(filepath.Join("testdata", "*", "workflow.json"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(dirs), 7)
	for _, wfPath := range dirs {
		dir := filepath.Dir(wfPath)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			wf := readWorkflow(t, wfPath)
			got, err := compiler.CompileJSON(wf, compiler.Options{})
			require.NoError(t, err)

			wantPath := filepath.Join(dir, "want.asl.json")
			if *update {
				require.NoError(t, os.WriteFile(wantPath, got, 0o644))
			}
			want, err := os.ReadFile(wantPath)
			require.NoError(t, err, "run go test ./internal/compiler -update to create it")
			requireSameText(t, string(want), string(got), wantPath)

			// The definition parses and passes structural validation.
			sm, err := asl.Parse(got)
			require.NoError(t, err)
			requireRespectsDependencies(t, wf, sm)
		})
	}
}

// requireSameText fails with the first differing line, not the whole file.
func requireSameText(t *testing.T, want, got, path string) {
	t.Helper()
	if want == got {
		return
	}
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			t.Fatalf("%s differs at line %d (rerun with -update if intended):\nwant: %s\ngot:  %s", path, i+1, w, g)
		}
	}
}

// taskRun is a Task on the success path of a compiled machine.
type taskRun struct {
	stepKey  string
	action   string
	finalize bool
}

func taskOf(t testing.TB, st *asl.State) taskRun {
	t.Helper()
	var params struct {
		FunctionName string `json:"FunctionName"`
		Payload      struct {
			Action      string `json:"action"`
			ExecutionID string `json:"executionId.$"`
			StepKey     string `json:"stepKey"`
			Finalize    bool   `json:"finalize"`
		} `json:"Payload"`
	}
	require.NoError(t, json.Unmarshal(st.Parameters, &params))
	require.Equal(t, "$.executionId", params.Payload.ExecutionID)
	return taskRun{stepKey: params.Payload.StepKey, action: params.Payload.Action, finalize: params.Payload.Finalize}
}

// simulate walks the success path of a scope and returns the Tasks it runs
// plus the happens-before pairs between them (by index into tasks).
type simulation struct {
	tasks  []taskRun
	before map[[2]int]bool
}

// run executes the chain from start and returns the indexes of the tasks
// it ran. Choice states take the rule that runs the step (every step runs
// on the simulated path); a Map runs its item processor once; Tasks that
// do not invoke the steprunner (a child execution) record nothing.
func (s *simulation) run(t testing.TB, start string, states map[string]*asl.State) []int {
	t.Helper()
	var done []int // every task that finished so far in this chain
	for name := start; ; {
		st := states[name]
		require.NotNil(t, st, "state %q", name)
		var ran []int
		switch st.Type {
		case asl.TypeTask:
			switch st.Resource {
			case compiler.LambdaInvokeResource, compiler.LambdaInvokeWaitResource:
				s.tasks = append(s.tasks, taskOf(t, st))
				ran = []int{len(s.tasks) - 1}
			case compiler.StartExecutionSyncResource:
			default:
				require.Failf(t, "unexpected Task resource", "%s: %s", name, st.Resource)
			}
			if st.ResultSelector == nil {
				require.True(t, st.ResultPath.IsNull(), "%s: the task result must not grow the state", name)
			}
		case asl.TypeParallel:
			require.True(t, st.ResultPath.IsNull(), "%s: the branch results must not grow the state", name)
			for _, br := range st.Branches {
				ran = append(ran, s.run(t, br.StartAt, br.States)...)
			}
		case asl.TypeMap:
			require.True(t, st.ResultSelector != nil || st.ResultPath.IsNull(), "%s: the item results must not grow the state", name)
			ran = s.run(t, st.ItemProcessor.StartAt, st.ItemProcessor.States)
		case asl.TypeChoice:
			require.Len(t, st.Choices, 1, name)
			require.NotEmpty(t, st.Default, name)
			name = st.Choices[0].Next
			continue
		case asl.TypeWait, asl.TypePass: // Pass: the end of a tool loop
		default:
			require.Failf(t, "unexpected state on the success path", "%s is a %s", name, st.Type)
		}
		for _, a := range done {
			for _, b := range ran {
				s.before[[2]int{a, b}] = true
			}
		}
		done = append(done, ran...)
		if st.End {
			return done
		}
		name = st.Next
	}
}

// requireRespectsDependencies simulates the success path of sm and checks
// that each step runs once, after all of its dependencies, that finalization
// comes last, and that a series-parallel DAG keeps all of its concurrency.
func requireRespectsDependencies(t testing.TB, wf compiler.Workflow, sm *asl.StateMachine) {
	t.Helper()
	sim := &simulation{before: map[[2]int]bool{}}
	all := sim.run(t, sm.StartAt, sm.States)
	require.Len(t, all, len(sim.tasks))

	pos := map[string][]int{} // the tasks of each step
	stepRuns := map[string]bool{}
	finalizers := 0
	for i, tr := range sim.tasks {
		switch tr.action {
		case "step", "turn", "check", "items", "item", "collect", "wait", "resume", "approval", "child":
			if tr.action == "step" || tr.action == "turn" { // the turn that answers
				require.False(t, stepRuns[tr.stepKey], "step %q runs twice", tr.stepKey)
				stepRuns[tr.stepKey] = true
			}
			pos[tr.stepKey] = append(pos[tr.stepKey], i)
		case "finalize":
		default:
			require.Failf(t, "unexpected action on the success path", "%q", tr.action)
		}
		if tr.finalize || tr.action == "finalize" {
			finalizers++
			for j := range sim.tasks {
				if j != i {
					require.True(t, sim.before[[2]int{j, i}], "finalization must come after every task")
				}
			}
		}
	}
	require.Equal(t, 1, finalizers, "exactly one task finalizes")
	require.Len(t, pos, len(wf.Steps), "every step runs")
	ordered := func(x, y string) (all, any bool) {
		all = true
		for _, a := range pos[x] {
			for _, b := range pos[y] {
				if sim.before[[2]int{a, b}] {
					any = true
				} else {
					all = false
				}
			}
		}
		return all, any
	}

	nodes := make([]dag.Node, len(wf.Steps))
	for i, s := range wf.Steps {
		nodes[i] = dag.Node{Key: s.Key, DependsOn: s.DependsOn}
	}
	g, err := dag.New(nodes, dag.Options{MaxNodes: len(nodes)})
	require.NoError(t, err)
	exact := g.IsSeriesParallel()
	for _, x := range g.Keys() {
		for _, y := range g.Keys() {
			if x == y {
				continue
			}
			all, any := ordered(x, y)
			if g.IsUpstream(x, y) {
				require.True(t, all, "%s must complete before %s starts", x, y)
			} else if exact {
				require.False(t, any, "series-parallel DAG: %s and %s may run concurrently", x, y)
			}
		}
	}
}

func TestCompileInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		wf   compiler.Workflow
		want []dag.Problem
	}{
		{
			name: "graph and settings problems together",
			wf: compiler.Workflow{ID: "wf", TimeoutSeconds: -1, Steps: []compiler.Step{
				{Key: "a", TimeoutSeconds: -5},
				{Key: "b", DependsOn: []string{"ghost"}, Retry: &compiler.RetryPolicy{
					MaxAttempts: -1, IntervalSeconds: -2, BackoffRate: 0.5, MaxDelaySeconds: -3,
					Errors: []string{"Api.Http5xx", "", "Api.Http5xx", "States.ALL"},
				}},
			}},
			want: []dag.Problem{
				{Field: "steps[1].dependsOn[0]", Message: `unknown step "ghost"`},
				{Field: "timeoutSeconds", Message: "must be between 0 (no timeout) and 99999999"},
				{Field: "steps[0].timeoutSeconds", Message: "must be between 0 (no timeout) and 99999999"},
				{Field: "steps[1].retry.maxAttempts", Message: "must be between 0 (no retry) and 99999999"},
				{Field: "steps[1].retry.intervalSeconds", Message: "must be between 1 and 99999999 (0 means 1)"},
				{Field: "steps[1].retry.backoffRate", Message: "must be at least 1.0 (0 means 2.0)"},
				{Field: "steps[1].retry.maxDelaySeconds", Message: "must be between 1 and 31622400 (0 means no cap)"},
				{Field: "steps[1].retry.errors[1]", Message: "error name is empty"},
				{Field: "steps[1].retry.errors[2]", Message: `duplicate error name "Api.Http5xx"`},
				{Field: "steps[1].retry.errors[3]", Message: "States.ALL matches every error and must be the only entry"},
			},
		},
		{
			name: "cycle",
			wf: compiler.Workflow{ID: "wf", Steps: []compiler.Step{
				{Key: "a", DependsOn: []string{"b"}}, {Key: "b", DependsOn: []string{"a"}},
			}},
			want: []dag.Problem{{Field: "steps[1].dependsOn[0]", Message: "dependency cycle: a → b → a (each step depends on the one before it)"}},
		},
		{
			name: "no steps",
			wf:   compiler.Workflow{ID: "wf"},
			want: []dag.Problem{{Field: "steps", Message: "at least one step is required"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sm, err := compiler.Compile(tt.wf, compiler.Options{})
			require.Nil(t, sm)
			var verr *dag.ValidationError
			require.ErrorAs(t, err, &verr)
			require.Equal(t, tt.want, verr.Problems)
			require.ErrorContains(t, err, "compile workflow wf")
		})
	}
}

func TestCompileMaxSteps(t *testing.T) {
	t.Parallel()
	wf := compiler.Workflow{ID: "wf", Steps: []compiler.Step{{Key: "a"}, {Key: "b"}, {Key: "c"}}}
	_, err := compiler.Compile(wf, compiler.Options{MaxSteps: 2})
	require.ErrorContains(t, err, "too many steps: 3, the limit is 2")
	_, err = compiler.Compile(wf, compiler.Options{MaxSteps: 3})
	require.NoError(t, err)
}

func TestStepTask(t *testing.T) {
	t.Parallel()
	wf := compiler.Workflow{ID: "wf", Steps: []compiler.Step{
		{Key: "fetch", TimeoutSeconds: 30, Retry: &compiler.RetryPolicy{MaxAttempts: 3, Errors: []string{"Api.Http5xx"}}},
		{Key: "default_errors", DependsOn: []string{"fetch"}, Retry: &compiler.RetryPolicy{MaxAttempts: 2}},
		{Key: "plain", DependsOn: []string{"default_errors"}},
	}}
	sm, err := compiler.Compile(wf, compiler.Options{StepRunnerFunction: "turbocat-steprunner"})
	require.NoError(t, err)

	fetch := sm.States["Step fetch"]
	require.NotNil(t, fetch)
	var params map[string]any
	require.NoError(t, json.Unmarshal(fetch.Parameters, &params))
	require.Equal(t, map[string]any{
		"FunctionName": "turbocat-steprunner",
		"Payload":      map[string]any{"action": "step", "executionId.$": "$.executionId", "stepKey": "fetch"},
	}, params)
	require.Equal(t, 30, *fetch.TimeoutSeconds)
	require.Len(t, fetch.Retry, 3)
	require.Contains(t, fetch.Retry[0].ErrorEquals, "Lambda.ServiceException", "Lambda service errors are retried first")
	require.Equal(t, []string{turbocat.ErrStoreUnavailable}, fetch.Retry[1].ErrorEquals, "then a database outage, apart from the step's retries")
	require.Equal(t, 30, *fetch.Retry[1].MaxDelaySeconds)
	require.Equal(t, []string{"Api.Http5xx"}, fetch.Retry[2].ErrorEquals, "the step's own errors are passed through")
	require.Equal(t, 3, *fetch.Retry[2].MaxAttempts)
	require.Nil(t, fetch.Retry[2].IntervalSeconds, "unset interval keeps the ASL default")

	require.Equal(t, compiler.DefaultRetryErrors, sm.States["Step default_errors"].Retry[2].ErrorEquals)
	require.Len(t, sm.States["Step plain"].Retry, 2, "no step policy: only the Lambda and database retriers")
	require.Nil(t, sm.States["Step plain"].TimeoutSeconds)

	// Catch: the failure goes to a Pass that names the step, then the fail task.
	require.Equal(t, "States.ALL", fetch.Catch[0].ErrorEquals[0])
	require.Equal(t, "$.error", fetch.Catch[0].ResultPath.String())
	failed := sm.States[fetch.Catch[0].Next]
	require.Equal(t, asl.TypePass, failed.Type)
	require.JSONEq(t, `"fetch"`, string(failed.Result))
	require.Equal(t, "$.error.stepKey", failed.ResultPath.String())
	failTask := sm.States[failed.Next]
	require.NoError(t, json.Unmarshal(failTask.Parameters, &params))
	require.Equal(t, map[string]any{"action": "fail", "executionId.$": "$.executionId", "error.$": "$.error"}, params["Payload"])
	require.Equal(t, asl.TypeFail, sm.States[failTask.Next].Type)
}

func TestDefaultRetryErrorsAreStepErrorNames(t *testing.T) {
	t.Parallel()
	for _, e := range compiler.DefaultRetryErrors {
		require.Regexp(t, `^[A-Z][A-Za-z]*\.[A-Z][A-Za-z0-9]*$`, e)
	}
	require.False(t, slices.Contains(compiler.DefaultRetryErrors, "States.ALL"))
}

func TestDeterministicOutput(t *testing.T) {
	t.Parallel()
	wf := readWorkflow(t, filepath.Join("testdata", "steps_500", "workflow.json"))
	first, err := compiler.CompileJSON(wf, compiler.Options{})
	require.NoError(t, err)
	for range 3 {
		again, err := compiler.CompileJSON(wf, compiler.Options{})
		require.NoError(t, err)
		require.Equal(t, first, again)
	}
}
