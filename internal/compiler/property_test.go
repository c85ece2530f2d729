package compiler_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/asl"
	"github.com/turbocat/turbocat/internal/compiler"
)

// randomWorkflow returns a random DAG workflow: each step depends on earlier
// steps (within window positions) with probability p; the step list is
// shuffled so input order differs from dependency order.
func randomWorkflow(rng *rand.Rand, size, window int, p float64) compiler.Workflow {
	steps := make([]compiler.Step, size)
	for i := range steps {
		steps[i].Key = fmt.Sprintf("step_%d", i)
		for j := max(0, i-window); j < i; j++ {
			if rng.Float64() < p {
				steps[i].DependsOn = append(steps[i].DependsOn, steps[j].Key)
			}
		}
		if rng.IntN(4) == 0 {
			steps[i].TimeoutSeconds = 1 + rng.IntN(600)
			steps[i].Retry = &compiler.RetryPolicy{MaxAttempts: rng.IntN(4), IntervalSeconds: rng.IntN(5)}
		}
	}
	rng.Shuffle(len(steps), func(i, j int) { steps[i], steps[j] = steps[j], steps[i] })
	return compiler.Workflow{ID: "wf_random", Version: 1, Name: "random", Steps: steps}
}

func TestEveryDependencyRespectedOnRandomDAGs(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 8))
	for iter := 0; iter < 300; iter++ {
		size := 1 + rng.IntN(30)
		wf := randomWorkflow(rng, size, 1+rng.IntN(size), []float64{0.1, 0.3, 0.6}[iter%3])
		data, err := compiler.CompileJSON(wf, compiler.Options{})
		require.NoError(t, err)
		sm, err := asl.Parse(data)
		require.NoError(t, err, "compiled definition is structurally valid")
		requireRespectsDependencies(t, wf, sm)
		n, err := compiler.Transitions(sm, nil)
		require.NoError(t, err)
		require.GreaterOrEqual(t, n, size, "at least one transition per step")
	}
}

func TestTransitions(t *testing.T) {
	t.Parallel()
	chain := compiler.Workflow{ID: "c", Steps: []compiler.Step{
		{Key: "fetch"}, {Key: "summarize", DependsOn: []string{"fetch"}}, {Key: "notify", DependsOn: []string{"summarize"}},
	}}
	diamond := compiler.Workflow{ID: "d", Steps: []compiler.Step{
		{Key: "a"}, {Key: "b", DependsOn: []string{"a"}}, {Key: "c", DependsOn: []string{"a"}}, {Key: "d", DependsOn: []string{"b", "c"}},
	}}
	fanOut := compiler.Workflow{ID: "f", Steps: []compiler.Step{{Key: "plan"}, {Key: "x", DependsOn: []string{"plan"}}, {Key: "y", DependsOn: []string{"plan"}}}}
	tests := []struct {
		name     string
		wf       compiler.Workflow
		attempts map[string]int
		want     int
	}{
		// One Task per step; the last step finalizes, no extra state.
		{"chain", chain, nil, 3},
		// a, Parallel 1, b, c, d.
		{"diamond", diamond, nil, 5},
		// plan, Parallel 1, x, y, Finalize.
		{"ends in parallel", fanOut, nil, 5},
		// Retries are transitions too.
		{"chain with retries", chain, map[string]int{"Step summarize": 3}, 5},
		{"retry inside a branch", diamond, map[string]int{"Step c": 2}, 6},
		// SeparateFinalize: the chain pays one Finalize transition.
		{"separate finalize", chain, nil, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sm, err := compiler.Compile(tt.wf, compiler.Options{SeparateFinalize: tt.name == "separate finalize"})
			require.NoError(t, err)
			got, err := compiler.Transitions(sm, tt.attempts)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestTransitionsRejectsUnsupportedPaths(t *testing.T) {
	t.Parallel()
	sm, err := asl.Parse([]byte(`{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,"End":true}}}`))
	require.NoError(t, err)
	_, err = compiler.Transitions(sm, nil)
	require.ErrorContains(t, err, `state "W" of type Wait is not supported`)
}

// FuzzCompile compiles random DAGs of up to 500 steps (the default limit)
// built from the fuzz input and checks that the definition is structurally
// valid, deterministic, under 1 MB (compact, as deployed), respects every
// dependency, and costs at least one transition per step.
func FuzzCompile(f *testing.F) {
	f.Add(uint64(1), uint16(5), uint16(3), uint8(40))
	f.Add(uint64(2), uint16(60), uint16(10), uint8(20))
	f.Add(uint64(3), uint16(499), uint16(499), uint8(1))
	f.Add(uint64(4), uint16(499), uint16(2), uint8(100))
	f.Fuzz(func(t *testing.T, seed uint64, size, window uint16, pct uint8) {
		rng := rand.New(rand.NewPCG(seed, uint64(size)))
		n := 1 + int(size)%500
		wf := randomWorkflow(rng, n, 1+int(window)%n, float64(pct%101)/100)
		sm, err := compiler.Compile(wf, compiler.Options{})
		require.NoError(t, err)
		data, err := compiler.MarshalJSON(sm)
		require.NoError(t, err)
		again, err := compiler.CompileJSON(wf, compiler.Options{})
		require.NoError(t, err)
		require.Equal(t, data, again, "deterministic")
		compact, err := compiler.MarshalCompactJSON(sm)
		require.NoError(t, err)
		require.Less(t, len(compact), 1<<20, "definition under 1 MB")
		parsed, err := asl.Parse(compact)
		require.NoError(t, err)
		requireRespectsDependencies(t, wf, parsed)
		transitions, err := compiler.Transitions(sm, nil)
		require.NoError(t, err)
		require.GreaterOrEqual(t, transitions, n)
	})
}

// benchmarkCompile measures Compile alone, and Compile followed by the
// compact JSON a deployer submits.
func benchmarkCompile(b *testing.B, wf compiler.Workflow) {
	b.Helper()
	opts := compiler.Options{MaxSteps: len(wf.Steps)}
	b.Run("struct", func(b *testing.B) {
		for b.Loop() {
			if _, err := compiler.Compile(wf, opts); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("compact-json", func(b *testing.B) {
		var size int
		for b.Loop() {
			sm, err := compiler.Compile(wf, opts)
			if err != nil {
				b.Fatal(err)
			}
			data, err := compiler.MarshalCompactJSON(sm)
			if err != nil {
				b.Fatal(err)
			}
			size = len(data)
		}
		b.ReportMetric(float64(size), "bytes/def")
	})
}

// BenchmarkCompile1000 compiles a random sparse 1,000-step DAG to JSON.
func BenchmarkCompile1000(b *testing.B) {
	benchmarkCompile(b, randomWorkflow(rand.New(rand.NewPCG(9, 10)), 1000, 30, 0.08))
}

// BenchmarkCompile1000Layered compiles 50 stages of 20 parallel steps.
func BenchmarkCompile1000Layered(b *testing.B) {
	var steps []compiler.Step
	var prev []string
	for s := 0; s < 50; s++ {
		var cur []string
		for w := 0; w < 20; w++ {
			k := fmt.Sprintf("s%02d_w%02d", s, w)
			steps = append(steps, compiler.Step{Key: k, DependsOn: prev})
			cur = append(cur, k)
		}
		prev = cur
	}
	benchmarkCompile(b, compiler.Workflow{ID: "layered", Steps: steps})
}
