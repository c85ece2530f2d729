package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/turbocat/turbocat/internal/postgres/dbsqlc"
	"github.com/turbocat/turbocat/internal/turbocat"
)

var _ turbocat.ExecutionStore = (*DB)(nil)

// CreateExecution implements turbocat.ExecutionStore.
func (db *DB) CreateExecution(ctx context.Context, in turbocat.NewExecution) (*turbocat.Execution, bool, error) {
	if in.IdempotencyKey != nil {
		row, err := db.q.ExecutionGetByIdempotencyKey(ctx, dbsqlc.ExecutionGetByIdempotencyKeyParams{WorkflowID: in.WorkflowID, IdempotencyKey: in.IdempotencyKey, UserID: in.UserID})
		if err == nil {
			return sameRequest(row, in)
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return nil, false, fmt.Errorf("look up idempotency key: %w", err)
		}
	}
	input := in.Input
	if len(input) == 0 {
		input = json.RawMessage(`{}`)
	}
	actx := ctx
	if turbocat.ActorFrom(ctx) == nil {
		actx = turbocat.WithActor(ctx, &turbocat.Actor{UserID: in.UserID})
	}
	action, meta := startAudit(in)
	var out *turbocat.Execution
	var err error
	if in.MaxConcurrent > 0 || (in.RetryOf != nil && len(in.ReuseSteps) > 0) || db.tx != nil {
		out, err = db.createInTx(ctx, actx, in, input, action, meta)
	} else {
		// No queueing decision, no steps to copy: the run and its audit
		// row (and, with an engine reference, its start) are one statement.
		out, err = db.insertAudited(ctx, actx, in, input, action, meta)
	}
	var pgErr interface{ SQLState() string }
	if err != nil && errors.As(err, &pgErr) && pgErr.SQLState() == "23505" && in.IdempotencyKey != nil {
		// A concurrent request with the same key won the insert.
		row, err2 := db.q.ExecutionGetByIdempotencyKey(ctx, dbsqlc.ExecutionGetByIdempotencyKeyParams{WorkflowID: in.WorkflowID, IdempotencyKey: in.IdempotencyKey, UserID: in.UserID})
		if err2 != nil {
			return nil, false, fmt.Errorf("look up idempotency key: %w", err2)
		}
		return sameRequest(row, in)
	}
	if err != nil {
		return nil, false, translate(err, "execution")
	}
	db.rememberMeta(out)
	return out, true, nil
}

// insertAudited records a run with its audit row in one statement,
// already started when in.EngineRef is set.
func (db *DB) insertAudited(ctx, actx context.Context, in turbocat.NewExecution, input json.RawMessage, action string, meta map[string]any) (*turbocat.Execution, error) {
	a, err := auditParams(actx, action, "execution", "", meta)
	if err != nil {
		return nil, err
	}
	evs := json.RawMessage(`[]`)
	if in.EngineRef != nil {
		if evs, err = eventsJSON(in.StartedEvents); err != nil {
			return nil, err
		}
	}
	var id *string
	if in.ID != "" {
		id = &in.ID
	}
	row, err := db.q.ExecutionInsertAudited(ctx, dbsqlc.ExecutionInsertAuditedParams{ID: id, WorkflowID: in.WorkflowID, WorkflowVersion: int32(in.WorkflowVersion),
		UserID: in.UserID, DeploymentID: in.DeploymentID, Trigger: in.Trigger, InputData: input, IdempotencyKey: in.IdempotencyKey, RetryOf: in.RetryOf,
		Status: turbocat.ExecutionPending, Priority: int32(in.Priority), RequestHash: in.RequestHash, MaxCostUsd: in.MaxCostUSD, MaxTokens: in.MaxTokens,
		ParentExecutionID: in.ParentExecutionID, ParentStepKey: in.ParentStepKey, ReplayOf: in.ReplayOf, EngineRef: in.EngineRef, Events: evs,
		AuditUserID: a.UserID, AuditAction: a.Action, AuditMetadata: a.Metadata, AuditIp: a.Ip, AuditUserAgent: a.UserAgent, AuditRequestID: a.RequestID})
	if err != nil {
		return nil, err
	}
	if err := db.eventsWritten(ctx, int64(row.EventsWritten)); err != nil {
		return nil, err
	}
	return toExecution(row.Execution), nil
}

