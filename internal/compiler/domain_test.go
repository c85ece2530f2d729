package compiler_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/compiler"
	"github.com/turbocat/turbocat/internal/turbocat"
)

func TestFromDomain(t *testing.T) {
	t.Parallel()
	w := &turbocat.Workflow{ID: "wf_1", Name: "demo", Version: 4, Steps: []turbocat.WorkflowStep{
		{Key: "fetch", AgentID: "ag_1", TimeoutSeconds: 30, Retry: &turbocat.RetryPolicy{
			MaxAttempts: 3, IntervalSeconds: 2, BackoffRate: 1.5, MaxDelaySeconds: 20, Errors: []string{"Api.Http5xx"},
		}},
		{Key: "notify", AgentID: "ag_2", DependsOn: []string{"fetch"}},
	}}
	got := compiler.FromDomain(w)
	require.Equal(t, compiler.Workflow{ID: "wf_1", Name: "demo", Version: 4, Steps: []compiler.Step{
		{Key: "fetch", TimeoutSeconds: 30, Retry: &compiler.RetryPolicy{
			MaxAttempts: 3, IntervalSeconds: 2, BackoffRate: 1.5, MaxDelaySeconds: 20, Errors: []string{"Api.Http5xx"},
		}},
		{Key: "notify", DependsOn: []string{"fetch"}},
	}}, got)

	sm, err := compiler.Compile(got, compiler.Options{})
	require.NoError(t, err)
	require.Equal(t, "Turbocat workflow \"demo\" wf_1 v4", sm.Comment)
	require.Equal(t, 30, *sm.States["Step fetch"].TimeoutSeconds)
}
