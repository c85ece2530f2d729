package service

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/turbocat/turbocat/internal/turbocat"
)

// Reconciler keeps execution rows in line with the engine. A run's row is
// normally finished by its own state machine (the last Task, or the failure
// path); the reconciler covers what that cannot: the engine ending a run by
// itself (a timeout, an abort, a failure no Catch handled, a failure path
// that could not write because the database was down), a process that died
// between recording a run and starting it, and an engine that lost a run.
// It acts on engine status-change events (Reconcile) and sweeps every
// unfinished run periodically (Sweep), so nothing waits for a restart.
type Reconciler struct {
	Executions *Executions
	Logger     *slog.Logger
	// Grace leaves runs younger than this to their own start (default
	// 30 s): a run being started right now has no engine reference yet.
	Grace time.Duration
	// Transient reports database errors worth retrying (the store's
	// classifier); Reconcile retries those a few times.
	Transient func(error) bool
	Now       func() time.Time
}

func (r *Reconciler) now() time.Time { return nowOr(r.Now) }

func (r *Reconciler) logger() *slog.Logger {
	if r.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Logger
}

// engineStatuses maps the engine's terminal statuses to a run's.
var engineStatuses = map[string]string{
	turbocat.EngineFailed: turbocat.ExecutionFailed, turbocat.EngineTimedOut: turbocat.ExecutionTimedOut,
	turbocat.EngineAborted: turbocat.ExecutionCancelled,
}

// Reconcile brings a run's row in line with its engine execution's end: on
// AWS from the "Step Functions Execution Status Change" event, locally
// from the runtime. name is the engine's execution name, which is
// Turbocat's execution id. Runs that already finished, and statuses that
// need nothing (RUNNING, and SUCCEEDED, which the run's last Task records),
// are left. A database error worth retrying is retried for a few seconds;
// the periodic sweep covers a longer outage.
func (r *Reconciler) Reconcile(ctx context.Context, name, engineStatus, errName, cause string) error {
	status := engineStatuses[engineStatus]
	if engineStatus == turbocat.EngineSucceeded {
		// The run recorded its own end; a queued run may take its slot.
		if !r.Executions.anyQueued() {
			return nil
		}
		if e, err := r.Executions.Store.ExecutionByID(ctx, name); err == nil {
			r.Executions.StartQueued(ctx, e.UserID, e.WorkflowID)
		}
		return nil
	}
	if status == "" {
		return nil
	}
	delay := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := r.reconcile(ctx, name, status, engineStatus, errName, cause)
		if err == nil || r.Transient == nil || !r.Transient(err) || attempt == 5 {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
		delay *= 2
	}
}

func (r *Reconciler) reconcile(ctx context.Context, id, status, engineStatus, errName, cause string) error {
	e, err := r.Executions.Store.ExecutionByID(ctx, id)
	if turbocat.ErrorCodeOf(err) == turbocat.ENOTFOUND {
		return nil // not a Turbocat run
	}
	if err != nil {
		return err
	}
	if Finished(e.Status) {
		r.Executions.StartQueued(ctx, e.UserID, e.WorkflowID)
		return nil
	}
	if errName == "" {
		errName = "States." + engineStatus
	}
	if cause == "" {
		cause = "the workflow engine ended the run"
	}
	return r.finish(ctx, e, status, errName, cause)
}

func (r *Reconciler) finish(ctx context.Context, e *turbocat.Execution, status, errName, cause string) error {
	errJSON, _ := json.Marshal(map[string]string{"error": errName, "cause": cause})
	typ := turbocat.EventExecutionFailed
	if status == turbocat.ExecutionCancelled {
		typ = turbocat.EventExecutionCancelled
	}
	ev := turbocat.NewEvent(e.UserID, typ, map[string]any{"executionId": e.ID, "workflowId": e.WorkflowID,
		"status": status, "error": errName, "cause": cause})
	done, err := r.Executions.Store.FinishExecution(ctx, e.ID, turbocat.Outcome{Status: status, Error: errJSON, Events: []turbocat.Event{ev}})
	if done {
		r.Executions.Metrics.ExecutionFinished(status)
		r.logger().Info("run reconciled", "execution_id", e.ID, "status", status, "error_name", errName)
	}
	if err == nil && e.Status != turbocat.ExecutionQueued {
		r.Executions.StartQueued(ctx, e.UserID, e.WorkflowID)
	}
	return err
}

