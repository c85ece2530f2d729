package postgres_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/postgres"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// TestStartStep: one statement claims a step and returns its execution,
// agent and upstream outputs; a second invocation waits on the live claim,
// a finished step answers with its stored outcome, a failed one is claimed
// again for the next attempt.
func TestStartStep(t *testing.T) {
	t.Parallel()
	db, ctx, u, a, w := withWorkflow(t, "start@example.com", turbocat.WorkflowStep{Key: "one"}, turbocat.WorkflowStep{Key: "two", DependsOn: []string{"one"}})
	e, _, err := db.CreateExecution(ctx, turbocat.NewExecution{WorkflowID: w.ID, WorkflowVersion: 1, UserID: u.ID, Trigger: turbocat.TriggerAPI, Input: json.RawMessage(`{"n":1}`)})
	require.NoError(t, err)

	start := func(executionID, key, agentID string, withOutputs bool) (*turbocat.StartedStep, error) {
		return db.StartStep(ctx, turbocat.StepStart{ExecutionID: executionID, StepKey: key, AgentID: agentID, Lease: time.Minute, WithOutputs: withOutputs})
	}
	claimOf := func(s *turbocat.StartedStep, err error) *turbocat.StepClaim {
		t.Helper()
		require.NoError(t, err)
		return s.Claim
	}

	started, err := start(e.ID, "one", a.ID, false)
	require.NoError(t, err)
	claim, ex, agent, outputs := started.Claim, started.Execution, started.Agent, started.Outputs
	require.True(t, claim.Claimed)
	require.Equal(t, 1, claim.Step.Attempt)
	require.Equal(t, e.ID, ex.ID)
	require.JSONEq(t, `{"n":1}`, string(ex.InputData))
	require.NotNil(t, agent)
	require.Equal(t, a.ID, agent.ID)
	require.JSONEq(t, `{"source":"x"}`, string(agent.Config))
	require.Nil(t, outputs, "outputs are loaded only when asked for")

	again := claimOf(start(e.ID, "one", a.ID, false))
	require.False(t, again.Claimed, "a live claim is not taken over")
	require.Equal(t, turbocat.StepRunning, again.Step.Status)

	ok, err := db.FinishStep(ctx, turbocat.ClaimedStep{ExecutionID: e.ID, StepKey: "one", ClaimID: claim.ClaimID}, turbocat.StepResult{Output: json.RawMessage(`{"x":1}`)})
	require.NoError(t, err)
	require.True(t, ok)
	done := claimOf(start(e.ID, "one", a.ID, false))
	require.False(t, done.Claimed)
	require.Equal(t, turbocat.StepCompleted, done.Step.Status)

	// The next step gets the upstream outputs with its claim.
	started, err = start(e.ID, "two", a.ID, true)
	require.NoError(t, err)
	two, outputs := started.Claim, started.Outputs
	require.True(t, two.Claimed)
	require.Len(t, outputs, 1)
	require.JSONEq(t, `{"x":1}`, string(outputs["one"]))
	ok, err = db.FinishStep(ctx, turbocat.ClaimedStep{ExecutionID: e.ID, StepKey: "two", ClaimID: two.ClaimID}, turbocat.StepResult{Error: json.RawMessage(`{"error":"E","cause":"c"}`)})
	require.NoError(t, err)
	require.True(t, ok)
	retry := claimOf(start(e.ID, "two", a.ID, true))
	require.True(t, retry.Claimed, "a failed step is claimed again by the next attempt")
	require.Equal(t, 2, retry.Step.Attempt)

	// An agent of another user, or none, is not returned.
	started, err = start(e.ID, "three", "00000000-0000-0000-0000-000000000001", false)
	require.NoError(t, err)
	require.Nil(t, started.Agent)

	_, err = start("00000000-0000-0000-0000-000000000002", "one", a.ID, false)
	require.Equal(t, turbocat.ENOTFOUND, turbocat.ErrorCodeOf(err))
	_, err = start("not-a-uuid", "one", a.ID, false)
	require.Equal(t, turbocat.ENOTFOUND, turbocat.ErrorCodeOf(err))
}

