package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/turbocat/turbocat/internal/postgres/dbsqlc"
	"github.com/turbocat/turbocat/internal/turbocat"
)

var _ turbocat.FlowStore = (*DB)(nil)

// StepStates implements turbocat.FlowStore.
func (db *DB) StepStates(ctx context.Context, executionID string) (map[string]*turbocat.ExecutionStep, error) {
	rows, err := db.q.StepStates(ctx, executionID)
	if err != nil {
		return nil, fmt.Errorf("step states: %w", err)
	}
	out := make(map[string]*turbocat.ExecutionStep, len(rows))
	for _, r := range rows {
		out[r.StepKey] = &turbocat.ExecutionStep{ExecutionID: executionID, StepKey: r.StepKey, Status: r.Status, Output: r.Output, Error: r.Error}
	}
	return out, nil
}

// StepRecord implements turbocat.FlowStore.
func (db *DB) StepRecord(ctx context.Context, executionID, stepKey string) (*turbocat.ExecutionStep, error) {
	row, err := db.q.StepGet(ctx, dbsqlc.StepGetParams{ExecutionID: executionID, StepKey: stepKey})
	if err != nil {
		return nil, translate(err, "step")
	}
	return toStep(row), nil
}

// SkipStep implements turbocat.FlowStore.
func (db *DB) SkipStep(ctx context.Context, executionID, stepKey string, reason json.RawMessage) (string, error) {
	status, err := db.q.StepSkip(ctx, dbsqlc.StepSkipParams{ExecutionID: executionID, StepKey: stepKey, Reason: reason})
	if err != nil {
		return "", fmt.Errorf("skip step %s: %w", stepKey, err)
	}
	return status, nil
}

// BeginStep implements turbocat.FlowStore.
func (db *DB) BeginStep(ctx context.Context, executionID, stepKey string, input json.RawMessage) (*turbocat.ExecutionStep, bool, error) {
	row, err := db.q.StepBegin(ctx, dbsqlc.StepBeginParams{ExecutionID: executionID, StepKey: stepKey, Input: input})
	if err == nil {
		return toStep(row), true, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, false, fmt.Errorf("begin step %s: %w", stepKey, err)
	}
	cur, err := db.q.StepGet(ctx, dbsqlc.StepGetParams{ExecutionID: executionID, StepKey: stepKey})
	if err != nil {
		return nil, false, fmt.Errorf("read step %s: %w", stepKey, err)
	}
	return toStep(cur), false, nil
}

// AddIterations implements turbocat.FlowStore.
func (db *DB) AddIterations(ctx context.Context, executionID, stepKey string, items json.RawMessage) error {
	if err := db.q.StepIterationsInsert(ctx, dbsqlc.StepIterationsInsertParams{ExecutionID: executionID, StepKey: stepKey, Items: items}); err != nil {
		return fmt.Errorf("record iterations of %s: %w", stepKey, err)
	}
	return nil
}

// Iterations implements turbocat.FlowStore.
func (db *DB) Iterations(ctx context.Context, executionID, stepKey string) ([]*turbocat.ExecutionStep, error) {
	rows, err := db.q.StepIterations(ctx, dbsqlc.StepIterationsParams{ExecutionID: executionID, ParentKey: &stepKey})
	if err != nil {
		return nil, fmt.Errorf("iterations of %s: %w", stepKey, err)
	}
	return mapSlice(rows, toStep), nil
}

// FinishControlStep implements turbocat.FlowStore.
func (db *DB) FinishControlStep(ctx context.Context, executionID, stepKey, status string, output, errJSON json.RawMessage, events ...turbocat.Event) (bool, error) {
	done := false
	var written int64
	err := db.inTx(ctx, func(q *dbsqlc.Queries) error {
		_, err := q.StepFinishControl(ctx, dbsqlc.StepFinishControlParams{ExecutionID: executionID, StepKey: stepKey, Status: status,
			Output: output, Error: errJSON})
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("finish step %s: %w", stepKey, err)
		}
		done = true
		if err := q.ExecutionResumeRunning(ctx, executionID); err != nil {
			return fmt.Errorf("resume execution: %w", err)
		}
		written, err = addEvents(ctx, q, events)
		return err
	})
	if err != nil {
		return done, err
	}
	return done, db.eventsWritten(ctx, written)
}

// WaitStep implements turbocat.FlowStore.
func (db *DB) WaitStep(ctx context.Context, executionID, stepKey string, w turbocat.StepWait, events ...turbocat.Event) error {
	var written int64
	err := db.inTx(ctx, func(q *dbsqlc.Queries) error {
		n, err := q.StepWait(ctx, dbsqlc.StepWaitParams{ExecutionID: executionID, StepKey: stepKey, WakeAt: w.WakeAt,
			TaskToken: nilIfEmpty(w.TaskToken), LinkNonce: nilIfEmpty(w.LinkNonce)})
		if err != nil {
			return fmt.Errorf("wait step %s: %w", stepKey, err)
		}
		if n == 0 {
			return nil // no longer running: decided, or the run ended
		}
		if err := q.ExecutionSetWaiting(ctx, executionID); err != nil {
			return fmt.Errorf("execution waiting: %w", err)
		}
		written, err = addEvents(ctx, q, events)
		return err
	})
	if err != nil {
		return err
	}
	return db.eventsWritten(ctx, written)
}

