package compiler_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/asl"
	"github.com/turbocat/turbocat/internal/compiler"
	"github.com/turbocat/turbocat/internal/dag"
	"github.com/turbocat/turbocat/internal/runtime"
)

// randomFlowWorkflow is randomWorkflow with control flow: conditions,
// for-each, waits, approvals, child runs and onError continue.
func randomFlowWorkflow(rng *rand.Rand, size, window int, p float64) compiler.Workflow {
	wf := randomWorkflow(rng, size, window, p)
	for i := range wf.Steps {
		s := &wf.Steps[i]
		switch rng.IntN(10) {
		case 0:
			s.Type, s.Retry = "wait", nil
		case 1:
			s.Type, s.Retry = "approval", nil
		case 2:
			s.Type, s.Retry = "workflow", nil
		case 3, 4:
			s.ForEach, s.MaxConcurrency = "{{inputs.items}}", rng.IntN(4)
		}
		if rng.IntN(3) == 0 {
			s.When = "inputs.go == true"
		}
		if rng.IntN(5) == 0 {
			s.OnError = "continue"
		}
	}
	return wf
}

// flowFake stands in for the steprunner of control-flow actions: gated
// steps run or not as run says; it records, on a logical clock, when each
// step started (its first Task) and was done (its last Task, or a Check
// that skipped it).
type flowFake struct {
	rt       *runtime.Runtime
	child    string
	run      map[string]bool
	mu       sync.Mutex
	clock    int
	started  map[string]int
	done     map[string]int
	bodies   map[string]int // body Tasks per step (not checks)
	finalize int
}

func (f *flowFake) tick(key string, first bool) int {
	f.clock++
	if _, ok := f.started[key]; !ok && first {
		f.started[key] = f.clock
	}
	return f.clock
}

