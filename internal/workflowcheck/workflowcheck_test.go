package workflowcheck_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/turbocat"
	"github.com/turbocat/turbocat/internal/workflowcheck"
	"github.com/turbocat/turbocat/internal/workflowcheck/workflowchecktest"
)

// TestCases runs the shared table through the validator; the service and
// the CLI run the same table (issue 18, item 3).
func TestCases(t *testing.T) {
	t.Parallel()
	for _, tc := range workflowchecktest.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			var w turbocat.Workflow
			require.NoError(t, json.Unmarshal([]byte(tc.Workflow), &w))
			got := workflowcheck.Check(&w, workflowcheck.Options{})
			Match(t, tc.Want, got)
		})
	}
}

// Match asserts that got holds exactly the problems of want.
func Match(t *testing.T, want []workflowchecktest.Want, got []turbocat.FieldError) {
	t.Helper()
	require.Len(t, got, len(want), "%+v", got)
	for _, w := range want {
		found := false
		for _, g := range got {
			if g.Field == w.Field {
				require.Contains(t, g.Message, w.Contains, "%s", w.Field)
				found = true
			}
		}
		require.True(t, found, "no problem on %s in %+v", w.Field, got)
	}
}

func TestScheduleProblem(t *testing.T) {
	t.Parallel()
	require.Empty(t, workflowcheck.ScheduleProblem("rate(5 minutes)", ""))
	require.Empty(t, workflowcheck.ScheduleProblem("cron(0 9 * * ? *)", "Europe/Paris"))
	require.Contains(t, workflowcheck.ScheduleProblem("rate(1 minutes)", ""), "singular")
	require.Contains(t, workflowcheck.ScheduleProblem("rate(5 minutes)", "Mars/Olympus"), "Mars/Olympus")
}