// DecideStep implements turbocat.FlowStore. The decision commits before
// the engine hears it (the run goes on at once and its next step reads
// the decision); if the engine refuses it, the step waits again.
func (db *DB) DecideStep(ctx context.Context, d turbocat.StepDecision, send func(token string) error) (*turbocat.ExecutionStep, error) {
	if !isUUID(d.ExecutionID) {
		return nil, turbocat.NotFound("execution")
	}
	var out *turbocat.ExecutionStep
	var token string
	var nonce *string
	err := db.inTx(ctx, func(q *dbsqlc.Queries) error {
		row, err := q.StepWaitingForUpdate(ctx, dbsqlc.StepWaitingForUpdateParams{ExecutionID: d.ExecutionID, StepKey: d.StepKey})
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && row.UserID != d.UserID) {
			return turbocat.Errorf(turbocat.ENOTFOUND, "step %q of this execution not found (it may not have started yet)", d.StepKey)
		}
		if err != nil {
			return fmt.Errorf("load step: %w", err)
		}
		if row.Status != turbocat.StepWaiting || row.TaskToken == nil {
			return turbocat.Errorf(turbocat.ECONFLICT, "step %q is not waiting for a decision: it is %s", d.StepKey, row.Status)
		}
		if d.Nonce != "" && (row.LinkNonce == nil || *row.LinkNonce != d.Nonce) {
			return turbocat.Errorf(turbocat.ECONFLICT, "this link is no longer valid")
		}
		token, nonce = *row.TaskToken, row.LinkNonce
		status := turbocat.StepCompleted
		if !d.Approved {
			status = turbocat.StepFailed
		}
		s, err := q.StepFinishControl(ctx, dbsqlc.StepFinishControlParams{ExecutionID: d.ExecutionID, StepKey: d.StepKey, Status: status,
			Output: d.Output, Error: d.Error})
		if err != nil {
			return fmt.Errorf("record decision: %w", err)
		}
		if err := q.ExecutionResumeRunning(ctx, d.ExecutionID); err != nil {
			return fmt.Errorf("resume execution: %w", err)
		}
		out = toStep(s)
		actx := ctx
		if turbocat.ActorFrom(ctx) == nil {
			actx = turbocat.WithActor(ctx, &turbocat.Actor{UserID: d.UserID})
		}
		return audit(actx, q, d.AuditAction, "execution", d.ExecutionID, d.AuditMeta)
	})
	if err != nil {
		return nil, err
	}
	if serr := send(token); serr != nil {
		rerr := db.inTx(context.WithoutCancel(ctx), func(q *dbsqlc.Queries) error {
			n, err := q.StepRestoreWaiting(ctx, dbsqlc.StepRestoreWaitingParams{ExecutionID: d.ExecutionID, StepKey: d.StepKey, TaskToken: &token, LinkNonce: nonce})
			if err != nil || n == 0 {
				return err
			}
			return q.ExecutionSetWaiting(ctx, d.ExecutionID)
		})
		return nil, errors.Join(serr, rerr)
	}
	return out, nil
}

// SetStepChild implements turbocat.FlowStore.
func (db *DB) SetStepChild(ctx context.Context, executionID, stepKey, childID string) error {
	return db.q.StepSetChild(ctx, dbsqlc.StepSetChildParams{ExecutionID: executionID, StepKey: stepKey, ChildExecutionID: &childID})
}

// ChildExecutions implements turbocat.FlowStore.
func (db *DB) ChildExecutions(ctx context.Context, executionID string) ([]*turbocat.Execution, error) {
	rows, err := db.q.ExecutionChildren(ctx, &executionID)
	if err != nil {
		return nil, fmt.Errorf("child executions: %w", err)
	}
	return mapSlice(rows, toExecution), nil
}

// WorkflowByName implements turbocat.FlowStore.
func (db *DB) WorkflowByName(ctx context.Context, userID, name string) (*turbocat.Workflow, error) {
	row, err := db.q.WorkflowGetByName(ctx, dbsqlc.WorkflowGetByNameParams{UserID: userID, Name: name})
	if err != nil {
		return nil, translate(err, "workflow")
	}
	return toWorkflow(row)
}

// nestIterations moves for-each iterations under their steps.
func nestIterations(steps []*turbocat.ExecutionStep, parents []*string) []*turbocat.ExecutionStep {
	byKey := map[string]*turbocat.ExecutionStep{}
	out := steps[:0:0]
	for i, s := range steps {
		if parents[i] == nil {
			byKey[s.StepKey] = s
			out = append(out, s)
		}
	}
	for i, s := range steps {
		if parents[i] == nil {
			continue
		}
		if p := byKey[*parents[i]]; p != nil {
			p.Iterations = append(p.Iterations, s)
		}
	}
	for _, p := range out {
		slices.SortFunc(p.Iterations, func(a, b *turbocat.ExecutionStep) int { return idx(a) - idx(b) })
	}
	return out
}

func idx(s *turbocat.ExecutionStep) int {
	if s.Index == nil {
		return -1
	}
	return *s.Index
}