// startAudit is the audit action and metadata of a run's start.
func startAudit(in turbocat.NewExecution) (string, map[string]any) {
	meta := map[string]any{"workflowId": in.WorkflowID, "version": in.WorkflowVersion, "trigger": in.Trigger}
	if in.RetryOf != nil {
		meta["retryOf"] = *in.RetryOf
	}
	if in.Trigger == turbocat.TriggerRetry {
		return "execution.retry", meta
	}
	if in.ReplayOf != nil {
		meta["replayOf"] = *in.ReplayOf
		return "execution.replay", meta
	}
	return "execution.start", meta
}

// createInTx records a run whose start decides, under its workflow's lock,
// whether it queues, or that reuses the completed steps of the run it
// retries.
func (db *DB) createInTx(ctx, actx context.Context, in turbocat.NewExecution, input json.RawMessage, action string, meta map[string]any) (*turbocat.Execution, error) {
	var out *turbocat.Execution
	err := db.inTx(ctx, func(q *dbsqlc.Queries) error {
		status := turbocat.ExecutionPending
		if in.MaxConcurrent > 0 {
			// Decided under the workflow's row lock: concurrent starts
			// of one workflow queue in order.
			n, err := q.WorkflowLockRuns(ctx, in.WorkflowID)
			if err != nil {
				return fmt.Errorf("count active runs: %w", err)
			}
			if int(n.Active) >= in.MaxConcurrent || n.Queued > 0 {
				status = turbocat.ExecutionQueued
			}
		}
		row, err := q.ExecutionInsert(ctx, dbsqlc.ExecutionInsertParams{WorkflowID: in.WorkflowID, WorkflowVersion: int32(in.WorkflowVersion),
			UserID: in.UserID, DeploymentID: in.DeploymentID, Trigger: in.Trigger, InputData: input, IdempotencyKey: in.IdempotencyKey, RetryOf: in.RetryOf,
			Status: status, Priority: int32(in.Priority), RequestHash: in.RequestHash, MaxCostUsd: in.MaxCostUSD, MaxTokens: in.MaxTokens,
			ParentExecutionID: in.ParentExecutionID, ParentStepKey: in.ParentStepKey, ReplayOf: in.ReplayOf})
		if err != nil {
			return err
		}
		out = toExecution(row)
		if in.RetryOf != nil && len(in.ReuseSteps) > 0 {
			if err := q.StepsCopyCompleted(ctx, dbsqlc.StepsCopyCompletedParams{NewID: out.ID, OldID: *in.RetryOf, Keys: in.ReuseSteps}); err != nil {
				return fmt.Errorf("reuse completed steps: %w", err)
			}
		}
		return audit(actx, q, action, "execution", out.ID, meta)
	})
	return out, err
}

// sameRequest answers a start whose idempotency key was used before: the
// first run when the request is the same, ECONFLICT when it is not.
func sameRequest(row dbsqlc.Execution, in turbocat.NewExecution) (*turbocat.Execution, bool, error) {
	if len(in.RequestHash) > 0 && len(row.RequestHash) > 0 && !bytes.Equal(in.RequestHash, row.RequestHash) {
		return nil, false, turbocat.Errorf(turbocat.ECONFLICT,
			"the Idempotency-Key %q was used with a different request (run %s); use a new key for a new request", *in.IdempotencyKey, row.ID)
	}
	return toExecution(row), false, nil
}

// PromoteQueued implements turbocat.ExecutionStore.
func (db *DB) PromoteQueued(ctx context.Context, workflowID string, max int) (*turbocat.Execution, int, error) {
	var out *turbocat.Execution
	left := 0
	err := db.inTx(ctx, func(q *dbsqlc.Queries) error {
		n, err := q.WorkflowLockRuns(ctx, workflowID)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // the workflow is gone (its runs with it)
		}
		if err != nil {
			return fmt.Errorf("count active runs: %w", err)
		}
		left = int(n.Queued)
		if n.Queued == 0 || (max > 0 && int(n.Active) >= max) {
			return nil
		}
		row, err := q.ExecutionPromoteQueued(ctx, workflowID)
		if err != nil {
			return fmt.Errorf("promote queued run: %w", err)
		}
		out, left = toExecution(row), left-1
		return nil
	})
	return out, left, err
}

