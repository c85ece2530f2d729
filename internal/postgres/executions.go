package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/turbocat/turbocat/internal/postgres/dbsqlc"
	"github.com/turbocat/turbocat/internal/turbocat"
)

var _ turbocat.ExecutionStore = (*DB)(nil)
var _ turbocat.DeploymentStore = (*DB)(nil)

func toExecution(e dbsqlc.Execution) *turbocat.Execution {
	return &turbocat.Execution{ID: e.ID, WorkflowID: e.WorkflowID, WorkflowVersion: int(e.WorkflowVersion), UserID: e.UserID,
		DeploymentID: e.DeploymentID, Status: e.Status, Trigger: e.Trigger, InputData: e.InputData, OutputData: e.OutputData,
		Error: e.Error, IdempotencyKey: e.IdempotencyKey, RetryOf: e.RetryOf, EngineRef: e.EngineRef, StartedAt: e.StartedAt,
		CompletedAt: e.CompletedAt, DurationMs: e.DurationMs, CreatedAt: e.CreatedAt}
}

// Execution implements turbocat.ExecutionStore.
func (db *DB) Execution(ctx context.Context, userID, id string) (*turbocat.Execution, error) {
	if !isUUID(id) {
		return nil, turbocat.NotFound("execution")
	}
	row, err := db.q.ExecutionGet(ctx, dbsqlc.ExecutionGetParams{ID: id, UserID: userID})
	if err != nil {
		return nil, translate(err, "execution")
	}
	return toExecution(row), nil
}

// ListExecutions implements turbocat.ExecutionStore.
func (db *DB) ListExecutions(ctx context.Context, userID string, f turbocat.ExecutionFilter, p turbocat.Page) (*turbocat.List[*turbocat.Execution], error) {
	ct, cid, err := decodeCursor(p.Cursor)
	if err != nil {
		return nil, err
	}
	var wf *string
	if f.WorkflowID != "" {
		if !isUUID(f.WorkflowID) {
			return &turbocat.List[*turbocat.Execution]{Items: []*turbocat.Execution{}}, nil
		}
		wf = &f.WorkflowID
	}
	rows, err := db.q.ExecutionList(ctx, dbsqlc.ExecutionListParams{UserID: userID, Limit: int32(p.Limit + 1), WorkflowID: wf,
		Status: nilIfEmpty(f.Status), Since: f.Since, Until: f.Until, CursorTime: ct, CursorID: cid})
	if err != nil {
		return nil, fmt.Errorf("list executions: %w", err)
	}
	return page(mapSlice(rows, toExecution), p.Limit, func(e *turbocat.Execution) (time.Time, string) { return e.CreatedAt, e.ID }), nil
}

// ExecutionSteps implements turbocat.ExecutionStore.
func (db *DB) ExecutionSteps(ctx context.Context, userID, id string) ([]*turbocat.ExecutionStep, error) {
	if _, err := db.Execution(ctx, userID, id); err != nil {
		return nil, err
	}
	rows, err := db.q.ExecutionStepsList(ctx, dbsqlc.ExecutionStepsListParams{ExecutionID: id, UserID: userID})
	if err != nil {
		return nil, fmt.Errorf("list execution steps: %w", err)
	}
	return mapSlice(rows, func(s dbsqlc.ExecutionStep) *turbocat.ExecutionStep {
		return &turbocat.ExecutionStep{ExecutionID: s.ExecutionID, StepKey: s.StepKey, AgentID: s.AgentID, Status: s.Status,
			Attempt: int(s.Attempt), Input: s.Input, Output: s.Output, Error: s.Error, StartedAt: s.StartedAt,
			CompletedAt: s.CompletedAt, DurationMs: s.DurationMs, InputTokens: s.InputTokens, OutputTokens: s.OutputTokens, CostUSD: s.CostUsd}
	}), nil
}

// ExecutionLogs implements turbocat.ExecutionStore.
func (db *DB) ExecutionLogs(ctx context.Context, userID, id string, afterSeq int64, limit int) ([]*turbocat.ExecutionLog, error) {
	if _, err := db.Execution(ctx, userID, id); err != nil {
		return nil, err
	}
	rows, err := db.q.ExecutionLogsList(ctx, dbsqlc.ExecutionLogsListParams{ExecutionID: id, UserID: userID, Sequence: afterSeq, Limit: int32(limit)})
	if err != nil {
		return nil, fmt.Errorf("list execution logs: %w", err)
	}
	return mapSlice(rows, func(l dbsqlc.ExecutionLog) *turbocat.ExecutionLog {
		return &turbocat.ExecutionLog{Sequence: l.Sequence, StepKey: l.StepKey, Level: l.Level, Message: l.Message, Data: l.Data, CreatedAt: l.CreatedAt}
	}), nil
}

func toDeployment(d dbsqlc.Deployment) *turbocat.Deployment {
	var prev, canary *int
	if d.PreviousVersion != nil {
		p := int(*d.PreviousVersion)
		prev = &p
	}
	if d.CanaryWeight != nil {
		w := int(*d.CanaryWeight)
		canary = &w
	}
	return &turbocat.Deployment{ID: d.ID, WorkflowID: d.WorkflowID, UserID: d.UserID, Environment: d.Environment, Status: d.Status, PreviousVersion: prev, CanaryWeight: canary,
		Version: int(d.Version), EndpointURL: d.EndpointUrl, StateMachineRef: d.StateMachineRef, VersionRef: d.VersionRef,
		AliasRef: d.AliasRef, Schedule: d.Schedule, Timezone: d.Timezone, Error: d.Error, CreatedAt: d.CreatedAt,
		UpdatedAt: d.UpdatedAt, ActivatedAt: d.ActivatedAt}
}

// Deployment implements turbocat.DeploymentStore.
func (db *DB) Deployment(ctx context.Context, userID, id string) (*turbocat.Deployment, error) {
	if !isUUID(id) {
		return nil, turbocat.NotFound("deployment")
	}
	row, err := db.q.DeploymentGet(ctx, dbsqlc.DeploymentGetParams{ID: id, UserID: userID})
	if err != nil {
		return nil, translate(err, "deployment")
	}
	return toDeployment(row), nil
}

// ListDeployments implements turbocat.DeploymentStore.
func (db *DB) ListDeployments(ctx context.Context, userID string, f turbocat.DeploymentFilter, p turbocat.Page) (*turbocat.List[*turbocat.Deployment], error) {
	ct, cid, err := decodeCursor(p.Cursor)
	if err != nil {
		return nil, err
	}
	var wf *string
	if f.WorkflowID != "" {
		if !isUUID(f.WorkflowID) {
			return &turbocat.List[*turbocat.Deployment]{Items: []*turbocat.Deployment{}}, nil
		}
		wf = &f.WorkflowID
	}
	rows, err := db.q.DeploymentList(ctx, dbsqlc.DeploymentListParams{UserID: userID, Limit: int32(p.Limit + 1), WorkflowID: wf,
		Environment: nilIfEmpty(f.Environment), CursorTime: ct, CursorID: cid})
	if err != nil {
		return nil, fmt.Errorf("list deployments: %w", err)
	}
	return page(mapSlice(rows, toDeployment), p.Limit, func(d *turbocat.Deployment) (time.Time, string) { return d.CreatedAt, d.ID }), nil
}