// TestCreateExecutionStarted: a run given its engine reference is recorded
// already started, with its event, in one write; recording the same start
// again writes nothing, and a start the engine answered under another
// reference records that one.
func TestCreateExecutionStarted(t *testing.T) {
	t.Parallel()
	db, ctx, u, _, w := withWorkflow(t, "prestart@example.com", turbocat.WorkflowStep{Key: "one"})

	id := turbocat.NewID()
	ref := "arn:aws:states:us-east-1:123456789012:execution:wf:" + id
	ev := turbocat.NewEvent(u.ID, turbocat.EventExecutionStarted, map[string]string{"executionId": id})
	e, created, err := db.CreateExecution(ctx, turbocat.NewExecution{WorkflowID: w.ID, WorkflowVersion: 1, UserID: u.ID, Trigger: turbocat.TriggerAPI,
		ID: id, EngineRef: &ref, StartedEvents: []turbocat.Event{ev}})
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, id, e.ID)
	require.Equal(t, turbocat.ExecutionRunning, e.Status)
	require.NotNil(t, e.StartedAt)
	require.Equal(t, ref, *e.EngineRef)
	claimed, err := db.ClaimEvents(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, claimed, 1)
	require.Equal(t, ev.ID, claimed[0].ID, "its execution.started event is in the outbox")

	again, err := db.MarkStarted(ctx, id, ref, turbocat.NewEvent(u.ID, turbocat.EventExecutionStarted, nil))
	require.NoError(t, err)
	require.Nil(t, again, "the same start recorded again writes nothing")
	claimed, err = db.ClaimEvents(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Empty(t, claimed, "and no second event")

	other := "arn:aws:states:us-east-1:123456789012:execution:wf-2:" + id
	moved, err := db.MarkStarted(ctx, id, other)
	require.NoError(t, err)
	require.NotNil(t, moved)
	require.Equal(t, other, *moved.EngineRef)
	require.Equal(t, e.StartedAt.UTC(), moved.StartedAt.UTC(), "the start time stays")

	plain, _, err := db.CreateExecution(ctx, turbocat.NewExecution{WorkflowID: w.ID, WorkflowVersion: 1, UserID: u.ID, Trigger: turbocat.TriggerAPI})
	require.NoError(t, err)
	require.Equal(t, turbocat.ExecutionPending, plain.Status, "without an engine reference a run is recorded pending")
	require.Nil(t, plain.EngineRef)
}

// TestFinishStepThenStart: a step's result and the next step's claim in one
// batch; the claim sees the result's output. A result whose claim was lost
// records nothing and leaves the next step free for anyone to claim.
func TestFinishStepThenStart(t *testing.T) {
	t.Parallel()
	db, ctx, u, a, w := withWorkflow(t, "then@example.com", turbocat.WorkflowStep{Key: "one"}, turbocat.WorkflowStep{Key: "two", DependsOn: []string{"one"}})
	for _, lost := range []bool{false, true} {
		e, _, err := db.CreateExecution(ctx, turbocat.NewExecution{WorkflowID: w.ID, WorkflowVersion: 1, UserID: u.ID, Trigger: turbocat.TriggerAPI})
		require.NoError(t, err)
		one, err := db.StartStep(ctx, turbocat.StepStart{ExecutionID: e.ID, StepKey: "one", AgentID: a.ID, Lease: time.Minute})
		require.NoError(t, err)
		held := turbocat.ClaimedStep{ExecutionID: e.ID, StepKey: "one", ClaimID: one.Claim.ClaimID}
		if lost {
			held.ClaimID = turbocat.NewID() // another invocation took the step over
		}
		next := turbocat.StepStart{ExecutionID: e.ID, StepKey: "two", AgentID: a.ID, Lease: time.Minute, WithOutputs: true}
		ok, two, err := db.FinishStepThenStart(ctx, held, turbocat.StepResult{Output: json.RawMessage(`{"x":1}`)}, next)
		require.NoError(t, err)
		if lost {
			require.False(t, ok)
			require.Nil(t, two)
			again, err := db.StartStep(ctx, next)
			require.NoError(t, err)
			require.True(t, again.Claim.Claimed, "the next step is free at once")
			continue
		}
		require.True(t, ok)
		require.NotNil(t, two)
		require.True(t, two.Claim.Claimed)
		require.Equal(t, 1, two.Claim.Step.Attempt)
		require.JSONEq(t, `{"x":1}`, string(two.Outputs["one"]), "the claim sees the result recorded before it")
		require.Equal(t, a.ID, two.Agent.ID)
		held2 := turbocat.ClaimedStep{ExecutionID: e.ID, StepKey: "two", ClaimID: two.Claim.ClaimID}
		done, err := db.FinishStep(ctx, held2, turbocat.StepResult{Output: json.RawMessage(`{}`)})
		require.NoError(t, err)
		require.True(t, done, "the claim taken in the batch records the next result")
	}
}

// withWorkflow makes a user (acting in the returned context), a code agent
// and a workflow of steps all running it.
func withWorkflow(t *testing.T, email string, steps ...turbocat.WorkflowStep) (*postgres.DB, context.Context, *turbocat.User, *turbocat.Agent, *turbocat.Workflow) {
	t.Helper()
	db, ctx := setup(t)
	u := newUser(t, db, email)
	ctx = turbocat.WithActor(ctx, &turbocat.Actor{UserID: u.ID, Role: u.Role})
	a := &turbocat.Agent{UserID: u.ID, Name: "a", Type: "code", Config: json.RawMessage(`{"source":"x"}`)}
	require.NoError(t, db.CreateAgent(ctx, a, 10))
	for i := range steps {
		steps[i].AgentID = a.ID
	}
	w := &turbocat.Workflow{UserID: u.ID, Name: "wf", Steps: steps}
	require.NoError(t, db.CreateWorkflow(ctx, w, 10))
	return db, ctx, u, a, w
}
