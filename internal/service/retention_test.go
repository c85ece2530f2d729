package service_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/postgres"
	"github.com/turbocat/turbocat/internal/postgres/pgtest"
	"github.com/turbocat/turbocat/internal/service"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// TestRetention: a pass deletes the logs of runs that ended before the
// retention period and the events dispatched before it, and keeps the
// runs themselves and everything recent.
func TestRetention(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.Pool(t)
	db := postgres.NewDB(pool)
	user := newUser(t, db)
	ctx = turbocat.WithActor(ctx, &turbocat.Actor{UserID: user})
	a := &turbocat.Agent{UserID: user, Name: "a", Type: "code", Config: json.RawMessage(`{"source":"function main(){}"}`)}
	require.NoError(t, db.CreateAgent(ctx, a, 10))
	w := &turbocat.Workflow{UserID: user, Name: "w", Steps: []turbocat.WorkflowStep{{Key: "s", AgentID: a.ID, DependsOn: []string{}, Inputs: json.RawMessage(`{}`)}}}
	require.NoError(t, db.CreateWorkflow(ctx, w, 10))
	count := func(q string, args ...any) int {
		var n int
		require.NoError(t, pool.QueryRow(ctx, q, args...).Scan(&n))
		return n
	}
	run := func() string {
		e, _, err := db.CreateExecution(ctx, turbocat.NewExecution{WorkflowID: w.ID, WorkflowVersion: 1, UserID: user, Trigger: "api"})
		require.NoError(t, err)
		require.NoError(t, db.AppendLogs(ctx, e.ID, nil, []turbocat.LogLine{{Time: time.Now(), Level: "info", Message: "hello"}}))
		require.NoError(t, db.RecordStepTurn(ctx, &turbocat.StepTurn{ExecutionID: e.ID, StepKey: "s", Attempt: 1, Kind: "model", Output: json.RawMessage(`{"text":"hi"}`)}))
		done := turbocat.NewEvent(user, turbocat.EventExecutionSucceeded, map[string]string{"executionId": e.ID})
		_, err = db.FinishExecution(ctx, e.ID, turbocat.Outcome{Status: turbocat.ExecutionCompleted, Events: []turbocat.Event{done}})
		require.NoError(t, err)
		require.Equal(t, 1, count(`SELECT count(*) FROM events WHERE id = $1`, done.ID), "the run's event waits in the outbox")
		require.NoError(t, db.EventsDispatched(ctx, done.ID))
		require.Zero(t, count(`SELECT count(*) FROM events WHERE id = $1`, done.ID), "an event handed on leaves the outbox")
		return e.ID
	}
	old, recent := run(), run()
	_, err := pool.Exec(ctx, `UPDATE executions SET completed_at = now() - interval '100 days' WHERE id = $1`, old)
	require.NoError(t, err)

	r := &service.Retention{Store: db, Period: 90 * 24 * time.Hour}
	require.NoError(t, r.Prune(ctx))
	require.Zero(t, count(`SELECT count(*) FROM execution_logs WHERE execution_id = $1`, old), "the old run's logs are gone")
	require.Equal(t, 1, count(`SELECT count(*) FROM execution_logs WHERE execution_id = $1`, recent), "the recent run's logs stay")
	require.Zero(t, count(`SELECT count(*) FROM execution_step_turns WHERE execution_id = $1`, old), "and its recorded turns")
	require.Equal(t, 1, count(`SELECT count(*) FROM execution_step_turns WHERE execution_id = $1`, recent))
	require.Equal(t, 2, count(`SELECT count(*) FROM executions`), "runs themselves are kept")
}