// MarkStarted implements turbocat.ExecutionStore: one statement, the
// events only with the change, committed without waiting for the WAL flush
// when not in a transaction (see the query for why that is safe).
func (db *DB) MarkStarted(ctx context.Context, id, engineRef string, events ...turbocat.Event) (*turbocat.Execution, error) {
	evs, err := eventsJSON(events)
	if err != nil {
		return nil, err
	}
	row, err := db.q.ExecutionMarkStartedWithEvents(ctx, dbsqlc.ExecutionMarkStartedWithEventsParams{ID: id, EngineRef: &engineRef, Events: evs,
		Async: db.tx == nil})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil // started before: its events were written then
	}
	if err != nil {
		return nil, fmt.Errorf("mark execution started: %w", err)
	}
	if err := db.eventsWritten(ctx, int64(row.EventsWritten)); err != nil {
		return nil, fmt.Errorf("mark execution started: %w", err)
	}
	return toExecution(row.Execution), nil
}

// FinishExecution implements turbocat.ExecutionStore: one statement.
func (db *DB) FinishExecution(ctx context.Context, id string, o turbocat.Outcome) (bool, error) {
	p, err := finishParams(ctx, id, o)
	if err != nil {
		return false, err
	}
	row, err := db.q.ExecutionFinishRecorded(ctx, p)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("finish execution: %w", err)
	}
	if err := db.eventsWritten(ctx, int64(row.EventsWritten)); err != nil {
		return false, fmt.Errorf("finish execution: %w", err)
	}
	return true, nil
}

// finishParams is the ExecutionFinishRecorded of run id's outcome o. The
// audit row is the actor's where there is one (a cancel), else the run
// owner's (the statement's default).
func finishParams(ctx context.Context, id string, o turbocat.Outcome) (dbsqlc.ExecutionFinishRecordedParams, error) {
	evs, err := eventsJSON(o.Events)
	if err != nil {
		return dbsqlc.ExecutionFinishRecordedParams{}, err
	}
	a, err := auditParams(ctx, "", "execution", id, nil)
	if err != nil {
		return dbsqlc.ExecutionFinishRecordedParams{}, err
	}
	return dbsqlc.ExecutionFinishRecordedParams{ExecutionID: id, Status: o.Status, OutputData: o.Output, Error: o.Error, Events: evs,
		OutputSteps: o.OutputSteps, AuditUserID: a.UserID, AuditMetadata: a.Metadata, AuditIp: a.Ip, AuditUserAgent: a.UserAgent, AuditRequestID: a.RequestID}, nil
}

// FinishStepThenEnd implements turbocat.ExecutionStore: the result and the
// run's end are one batch, and the run ends only if the result was
// recorded.
func (db *DB) FinishStepThenEnd(ctx context.Context, step turbocat.ClaimedStep, r turbocat.StepResult, end turbocat.Outcome) (bool, bool, error) {
	if r.Error != nil {
		return false, false, errors.New("postgres: only a step's success is recorded with its run's end")
	}
	p, err := finishParams(ctx, step.ExecutionID, end)
	if err != nil {
		return false, false, err
	}
	claim := step.ClaimID
	p.AfterClaim = &claim
	var row dbsqlc.ExecutionFinishRecordedRow
	var endErr error
	ok, err := db.resultThen(ctx, step, r, func(q *dbsqlc.Queries) error {
		row, endErr = q.ExecutionFinishRecorded(ctx, p)
		if endErr != nil && !errors.Is(endErr, pgx.ErrNoRows) {
			return fmt.Errorf("finish execution: %w", endErr)
		}
		return nil
	})
	if err != nil {
		return false, false, err
	}
	if endErr != nil {
		return ok, false, nil // ended before, or the result was not recorded
	}
	if err := db.eventsWritten(ctx, int64(row.EventsWritten)); err != nil {
		return ok, true, fmt.Errorf("finish execution: %w", err)
	}
	return ok, true, nil
}

// ExecutionByID implements turbocat.ExecutionStore.
func (db *DB) ExecutionByID(ctx context.Context, id string) (*turbocat.Execution, error) {
	if !isUUID(id) {
		return nil, turbocat.NotFound("execution")
	}
	row, err := db.q.ExecutionGetInternal(ctx, id)
	if err != nil {
		return nil, translate(err, "execution")
	}
	return toExecution(row), nil
}