func (f *flowFake) invoke(_ context.Context, payload json.RawMessage) (json.RawMessage, error) {
	var p struct {
		Action    string `json:"action"`
		StepKey   string `json:"stepKey"`
		Finalize  bool   `json:"finalize"`
		TaskToken string `json:"taskToken"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	k := p.StepKey
	switch p.Action {
	case "check":
		f.tick(k, true)
		if !f.run[k] {
			f.done[k] = f.clock
		}
		return json.Marshal(map[string]bool{"run": f.run[k]})
	case "items":
		f.tick(k, true)
		if !f.run[k] {
			f.done[k] = f.clock
			return json.RawMessage(`{"run":false,"items":[]}`), nil
		}
		f.bodies[k]++
		return json.RawMessage(`{"run":true,"items":[0,1,2]}`), nil
	case "item", "wait", "child":
		f.tick(k, true)
		f.bodies[k]++
		if p.Action == "wait" {
			return json.Marshal(map[string]string{"until": time.Now().UTC().Format(time.RFC3339)})
		}
		if p.Action == "child" {
			return json.Marshal(map[string]string{"executionId": fmt.Sprintf("child-%s-%d", k, f.clock), "stateMachineArn": f.child})
		}
	case "step", "collect", "resume":
		f.tick(k, true)
		f.bodies[k]++
		f.done[k] = f.clock
	case "approval":
		f.tick(k, true)
		f.bodies[k]++
		f.done[k] = f.clock
		go func() { _ = f.rt.SendTaskSuccess(context.Background(), p.TaskToken, `{"approved":true}`) }()
	case "finalize":
		f.finalize++
	default:
		return nil, &runtime.TaskError{Name: "Test.UnexpectedAction", Cause: string(payload)}
	}
	if p.Finalize {
		f.finalize++
	}
	return json.RawMessage(`{"ok":true}`), nil
}

// TestControlFlowOnRandomDAGs: random DAGs with conditions, for-each,
// waits, approvals, child runs and onError continue compile to valid
// machines that run on the local runtime: a gated step's body runs only
// when its check says so, every step starts after each of its
// dependencies is done (ran or skipped), and the run finalizes once.
func TestControlFlowOnRandomDAGs(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(15, 16))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rt, err := runtime.New(ctx, runtime.Options{})
	require.NoError(t, err)
	t.Cleanup(rt.Close)
	child, err := rt.CreateStateMachine(ctx, runtime.CreateStateMachineInput{Name: "child", Definition: `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`})
	require.NoError(t, err)
	for iter := 0; iter < 40; iter++ {
		size := 1 + rng.IntN(12)
		wf := randomFlowWorkflow(rng, size, 1+rng.IntN(size), []float64{0.2, 0.4, 0.7}[iter%3])
		data, err := compiler.CompileJSON(wf, compiler.Options{StepRunnerFunction: fmt.Sprintf("steprunner-%d", iter)})
		require.NoError(t, err)
		sm, err := asl.Parse(data)
		require.NoError(t, err, "compiled definition is structurally valid")
		requireRespectsDependencies(t, wf, sm)

		fake := &flowFake{rt: rt, child: child.StateMachineArn, run: map[string]bool{}, started: map[string]int{}, done: map[string]int{}, bodies: map[string]int{}}
		for _, s := range wf.Steps {
			fake.run[s.Key] = rng.IntN(3) > 0
		}
		rt.RegisterFunction(fmt.Sprintf("steprunner-%d", iter), fake.invoke)
		created, err := rt.CreateStateMachine(ctx, runtime.CreateStateMachineInput{Name: fmt.Sprintf("wf-%d", iter), Definition: string(data)})
		require.NoError(t, err)
		ex, err := rt.StartSyncExecution(ctx, runtime.StartInput{StateMachineArn: created.StateMachineArn, Name: "x", Input: `{"executionId":"x"}`})
		require.NoError(t, err)
		require.Equal(t, runtime.StatusSucceeded, ex.Status, "iteration %d: %s %s\n%s", iter, ex.Error, ex.Cause, data)

		nodes := make([]dag.Node, len(wf.Steps))
		for i, s := range wf.Steps {
			nodes[i] = dag.Node{Key: s.Key, DependsOn: s.DependsOn}
		}
		g, err := dag.New(nodes, dag.Options{})
		require.NoError(t, err)
		fake.mu.Lock()
		require.Equal(t, 1, fake.finalize, "iteration %d: the run finalizes once", iter)
		for _, s := range wf.Steps {
			gated := s.When != "" || s.Type == "approval" || s.Type == "workflow" || skippableByRule(wf, s.Key)
			ran := fake.bodies[s.Key] > 0
			if gated {
				require.Equal(t, fake.run[s.Key], ran, "iteration %d: step %s runs exactly when its check says so", iter, s.Key)
			} else {
				require.True(t, ran, "iteration %d: step %s is not gated and runs", iter, s.Key)
			}
			require.Contains(t, fake.done, s.Key, "iteration %d: step %s ends", iter, s.Key)
			for _, d := range g.DependsOn(s.Key) {
				require.Less(t, fake.done[d], fake.started[s.Key], "iteration %d: %s starts after %s is done", iter, s.Key, d)
			}
		}
		fake.mu.Unlock()
	}
}

// skippableByRule: every dependency may be skipped (the compiler's rule).
func skippableByRule(wf compiler.Workflow, key string) bool {
	by := map[string]compiler.Step{}
	for _, s := range wf.Steps {
		by[s.Key] = s
	}
	var may func(k string) bool
	may = func(k string) bool {
		s := by[k]
		if s.When != "" {
			return true
		}
		if len(s.DependsOn) == 0 {
			return false
		}
		for _, d := range s.DependsOn {
			if !may(d) {
				return false
			}
		}
		return true
	}
	return may(key)
}

// TestASLValidatorAcceptsRandomFlowMachines runs asl-validator over random
// machines with control flow.
func TestASLValidatorAcceptsRandomFlowMachines(t *testing.T) {
	t.Parallel()
	script, err := filepath.Abs(filepath.Join("..", "..", "tools", "aslvalidator", "validate.sh"))
	require.NoError(t, err)
	if _, err := os.Stat(filepath.Join(filepath.Dir(script), "node_modules", ".bin", "asl-validator")); err != nil {
		t.Skip("asl-validator is not installed here: run npm ci --prefix tools/aslvalidator")
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed here; asl-validator needs it")
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(21, 22))
	var files []string
	for i := 0; i < 15; i++ {
		size := 1 + rng.IntN(30)
		data, err := compiler.CompileJSON(randomFlowWorkflow(rng, size, 1+rng.IntN(size), []float64{0.1, 0.3, 0.6}[i%3]), compiler.Options{})
		require.NoError(t, err)
		f := filepath.Join(dir, fmt.Sprintf("flow-%02d.asl.json", i))
		require.NoError(t, os.WriteFile(f, data, 0o644))
		files = append(files, f)
	}
	out, err := exec.Command(script, files...).CombinedOutput()
	require.NoError(t, err, "asl-validator rejected a compiled machine:\n%s", out)
	require.Contains(t, string(out), fmt.Sprintf("%d definitions valid", len(files)))
}

// TestBudgetCountsForEachItems: a for-each step's worst case counts every
// item it may run, so a workflow with a few of them is warned about Step
// Functions' history limit.
func TestBudgetCountsForEachItems(t *testing.T) {
	t.Parallel()
	one := compiler.Workflow{ID: "w", Steps: []compiler.Step{{Key: "each", ForEach: "{{inputs.items}}"}}}
	sm, err := compiler.Compile(one, compiler.Options{})
	require.NoError(t, err)
	b, err := compiler.Measure(sm)
	require.NoError(t, err)
	require.Greater(t, b.WorstCaseHistoryEvents, compiler.MaxForEachItems*5, "every item's events count at worst")
	require.Less(t, b.HistoryEvents, 100, "one item in the ordinary case")
	require.Contains(t, b.Warning(), "past Step Functions' 25000")
}
