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
		Error: e.Error, IdempotencyKey: e.IdempotencyKey, RetryOf: e.RetryOf, EngineRef: e.EngineRef, StartedAt: e.StartedAt, Priority: int(e.Priority),
		MaxCostUSD: e.MaxCostUsd, MaxTokens: e.MaxTokens, ParentExecutionID: e.ParentExecutionID, ParentStepKey: e.ParentStepKey,
		CompletedAt: e.CompletedAt, DurationMs: e.DurationMs, CreatedAt: e.CreatedAt, ReplayOf: e.ReplayOf}
}

// Execution implements turbocat.ExecutionStore.
func (db *DB) Execution(ctx context.Context, userID, id string) (*turbocat.Execution, error) {
	return getOne(id, "execution", func() (dbsqlc.Execution, error) {
		return db.q.ExecutionGet(ctx, dbsqlc.ExecutionGetParams{ID: id, UserID: userID})
	}, toExecution)
}

// ListExecutions implements turbocat.ExecutionStore.
func (db *DB) ListExecutions(ctx context.Context, userID string, f turbocat.ExecutionFilter, p turbocat.Page) (*turbocat.List[*turbocat.Execution], error) {
	if (f.WorkflowID != "" && !isUUID(f.WorkflowID)) || (f.DeploymentID != "" && !isUUID(f.DeploymentID)) {
		return &turbocat.List[*turbocat.Execution]{Items: []*turbocat.Execution{}}, nil
	}
	return listPage(p, "executions", func(limit int32, a after) ([]dbsqlc.Execution, error) {
		return db.q.ExecutionList(ctx, dbsqlc.ExecutionListParams{UserID: userID, Limit: limit, WorkflowID: nilIfEmpty(f.WorkflowID),
			Status: nilIfEmpty(f.Status), DeploymentID: nilIfEmpty(f.DeploymentID), Trigger: nilIfEmpty(f.Trigger),
			Since: f.Since, Until: f.Until, CursorTime: a.Time, CursorID: a.ID})
	}, toExecution, func(e *turbocat.Execution) (time.Time, string) { return e.CreatedAt, e.ID })
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
	parents := make([]*string, len(rows))
	for i, r := range rows {
		parents[i] = r.ParentKey
	}
	return nestIterations(mapSlice(rows, toStep), parents), nil
}

// ExecutionLogs implements turbocat.ExecutionStore.
func (db *DB) ExecutionLogs(ctx context.Context, userID, id string, r turbocat.LogRange) ([]*turbocat.ExecutionLog, error) {
	if _, err := db.Execution(ctx, userID, id); err != nil {
		return nil, err
	}
	rows, err := db.q.ExecutionLogsList(ctx, dbsqlc.ExecutionLogsListParams{ExecutionID: id, UserID: userID, Sequence: r.After, Limit: int32(r.Limit)})
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
		UpdatedAt: d.UpdatedAt, ActivatedAt: d.ActivatedAt, MayExecute: d.MayExecute, Input: d.Input}
}

// Deployment implements turbocat.DeploymentStore.
func (db *DB) Deployment(ctx context.Context, userID, id string) (*turbocat.Deployment, error) {
	return getOne(id, "deployment", func() (dbsqlc.Deployment, error) {
		return db.q.DeploymentGet(ctx, dbsqlc.DeploymentGetParams{ID: id, UserID: userID})
	}, toDeployment)
}

// ListDeployments implements turbocat.DeploymentStore.
func (db *DB) ListDeployments(ctx context.Context, userID string, f turbocat.DeploymentFilter, p turbocat.Page) (*turbocat.List[*turbocat.Deployment], error) {
	if f.WorkflowID != "" && !isUUID(f.WorkflowID) {
		return &turbocat.List[*turbocat.Deployment]{Items: []*turbocat.Deployment{}}, nil
	}
	return listPage(p, "deployments", func(limit int32, a after) ([]dbsqlc.Deployment, error) {
		return db.q.DeploymentList(ctx, dbsqlc.DeploymentListParams{UserID: userID, Limit: limit, WorkflowID: nilIfEmpty(f.WorkflowID),
			Environment: nilIfEmpty(f.Environment), CursorTime: a.Time, CursorID: a.ID})
	}, toDeployment, func(d *turbocat.Deployment) (time.Time, string) { return d.CreatedAt, d.ID })
}

// Usage implements turbocat.ExecutionStore.
func (db *DB) Usage(ctx context.Context, userID string, since time.Time) ([]turbocat.DaySpend, []turbocat.WorkflowSpend, error) {
	days, err := db.q.UsageByDay(ctx, dbsqlc.UsageByDayParams{UserID: userID, CreatedAt: since})
	if err != nil {
		return nil, nil, fmt.Errorf("usage by day: %w", err)
	}
	wfs, err := db.q.UsageByWorkflow(ctx, dbsqlc.UsageByWorkflowParams{UserID: userID, CreatedAt: since})
	if err != nil {
		return nil, nil, fmt.Errorf("usage by workflow: %w", err)
	}
	return mapSlice(days, func(r dbsqlc.UsageByDayRow) turbocat.DaySpend {
			return turbocat.DaySpend{Day: r.Day, Spend: turbocat.Spend{Runs: int(r.Runs), CostUSD: r.CostUsd, InputTokens: r.InputTokens, OutputTokens: r.OutputTokens}}
		}), mapSlice(wfs, func(r dbsqlc.UsageByWorkflowRow) turbocat.WorkflowSpend {
			return turbocat.WorkflowSpend{WorkflowID: r.WorkflowID, Name: r.Name, Spend: turbocat.Spend{Runs: int(r.Runs), CostUSD: r.CostUsd, InputTokens: r.InputTokens, OutputTokens: r.OutputTokens}}
		}), nil
}