// ExecutionWithOutputs implements turbocat.ExecutionStore.
func (db *DB) ExecutionWithOutputs(ctx context.Context, id string) (*turbocat.Execution, map[string]json.RawMessage, error) {
	if !isUUID(id) {
		return nil, nil, turbocat.NotFound("execution")
	}
	row, err := db.q.ExecutionGetWithOutputs(ctx, id)
	if err != nil {
		return nil, nil, translate(err, "execution")
	}
	outputs := map[string]json.RawMessage{}
	if err := json.Unmarshal(row.Outputs, &outputs); err != nil {
		return nil, nil, fmt.Errorf("step outputs: %w", err)
	}
	return toExecution(row.Execution), outputs, nil
}

// ExecutionMeta implements turbocat.ExecutionStore.
func (db *DB) ExecutionMeta(ctx context.Context, id string) (turbocat.ExecutionMeta, error) {
	if m, ok := db.meta.get(id); ok {
		return m, nil
	}
	e, err := db.ExecutionByID(ctx, id)
	if err != nil {
		return turbocat.ExecutionMeta{}, err
	}
	db.rememberMeta(e)
	return metaOf(e), nil
}

// rememberMeta caches the immutable facts of e.
func (db *DB) rememberMeta(e *turbocat.Execution) {
	db.meta.put(e.ID, metaOf(e))
}

func metaOf(e *turbocat.Execution) turbocat.ExecutionMeta {
	return turbocat.ExecutionMeta{WorkflowID: e.WorkflowID, WorkflowVersion: e.WorkflowVersion, UserID: e.UserID, Replay: e.IsReplay()}
}

// UnfinishedExecutions implements turbocat.ExecutionStore.
func (db *DB) UnfinishedExecutions(ctx context.Context) ([]*turbocat.Execution, error) {
	rows, err := db.q.ExecutionsUnfinished(ctx)
	if err != nil {
		return nil, fmt.Errorf("unfinished executions: %w", err)
	}
	return mapSlice(rows, toExecution), nil
}

// VersionEngineRef implements turbocat.ExecutionStore.
func (db *DB) VersionEngineRef(ctx context.Context, workflowID string, version int) (string, error) {
	row, err := db.q.WorkflowVersionEngineRef(ctx, dbsqlc.WorkflowVersionEngineRefParams{WorkflowID: workflowID, Version: int32(version)})
	if err != nil {
		return "", translate(err, "workflow version")
	}
	if row.EngineRef == nil {
		return "", nil
	}
	return *row.EngineRef, nil
}

// SetVersionEngineRef implements turbocat.ExecutionStore.
func (db *DB) SetVersionEngineRef(ctx context.Context, workflowID string, version int, ref string) (string, error) {
	got, err := db.q.WorkflowVersionSetEngineRef(ctx, dbsqlc.WorkflowVersionSetEngineRefParams{WorkflowID: workflowID, Version: int32(version), EngineRef: &ref})
	if err != nil {
		return "", translate(err, "workflow version")
	}
	return *got, nil
}

// ResetVersionEngineRef implements turbocat.ExecutionStore.
func (db *DB) ResetVersionEngineRef(ctx context.Context, workflowID string, version int, ref string) error {
	return db.q.WorkflowVersionResetEngineRef(ctx, dbsqlc.WorkflowVersionResetEngineRefParams{WorkflowID: workflowID, Version: int32(version), EngineRef: &ref})
}

func toStep(s dbsqlc.ExecutionStep) *turbocat.ExecutionStep {
	return &turbocat.ExecutionStep{ExecutionID: s.ExecutionID, StepKey: s.StepKey, AgentID: s.AgentID, Status: s.Status,
		Attempt: int(s.Attempt), Input: s.Input, Output: s.Output, Error: s.Error, StartedAt: s.StartedAt,
		CompletedAt: s.CompletedAt, DurationMs: s.DurationMs, InputTokens: s.InputTokens, OutputTokens: s.OutputTokens, CostUSD: s.CostUsd,
		WakeAt: s.WakeAt, ChildExecutionID: s.ChildExecutionID, Index: intPtr(s.ItemIndex)}
}

func intPtr(v *int32) *int {
	if v == nil {
		return nil
	}
	n := int(*v)
	return &n
}

