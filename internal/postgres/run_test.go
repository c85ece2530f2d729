package postgres_test

import (
	"encoding/json"
	"errors"
	"fmt"
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

// TestStepResultsTogether: results recorded in one statement (the group
// commit of concurrent steps) land each on its own step, a completed one
// with its output and usage, a failed one with its error, and a result
// whose claim was taken over is refused while the others are recorded.
func TestStepResultsTogether(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	u := newUser(t, db, "together@example.com")
	ctx = turbocat.WithActor(ctx, &turbocat.Actor{UserID: u.ID, Role: u.Role})
	a := &turbocat.Agent{UserID: u.ID, Name: "a", Type: "code", Config: json.RawMessage(`{"source":"x"}`)}
	require.NoError(t, db.CreateAgent(ctx, a, 10))
	w := &turbocat.Workflow{UserID: u.ID, Name: "wf", Steps: []turbocat.WorkflowStep{{Key: "ok", AgentID: a.ID}, {Key: "bad", AgentID: a.ID}, {Key: "stale", AgentID: a.ID}}}
	require.NoError(t, db.CreateWorkflow(ctx, w, 10))
	var steps []turbocat.ClaimedStep
	for range 2 {
		e, _, err := db.CreateExecution(ctx, turbocat.NewExecution{WorkflowID: w.ID, WorkflowVersion: 1, UserID: u.ID, Trigger: turbocat.TriggerAPI})
		require.NoError(t, err)
		for _, key := range []string{"ok", "bad", "stale"} {
			s, err := db.StartStep(ctx, turbocat.StepStart{ExecutionID: e.ID, StepKey: key, AgentID: a.ID, Lease: time.Minute})
			require.NoError(t, err)
			require.True(t, s.Claim.Claimed)
			claim := s.Claim.ClaimID
			if key == "stale" { // another invocation took the claim over
				s, err = db.StartStep(ctx, turbocat.StepStart{ExecutionID: e.ID, StepKey: key, AgentID: a.ID, Lease: time.Minute, Takeover: claim})
				require.NoError(t, err)
				require.True(t, s.Claim.Claimed)
			}
			steps = append(steps, turbocat.ClaimedStep{ExecutionID: e.ID, StepKey: key, ClaimID: claim})
		}
	}
	results := make([]turbocat.StepResult, len(steps))
	for i, s := range steps {
		switch s.StepKey {
		case "bad":
			results[i] = turbocat.StepResult{Error: json.RawMessage(fmt.Sprintf(`{"error":"E%d"}`, i)), DurationMs: int64(i)}
		default:
			results[i] = turbocat.StepResult{Output: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)), Input: json.RawMessage(`{"in":true}`),
				InputTokens: int64(10 + i), OutputTokens: int64(20 + i), CostUSD: 0.5, DurationMs: int64(i)}
		}
	}
	oks, err := db.FinishStepsTogether(ctx, steps, results)
	require.NoError(t, err)
	for i, s := range steps {
		require.Equal(t, s.StepKey != "stale", oks[i], "step %s of run %d recorded", s.StepKey, i/3)
	}
	for run := range 2 {
		got, err := db.ExecutionSteps(ctx, u.ID, steps[run*3].ExecutionID)
		require.NoError(t, err)
		byKey := map[string]*turbocat.ExecutionStep{}
		for _, s := range got {
			byKey[s.StepKey] = s
		}
		ok, bad, stale := byKey["ok"], byKey["bad"], byKey["stale"]
		i := run * 3
		require.Equal(t, turbocat.StepCompleted, ok.Status)
		require.JSONEq(t, fmt.Sprintf(`{"n":%d}`, i), string(ok.Output))
		require.JSONEq(t, `{"in":true}`, string(ok.Input))
		require.Equal(t, int64(10+i), ok.InputTokens)
		require.Equal(t, int64(20+i), ok.OutputTokens)
		require.InDelta(t, 0.5, ok.CostUSD, 1e-9)
		require.Equal(t, turbocat.StepFailed, bad.Status)
		require.JSONEq(t, fmt.Sprintf(`{"error":"E%d"}`, i+1), string(bad.Error))
		require.Nil(t, bad.Output)
		require.NotNil(t, bad.DurationMs)
		require.Equal(t, int64(i+1), *bad.DurationMs)
		require.Equal(t, turbocat.StepRunning, stale.Status, "a result whose claim was taken over is not recorded")
	}
}

// TestConcurrentStepResults: many steps finishing at once (recorded
// together through the group commit) each keep their own result, and a
// result the database refuses fails only its own step.
func TestConcurrentStepResults(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	u := newUser(t, db, "concurrent@example.com")
	ctx = turbocat.WithActor(ctx, &turbocat.Actor{UserID: u.ID, Role: u.Role})
	a := &turbocat.Agent{UserID: u.ID, Name: "a", Type: "code", Config: json.RawMessage(`{"source":"x"}`)}
	require.NoError(t, db.CreateAgent(ctx, a, 10))
	const n = 40
	var keys []turbocat.WorkflowStep
	for i := range n {
		keys = append(keys, turbocat.WorkflowStep{Key: fmt.Sprintf("s%d", i), AgentID: a.ID})
	}
	w := &turbocat.Workflow{UserID: u.ID, Name: "wide", Steps: keys}
	require.NoError(t, db.CreateWorkflow(ctx, w, 10))
	e, _, err := db.CreateExecution(ctx, turbocat.NewExecution{WorkflowID: w.ID, WorkflowVersion: 1, UserID: u.ID, Trigger: turbocat.TriggerAPI})
	require.NoError(t, err)
	claims := make([]string, n)
	for i := range n {
		s, err := db.StartStep(ctx, turbocat.StepStart{ExecutionID: e.ID, StepKey: fmt.Sprintf("s%d", i), AgentID: a.ID, Lease: time.Minute})
		require.NoError(t, err)
		claims[i] = s.Claim.ClaimID
	}
	start := make(chan struct{})
	errs := make(chan error, n)
	for i := range n {
		go func() {
			<-start
			output := json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))
			if i == 0 {
				output = json.RawMessage(`{"i":"\u0000"}`) // valid JSON that jsonb refuses
			}
			ok, err := db.FinishStep(ctx, turbocat.ClaimedStep{ExecutionID: e.ID, StepKey: fmt.Sprintf("s%d", i), ClaimID: claims[i]},
				turbocat.StepResult{Output: output})
			switch {
			case i == 0 && err == nil:
				err = errors.New("a result jsonb cannot hold was recorded")
			case i == 0:
				err = nil
			case err == nil && !ok:
				err = fmt.Errorf("step s%d not recorded", i)
			}
			errs <- err
		}()
	}
	close(start)
	for range n {
		require.NoError(t, <-errs)
	}
	got, err := db.ExecutionSteps(ctx, u.ID, e.ID)
	require.NoError(t, err)
	require.Len(t, got, n)
	for _, s := range got {
		if s.StepKey == "s0" {
			require.Equal(t, turbocat.StepRunning, s.Status, "the refused result is not recorded, and fails only its own step")
			continue
		}
		require.Equal(t, turbocat.StepCompleted, s.Status)
		require.JSONEq(t, fmt.Sprintf(`{"i":%s}`, s.StepKey[1:]), string(s.Output))
	}
}
