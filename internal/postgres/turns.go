package postgres

import (
	"context"
	"fmt"

	"github.com/turbocat/turbocat/internal/postgres/dbsqlc"
	"github.com/turbocat/turbocat/internal/turbocat"
)

func toStepTurn(r dbsqlc.ExecutionStepTurn) *turbocat.StepTurn {
	return &turbocat.StepTurn{ExecutionID: r.ExecutionID, StepKey: r.StepKey, Attempt: int(r.Attempt), Turn: int(r.Turn), Seq: int(r.Seq),
		Kind: r.Kind, ToolCallID: deref(r.ToolCallID), ToolName: deref(r.ToolName), Model: deref(r.Model), Input: r.Input, Output: r.Output,
		Error: r.Error, InputTokens: r.InputTokens, OutputTokens: r.OutputTokens, CostUSD: r.CostUsd, DurationMs: r.DurationMs, CreatedAt: r.CreatedAt}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// RecordStepTurn implements turbocat.ExecutionStore.
func (db *DB) RecordStepTurn(ctx context.Context, t *turbocat.StepTurn) error {
	err := db.q.StepTurnInsert(ctx, dbsqlc.StepTurnInsertParams{ExecutionID: t.ExecutionID, StepKey: t.StepKey, Attempt: int32(t.Attempt),
		Turn: int32(t.Turn), Seq: int32(t.Seq), Kind: t.Kind, ToolCallID: nilIfEmpty(t.ToolCallID), ToolName: nilIfEmpty(t.ToolName),
		Model: nilIfEmpty(t.Model), Input: nilIfEmptyJSON(t.Input), Output: nilIfEmptyJSON(t.Output), Error: nilIfEmptyJSON(t.Error),
		InputTokens: t.InputTokens, OutputTokens: t.OutputTokens, CostUsd: t.CostUSD, DurationMs: t.DurationMs})
	if err != nil {
		return fmt.Errorf("record turn %d.%d of step %s: %w", t.Turn, t.Seq, t.StepKey, err)
	}
	return nil
}

// LatestStepTurns implements turbocat.ExecutionStore.
func (db *DB) LatestStepTurns(ctx context.Context, executionID, stepKey string) ([]*turbocat.StepTurn, error) {
	rows, err := db.q.StepTurnsLatest(ctx, dbsqlc.StepTurnsLatestParams{ExecutionID: executionID, StepKey: stepKey})
	if err != nil {
		return nil, fmt.Errorf("turns of step %s: %w", stepKey, err)
	}
	out := make([]*turbocat.StepTurn, len(rows))
	for i, r := range rows {
		out[i] = toStepTurn(r)
	}
	return out, nil
}

// StepTurns implements turbocat.ExecutionStore.
func (db *DB) StepTurns(ctx context.Context, userID, executionID, stepKey string) ([]*turbocat.StepTurn, error) {
	if _, err := db.Execution(ctx, userID, executionID); err != nil {
		return nil, err
	}
	rows, err := db.q.StepTurnsList(ctx, dbsqlc.StepTurnsListParams{ExecutionID: executionID, StepKey: stepKey, UserID: userID})
	if err != nil {
		return nil, fmt.Errorf("turns of step %s: %w", stepKey, err)
	}
	out := make([]*turbocat.StepTurn, len(rows))
	for i, r := range rows {
		out[i] = toStepTurn(r)
	}
	return out, nil
}