// StartStep implements turbocat.ExecutionStore: it claims a step and loads what
// its run needs in one round trip (StepStart). When the step is not
// claimed, the claim's Step carries only the step's status, attempt and
// error (what a waiting invocation acts on). The claim commits without
// waiting for the WAL flush; see the query for why that is safe.
func (db *DB) StartStep(ctx context.Context, in turbocat.StepStart) (*turbocat.StartedStep, error) {
	executionID, stepKey := in.ExecutionID, in.StepKey
	if !isUUID(executionID) {
		return nil, turbocat.NotFound("execution")
	}
	p := stepStartParams(in, true)
	row, err := db.q.StepStart(ctx, p)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, turbocat.NotFound("execution")
		}
		return nil, fmt.Errorf("start step: %w", err)
	}
	started, err := toStarted(in, p.ClaimID, row)
	if err != nil || started.Claim != nil {
		return started, err
	}
	// Not claimed, yet no row in the statement's snapshot: a concurrent
	// invocation inserted it after the snapshot was taken. Read it now.
	cur, err := db.q.StepGet(ctx, dbsqlc.StepGetParams{ExecutionID: executionID, StepKey: stepKey})
	if err != nil {
		return nil, fmt.Errorf("read step: %w", err)
	}
	started.Claim = &turbocat.StepClaim{Step: toStep(cur)}
	if cur.ClaimID != nil {
		started.Claim.HeldBy = *cur.ClaimID
	}
	return started, nil
}

// stepStartParams is the StepStart of in with a new claim id (an agent id
// that is no UUID finds no agent: the step fails as its agent is gone).
func stepStartParams(in turbocat.StepStart, async bool) dbsqlc.StepStartParams {
	agentID := in.AgentID
	if !isUUID(agentID) {
		agentID = "00000000-0000-0000-0000-000000000000"
	}
	return dbsqlc.StepStartParams{Execution: in.ExecutionID, StepKey: in.StepKey, Agent: agentID, ClaimID: newID(),
		LeaseUntil: time.Now().Add(in.Lease), WithOutputs: in.WithOutputs, Takeover: nilIfEmpty(in.Takeover), Async: async}
}

// toStarted is what a StepStart row says; its Claim is nil when the step
// was not claimed and its row was not in the statement's snapshot.
func toStarted(in turbocat.StepStart, claimID string, row dbsqlc.StepStartRow) (*turbocat.StartedStep, error) {
	executionID, stepKey := in.ExecutionID, in.StepKey
	e := toExecution(row.Execution)
	var agent *turbocat.Agent
	if row.AgentID != nil {
		agent = &turbocat.Agent{ID: *row.AgentID, UserID: *row.AgentUserID, Name: *row.AgentName, Type: *row.AgentType,
			Config: row.AgentConfig, Status: *row.AgentStatus, CreatedAt: *row.AgentCreatedAt, UpdatedAt: *row.AgentUpdatedAt}
	}
	var outputs map[string]json.RawMessage
	if in.WithOutputs {
		outputs = map[string]json.RawMessage{}
		if len(row.Outputs) > 0 {
			if err := json.Unmarshal(row.Outputs, &outputs); err != nil {
				return nil, fmt.Errorf("step outputs: %w", err)
			}
		}
	}
	var claim *turbocat.StepClaim
	switch {
	case row.ClaimedAttempt > 0:
		claim = &turbocat.StepClaim{Claimed: true, ClaimID: claimID, Step: &turbocat.ExecutionStep{ExecutionID: executionID,
			StepKey: stepKey, Status: turbocat.StepRunning, Attempt: int(row.ClaimedAttempt), StartedAt: row.ClaimedStartedAt}}
	case row.StepStatus != nil:
		claim = &turbocat.StepClaim{Step: &turbocat.ExecutionStep{ExecutionID: executionID, StepKey: stepKey, Status: *row.StepStatus,
			Attempt: int(*row.StepAttempt), Error: row.StepError}}
		if row.StepClaimID != nil {
			claim.HeldBy = *row.StepClaimID
		}
	}
	return &turbocat.StartedStep{Claim: claim, Execution: e, Agent: agent, Outputs: outputs, Item: row.StepItem}, nil
}

// ReleaseStep implements turbocat.ExecutionStore.
func (db *DB) ReleaseStep(ctx context.Context, step turbocat.ClaimedStep, input json.RawMessage) (bool, error) {
	n, err := db.q.StepRelease(ctx, dbsqlc.StepReleaseParams{ExecutionID: step.ExecutionID, StepKey: step.StepKey, ClaimID: &step.ClaimID, Input: input})
	if err != nil {
		return false, fmt.Errorf("release step %s: %w", step.StepKey, err)
	}
	return n == 1, nil
}

