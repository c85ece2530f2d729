package postgres_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/turbocat"
)

// TestStartStep: one statement claims a step and returns its execution,
// agent and upstream outputs; a second invocation waits on the live claim,
// a finished step answers with its stored outcome, a failed one is claimed
// again for the next attempt.
func TestStartStep(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	u := newUser(t, db, "start@example.com")
	ctx = turbocat.WithActor(ctx, &turbocat.Actor{UserID: u.ID, Role: u.Role})
	a := &turbocat.Agent{UserID: u.ID, Name: "a", Type: "code", Config: json.RawMessage(`{"source":"x"}`)}
	require.NoError(t, db.CreateAgent(ctx, a, 10))
	w := &turbocat.Workflow{UserID: u.ID, Name: "wf", Steps: []turbocat.WorkflowStep{{Key: "one", AgentID: a.ID}, {Key: "two", AgentID: a.ID, DependsOn: []string{"one"}}}}
	require.NoError(t, db.CreateWorkflow(ctx, w, 10))
	e, _, err := db.CreateExecution(ctx, turbocat.NewExecution{WorkflowID: w.ID, WorkflowVersion: 1, UserID: u.ID, Trigger: turbocat.TriggerAPI, Input: json.RawMessage(`{"n":1}`)})
	require.NoError(t, err)

	claim, ex, agent, outputs, err := db.StartStep(ctx, e.ID, "one", a.ID, time.Minute, false)
	require.NoError(t, err)
	require.True(t, claim.Claimed)
	require.Equal(t, 1, claim.Step.Attempt)
	require.Equal(t, e.ID, ex.ID)
	require.JSONEq(t, `{"n":1}`, string(ex.InputData))
	require.NotNil(t, agent)
	require.Equal(t, a.ID, agent.ID)
	require.JSONEq(t, `{"source":"x"}`, string(agent.Config))
	require.Nil(t, outputs, "outputs are loaded only when asked for")

	again, _, _, _, err := db.StartStep(ctx, e.ID, "one", a.ID, time.Minute, false)
	require.NoError(t, err)
	require.False(t, again.Claimed, "a live claim is not taken over")
	require.Equal(t, turbocat.StepRunning, again.Step.Status)

	ok, err := db.FinishStep(ctx, e.ID, "one", claim.ClaimID, turbocat.StepResult{Output: json.RawMessage(`{"x":1}`)})
	require.NoError(t, err)
	require.True(t, ok)
	done, _, _, _, err := db.StartStep(ctx, e.ID, "one", a.ID, time.Minute, false)
	require.NoError(t, err)
	require.False(t, done.Claimed)
	require.Equal(t, turbocat.StepCompleted, done.Step.Status)

	// The next step gets the upstream outputs with its claim.
	two, _, _, outputs, err := db.StartStep(ctx, e.ID, "two", a.ID, time.Minute, true)
	require.NoError(t, err)
	require.True(t, two.Claimed)
	require.Len(t, outputs, 1)
	require.JSONEq(t, `{"x":1}`, string(outputs["one"]))
	ok, err = db.FinishStep(ctx, e.ID, "two", two.ClaimID, turbocat.StepResult{Error: json.RawMessage(`{"error":"E","cause":"c"}`)})
	require.NoError(t, err)
	require.True(t, ok)
	retry, _, _, _, err := db.StartStep(ctx, e.ID, "two", a.ID, time.Minute, true)
	require.NoError(t, err)
	require.True(t, retry.Claimed, "a failed step is claimed again by the next attempt")
	require.Equal(t, 2, retry.Step.Attempt)

	// An agent of another user, or none, is not returned.
	_, _, agent, _, err = db.StartStep(ctx, e.ID, "three", "00000000-0000-0000-0000-000000000001", time.Minute, false)
	require.NoError(t, err)
	require.Nil(t, agent)

	_, _, _, _, err = db.StartStep(ctx, "00000000-0000-0000-0000-000000000002", "one", a.ID, time.Minute, false)
	require.Equal(t, turbocat.ENOTFOUND, turbocat.ErrorCodeOf(err))
	_, _, _, _, err = db.StartStep(ctx, "not-a-uuid", "one", a.ID, time.Minute, false)
	require.Equal(t, turbocat.ENOTFOUND, turbocat.ErrorCodeOf(err))
}
