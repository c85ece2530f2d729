package compiler_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/compiler"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// chain is a sequential workflow of n steps, each retried retries times.
func chain(n, retries int) compiler.Workflow {
	wf := compiler.Workflow{ID: "wf-limits"}
	for i := range n {
		s := compiler.Step{Key: fmt.Sprintf("s%d", i)}
		if i > 0 {
			s.DependsOn = []string{fmt.Sprintf("s%d", i-1)}
		}
		if retries > 0 {
			s.Retry = &compiler.RetryPolicy{MaxAttempts: retries}
		}
		wf.Steps = append(wf.Steps, s)
	}
	return wf
}

// TestBudgetOfTheLargestWorkflow: 500 steps, the most a workflow may have,
// fit the definition limit, and the budget says how near they come. Their
// worst case (every Task exhausting its retriers, including the ones for
// Lambda service errors and an unavailable database) passes the history
// limit: the budget says so with the numbers, and compiling still succeeds.
// A 100-step workflow has no such warning.
func TestBudgetOfTheLargestWorkflow(t *testing.T) {
	t.Parallel()
	sm, err := compiler.Compile(chain(100, 2), compiler.Options{})
	require.NoError(t, err)
	b, err := compiler.Measure(sm)
	require.NoError(t, err)
	require.Empty(t, b.Warning(), "%+v", b)

	sm, err = compiler.Compile(chain(500, 0), compiler.Options{})
	require.NoError(t, err, "a worst case past the history limit is a warning, not a refusal")
	b, err = compiler.Measure(sm)
	require.NoError(t, err)
	def, err := compiler.MarshalCompactJSON(sm)
	require.NoError(t, err)
	require.Equal(t, len(def), b.DefinitionBytes)
	require.Less(t, b.DefinitionBytes, compiler.MaxDefinitionBytes)
	require.Greater(t, b.HistoryEvents, 500*5, "each step records at least five events")
	require.Less(t, b.HistoryEvents, compiler.MaxHistoryEvents)
	require.Greater(t, b.WorstCaseHistoryEvents, compiler.MaxHistoryEvents)
	require.Contains(t, b.Warning(), fmt.Sprintf("up to %d history events, past Step Functions' 25000", b.WorstCaseHistoryEvents))
}

// TestDefinitionsPastTheLimitAreRefused: a workflow whose machine Step
// Functions would refuse is refused at compile time, as a validation error
// naming the sizes.
func TestDefinitionsPastTheLimitAreRefused(t *testing.T) {
	t.Parallel()
	_, err := compiler.Compile(chain(3000, 0), compiler.Options{MaxSteps: 3000})
	require.Error(t, err)
	require.Equal(t, turbocat.EVALIDATION, turbocat.ErrorCodeOf(err), "%v", err)
	require.Contains(t, err.Error(), "past Step Functions' 1048576-byte limit")
}