// Sweep checks every unfinished run older than the grace period against
// the engine once, and returns how many it changed:
//   - a run never started on the engine (its process died between
//     recording and starting it) is started now: the engine's named start
//     makes that safe if the first start did happen;
//   - a run recorded pending whose engine execution is running is marked
//     running;
//   - a run whose engine execution ended (failed, timed out, aborted) is
//     finished as Reconcile would;
//   - a run the engine has no record of can never finish: it is failed
//     with a cause that says how to run it again.
func (r *Reconciler) Sweep(ctx context.Context) (int, error) {
	engine, err := r.Executions.engine()
	if err != nil {
		return 0, err
	}
	runs, err := r.Executions.Store.UnfinishedExecutions(ctx)
	if err != nil {
		return 0, fmt.Errorf("sweep: list unfinished runs: %w", err)
	}
	grace := r.Grace
	if grace == 0 {
		grace = 30 * time.Second
	}
	changed := 0
	queued := map[[2]string]bool{}
	for _, e := range runs {
		if ctx.Err() != nil {
			return changed, ctx.Err()
		}
		if e.Status == turbocat.ExecutionQueued {
			queued[[2]string{e.UserID, e.WorkflowID}] = true
			r.Executions.queued.Store(e.WorkflowID, true)
			continue
		}
		if grace > 0 && r.now().Sub(e.CreatedAt) < grace {
			continue
		}
		ok, err := r.sweepOne(ctx, engine, e)
		if err != nil {
			r.logger().Warn("sweep: run not reconciled", "execution_id", e.ID, "error", err.Error())
			continue
		}
		if ok {
			changed++
		}
	}
	// Queued runs whose workflow has a free slot (a run ended while its
	// end could not be acted on) start now.
	for k := range queued {
		r.Executions.StartQueued(ctx, k[0], k[1])
	}
	return changed, nil
}

func (r *Reconciler) sweepOne(ctx context.Context, engine turbocat.Engine, e *turbocat.Execution) (bool, error) {
	if e.EngineRef == nil {
		if e.Status != turbocat.ExecutionPending {
			return false, nil
		}
		return r.restart(ctx, e, "sweep: started a run its process never started")
	}
	ee, err := engine.DescribeExecution(ctx, *e.EngineRef)
	if turbocat.ErrorCodeOf(err) == turbocat.ENOTFOUND {
		// A run recorded started before its engine start (prestart) whose
		// process died in between: no step of it was ever claimed, so
		// starting it now repeats nothing.
		steps, serr := r.Executions.Store.ExecutionSteps(ctx, e.UserID, e.ID)
		if serr != nil {
			return false, serr
		}
		if len(steps) == 0 {
			return r.restart(ctx, e, "sweep: started a run its process recorded started but never started")
		}
		return true, r.finish(ctx, e, turbocat.ExecutionFailed, "Turbocat.EngineLost",
			"the workflow engine has no record of this run; retry it with POST /api/v1/executions/"+e.ID+"/retry")
	}
	if err != nil {
		return false, err
	}
	switch ee.Status {
	case turbocat.EngineRunning:
		if e.Status == turbocat.ExecutionPending {
			_, err := r.Executions.Store.MarkStarted(ctx, e.ID, ee.Ref, startedEvent(e))
			return true, err
		}
		return false, nil
	case turbocat.EngineSucceeded:
		// The last Task records the run before the machine succeeds; a
		// machine that succeeded without it lost the record.
		return true, r.finish(ctx, e, turbocat.ExecutionFailed, "Turbocat.Unrecorded",
			"the workflow engine finished the run but its result was not recorded; retry it with POST /api/v1/executions/"+e.ID+"/retry")
	}
	errName, cause := ee.Error, ee.Cause
	if errName == "" {
		errName = "States." + ee.Status
	}
	if cause == "" {
		cause = "the workflow engine ended the run"
	}
	return true, r.finish(ctx, e, engineStatuses[ee.Status], errName, cause)
}

// restart starts a run its process recorded but never started on the
// engine, or fails it when it cannot be started.
func (r *Reconciler) restart(ctx context.Context, e *turbocat.Execution, done string) (bool, error) {
	if err := r.Executions.restart(ctx, e); err != nil {
		if turbocat.ErrorCodeOf(err) == turbocat.EINTERNAL {
			return false, err
		}
		return true, r.finish(ctx, e, turbocat.ExecutionFailed, "Turbocat.StartFailed",
			"the run could not be started: "+turbocat.AsError(err).Message)
	}
	r.logger().Info(done, "execution_id", e.ID)
	return true, nil
}

// Run sweeps every interval until ctx ends.
func (r *Reconciler) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := r.Sweep(ctx); err != nil && ctx.Err() == nil {
				r.logger().Warn("sweep failed; trying again at the next tick", "error", err.Error())
			} else if n > 0 {
				r.logger().Info("sweep reconciled runs", "runs", n)
			}
		}
	}
}
