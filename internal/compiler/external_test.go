package compiler_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/compiler"
	"github.com/turbocat/turbocat/internal/executor"
)

// TestStateMachinesUpToDate checks that statemachines/*.asl.json is what the
// compiler produces today from statemachines/src (make generate rewrites them).
func TestStateMachinesUpToDate(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..", "statemachines")
	sources, err := filepath.Glob(filepath.Join(root, "src", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, sources)
	for _, src := range sources {
		name := strings.TrimSuffix(filepath.Base(src), ".json")
		wf := readWorkflow(t, src)
		got, err := compiler.CompileJSON(wf, compiler.Options{})
		require.NoError(t, err)
		want, err := os.ReadFile(filepath.Join(root, name+".asl.json"))
		require.NoError(t, err, "run make generate")
		requireSameText(t, string(want), string(got), name+".asl.json (run make generate)")
	}
}

// TestASLValidatorAcceptsRandomMachines runs the pinned asl-validator over
// machines compiled from random DAGs (the golden files and statemachines/ are
// checked by tools/aslvalidator/validate.sh in make test).
func TestASLValidatorAcceptsRandomMachines(t *testing.T) {
	t.Parallel()
	script, err := filepath.Abs(filepath.Join("..", "..", "tools", "aslvalidator", "validate.sh"))
	require.NoError(t, err)
	bin := filepath.Join(filepath.Dir(script), "node_modules", ".bin", "asl-validator")
	if _, err := os.Stat(bin); err != nil {
		t.Skip("asl-validator is not installed here: run npm ci --prefix tools/aslvalidator")
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed here; asl-validator needs it")
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(11, 12))
	var files []string
	for i := 0; i < 15; i++ {
		size := 1 + rng.IntN(40)
		wf := randomWorkflow(rng, size, 1+rng.IntN(size), []float64{0.1, 0.3, 0.6}[i%3])
		data, err := compiler.CompileJSON(wf, compiler.Options{})
		require.NoError(t, err)
		f := filepath.Join(dir, fmt.Sprintf("random-%02d.asl.json", i))
		require.NoError(t, os.WriteFile(f, data, 0o644))
		files = append(files, f)
	}
	out, err := exec.Command(script, files...).CombinedOutput()
	require.NoError(t, err, "asl-validator rejected a compiled machine:\n%s", out)
	require.Contains(t, string(out), fmt.Sprintf("%d definitions valid", len(files)))
}

// TestDefaultRetryErrorsAreTheRetryableOnes: a step's retry policy without
// errors retries every error the executors report as retryable: true (what
// an agent test run shows), Code.Timeout included (issue 18, item 5), plus
// the Task timeout and a crashed steprunner.
func TestDefaultRetryErrorsAreTheRetryableOnes(t *testing.T) {
	t.Parallel()
	want := append(executor.RetryableErrorNames(), "States.Timeout", "Lambda.Unknown")
	require.ElementsMatch(t, want, compiler.DefaultRetryErrors)
	sm, err := compiler.Compile(compiler.Workflow{ID: "w", Version: 1, Steps: []compiler.Step{
		{Key: "a", Retry: &compiler.RetryPolicy{MaxAttempts: 3, IntervalSeconds: 1, BackoffRate: 1}}}}, compiler.Options{})
	require.NoError(t, err)
	raw, err := compiler.MarshalCompactJSON(sm)
	require.NoError(t, err)
	require.Contains(t, string(raw), `"Code.Timeout"`, "a code agent's timeout is retried")
}