// RenewStepLease implements turbocat.ExecutionStore.
func (db *DB) RenewStepLease(ctx context.Context, step turbocat.ClaimedStep, lease time.Duration) error {
	_, err := db.q.StepRenewLease(ctx, dbsqlc.StepRenewLeaseParams{ExecutionID: step.ExecutionID, StepKey: step.StepKey,
		ClaimID: &step.ClaimID, LeaseUntil: time.Now().Add(lease)})
	return err
}

// SetStepInput implements turbocat.ExecutionStore.
func (db *DB) SetStepInput(ctx context.Context, step turbocat.ClaimedStep, input json.RawMessage) error {
	return db.q.StepSetInput(ctx, dbsqlc.StepSetInputParams{ExecutionID: step.ExecutionID, StepKey: step.StepKey, Input: input, ClaimID: &step.ClaimID})
}

// FinishStep implements turbocat.ExecutionStore. The result and the logs commit
// together, so a crash between them cannot leave the logs of a run whose
// result was never recorded (and that will run again).
func (db *DB) FinishStep(ctx context.Context, step turbocat.ClaimedStep, r turbocat.StepResult) (bool, error) {
	return finishStep(ctx, db.q, step, r)
}

// FinishStepThenStart implements turbocat.ExecutionStore: the result and
// the next claim are one batch. A claim taken when the result was not
// recorded (the lease had passed) is let go at once.
func (db *DB) FinishStepThenStart(ctx context.Context, step turbocat.ClaimedStep, r turbocat.StepResult, following turbocat.StepStart) (bool, *turbocat.StartedStep, error) {
	if r.Error != nil {
		return false, nil, errors.New("postgres: only a step's success is recorded with the next claim")
	}
	p := stepStartParams(following, false)
	var row dbsqlc.StepStartRow
	ok, err := db.resultThen(ctx, step, r, func(q *dbsqlc.Queries) (err error) {
		if row, err = q.StepStart(ctx, p); err != nil {
			return fmt.Errorf("start step: %w", err)
		}
		return nil
	})
	if err != nil {
		return false, nil, err
	}
	next, err := toStarted(following, p.ClaimID, row)
	if err != nil || next.Claim == nil || !next.Claim.Claimed {
		return ok, nil, err
	}
	if !ok {
		held := turbocat.ClaimedStep{ExecutionID: following.ExecutionID, StepKey: following.StepKey, ClaimID: p.ClaimID}
		return false, nil, db.RenewStepLease(ctx, held, -time.Second)
	}
	return true, next, nil
}

// resultThen sends a step's result and the statement then makes as one
// batch (one round trip, one transaction). then runs twice (see pipeline):
// it must only keep what it reads.
func (db *DB) resultThen(ctx context.Context, step turbocat.ClaimedStep, r turbocat.StepResult, then func(q *dbsqlc.Queries) error) (bool, error) {
	var ok bool
	err := db.pipeline(ctx, func(q *dbsqlc.Queries, queued bool) error {
		var ferr error
		ok, ferr = finishStep(ctx, q, step, r)
		terr := then(q)
		if queued {
			return nil // both statements are queued: their results are not there yet
		}
		if ferr != nil {
			return ferr
		}
		return terr
	})
	return ok, err
}

func finishStep(ctx context.Context, q *dbsqlc.Queries, step turbocat.ClaimedStep, r turbocat.StepResult) (bool, error) {
	if len(r.Logs) == 0 {
		return recordResult(ctx, q, step, r)
	}
	// One statement: the result and the lines, or nothing when the claim
	// was lost.
	p := dbsqlc.StepFinishLoggedParams{Failed: r.Error != nil, Output: r.Output, Error: r.Error, Input: r.Input,
		InputTokens: &r.InputTokens, OutputTokens: &r.OutputTokens, CostUsd: &r.CostUSD, DurationMs: &r.DurationMs,
		ExecutionID: step.ExecutionID, StepKey: step.StepKey, ClaimID: step.ClaimID}
	p.Levels, p.Messages, p.Datas, p.Times = logColumns(r.Logs)
	n, err := q.StepFinishLogged(ctx, p)
	if err != nil {
		return false, fmt.Errorf("record step result: %w", err)
	}
	return n == 1, nil
}

// recordResult records a step's result without log lines.
func recordResult(ctx context.Context, q *dbsqlc.Queries, step turbocat.ClaimedStep, r turbocat.StepResult) (bool, error) {
	executionID, stepKey, claimID := step.ExecutionID, step.StepKey, step.ClaimID
	d := r.DurationMs
	var n int64
	var err error
	if r.Error != nil {
		n, err = q.StepFail(ctx, dbsqlc.StepFailParams{ExecutionID: executionID, StepKey: stepKey, Error: r.Error, ClaimID: &claimID, DurationMs: &d, Input: r.Input})
	} else {
		n, err = q.StepComplete(ctx, dbsqlc.StepCompleteParams{ExecutionID: executionID, StepKey: stepKey, Output: r.Output, ClaimID: &claimID,
			DurationMs: &d, InputTokens: r.InputTokens, OutputTokens: r.OutputTokens, CostUsd: r.CostUSD, Input: r.Input})
	}
	if err != nil {
		return false, fmt.Errorf("record step result: %w", err)
	}
	return n == 1, nil
}

// AppendLogs implements turbocat.ExecutionStore: one statement.
func (db *DB) AppendLogs(ctx context.Context, executionID string, stepKey *string, lines []turbocat.LogLine) error {
	if len(lines) == 0 {
		return nil
	}
	p := dbsqlc.LogsAppendParams{ExecutionID: executionID, StepKey: stepKey}
	p.Levels, p.Messages, p.Datas, p.Times = logColumns(lines)
	if err := db.q.LogsAppend(ctx, p); err != nil {
		return fmt.Errorf("append logs: %w", err)
	}
	return nil
}

// logColumns are log lines as the columns the logging statements take (a
// line without a time gets now).
func logColumns(lines []turbocat.LogLine) (levels, messages []string, datas []json.RawMessage, times []time.Time) {
	levels, messages, datas, times = make([]string, len(lines)), make([]string, len(lines)), make([]json.RawMessage, len(lines)), make([]time.Time, len(lines))
	now := time.Now()
	for i, l := range lines {
		levels[i], messages[i], datas[i], times[i] = l.Level, l.Message, l.Data, l.Time
		if l.Time.IsZero() {
			times[i] = now
		}
	}
	return levels, messages, datas, times
}

// ExecutionStatus returns an execution's status and its last log sequence,
// scoped to the caller (the log stream polls it).
func (db *DB) ExecutionStatus(ctx context.Context, userID, id string) (string, int64, error) {
	if !isUUID(id) {
		return "", 0, turbocat.NotFound("execution")
	}
	row, err := db.q.ExecutionStatus(ctx, dbsqlc.ExecutionStatusParams{ID: id, UserID: userID})
	if err != nil {
		return "", 0, translate(err, "execution")
	}
	return row.Status, row.LogSeq, nil
}

// ExpireStepLeases ends every live step lease. Only for a process that is
// the sole runner of steps (turbocat dev) starting after a crash.
func (db *DB) ExpireStepLeases(ctx context.Context) (int64, error) {
	n, err := db.q.StepLeasesExpire(ctx)
	if err != nil {
		return 0, fmt.Errorf("expire step leases: %w", err)
	}
	return n, nil
}

// BudgetState implements turbocat.ExecutionStore.
func (db *DB) BudgetState(ctx context.Context, executionID string) (*turbocat.BudgetState, error) {
	row, err := db.q.BudgetState(ctx, executionID)
	if err != nil {
		return nil, translate(err, "execution")
	}
	return &turbocat.BudgetState{MaxCostUSD: row.MaxCostUsd, MaxTokens: row.MaxTokens, RunCostUSD: row.RunCost, RunTokens: row.RunTokens,
		MonthlyBudget: row.MonthlyBudgetUsd, MonthCostUSD: row.MonthCost}, nil
}

// ResetEngineRefs forgets every workflow version's engine reference, so
// that each is compiled and published again on its next run. On AWS it runs
// after every deploy that publishes a new steprunner version: the compiled
// machines name the steprunner version they invoke.
func (db *DB) ResetEngineRefs(ctx context.Context) (int64, error) {
	tag, err := db.Pool.Exec(ctx, `UPDATE workflow_versions SET engine_ref = NULL WHERE engine_ref IS NOT NULL`)
	if err != nil {
		return 0, fmt.Errorf("reset engine references: %w", err)
	}
	return tag.RowsAffected(), nil
}
