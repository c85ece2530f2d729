package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/turbocat/turbocat/internal/postgres/dbsqlc"
	"github.com/turbocat/turbocat/internal/runtime"
)

// RuntimeJournal is the durable runtime.Journal of the local Step Functions
// runtime: state machines, executions and history events in Postgres.
type RuntimeJournal struct {
	q *dbsqlc.Queries
	// stored holds the SHA-256 of each definition this journal has put in
	// runtime_definitions: an execution's records refer to it by hash.
	stored sync.Map // string → struct{}
}

// journaledExecution is an execution as its record holds it: the
// definition by its SHA-256 (kept once in runtime_definitions, and put
// back when the record is read) instead of inline. An execution's
// definition was most of its record's bytes, written at its start and end.
type journaledExecution struct {
	*runtime.Execution
	DefinitionSHA256 string `json:",omitempty"`
}

// encodeExecution is e's record; the definition it refers to is stored
// first (once per definition and journal).
func (j *RuntimeJournal) encodeExecution(ctx context.Context, e *runtime.Execution) ([]byte, error) {
	rec := journaledExecution{Execution: e}
	if e.Definition != "" {
		sum := sha256.Sum256([]byte(e.Definition))
		rec.DefinitionSHA256 = hex.EncodeToString(sum[:])
		if _, ok := j.stored.Load(rec.DefinitionSHA256); !ok {
			if err := j.q.RuntimeDefinitionPut(ctx, dbsqlc.RuntimeDefinitionPutParams{Sha256: rec.DefinitionSHA256, Definition: e.Definition}); err != nil {
				return nil, fmt.Errorf("save the definition of %s: %w", e.ExecutionArn, err)
			}
			j.stored.Store(rec.DefinitionSHA256, struct{}{})
		}
		without := *e
		without.Definition = ""
		rec.Execution = &without
	}
	doc, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("encode execution %s: %w", e.ExecutionArn, err)
	}
	return doc, nil
}

var (
	_ runtime.Journal    = (*RuntimeJournal)(nil)
	_ runtime.EndJournal = (*RuntimeJournal)(nil)
)

// NewRuntimeJournal returns a journal over pool (migrated with Migrate).
// OpenJournalPool makes the pool it is meant for.
func NewRuntimeJournal(pool *pgxpool.Pool) *RuntimeJournal {
	return &RuntimeJournal{q: dbsqlc.New(pool)}
}

// SaveStateMachine implements runtime.Journal.
func (j *RuntimeJournal) SaveStateMachine(ctx context.Context, sm *runtime.StateMachine) error {
	doc, err := json.Marshal(sm)
	if err != nil {
		return fmt.Errorf("encode state machine %s: %w", sm.Arn, err)
	}
	if err := j.q.RuntimeStateMachineUpsert(ctx, dbsqlc.RuntimeStateMachineUpsertParams{Arn: sm.Arn, Doc: doc}); err != nil {
		return fmt.Errorf("save state machine %s: %w", sm.Arn, err)
	}
	return nil
}

// DeleteStateMachine implements runtime.Journal.
func (j *RuntimeJournal) DeleteStateMachine(ctx context.Context, arn string) error {
	if err := j.q.RuntimeStateMachineDelete(ctx, arn); err != nil {
		return fmt.Errorf("delete state machine %s: %w", arn, err)
	}
	return nil
}

// LoadStateMachines implements runtime.Journal.
func (j *RuntimeJournal) LoadStateMachines(ctx context.Context) ([]*runtime.StateMachine, error) {
	docs, err := j.q.RuntimeStateMachineList(ctx)
	if err != nil {
		return nil, fmt.Errorf("list state machines: %w", err)
	}
	out := make([]*runtime.StateMachine, 0, len(docs))
	for _, d := range docs {
		var sm runtime.StateMachine
		if err := json.Unmarshal(d, &sm); err != nil {
			return nil, fmt.Errorf("decode state machine: %w", err)
		}
		out = append(out, &sm)
	}
	return out, nil
}

// SaveExecution implements runtime.Journal.
func (j *RuntimeJournal) SaveExecution(ctx context.Context, e *runtime.Execution) error {
	doc, err := j.encodeExecution(ctx, e)
	if err != nil {
		return err
	}
	err = j.q.RuntimeExecutionUpsert(ctx, dbsqlc.RuntimeExecutionUpsertParams{
		Arn: e.ExecutionArn, StateMachineArn: e.StateMachineArn, Status: e.Status, StartDate: e.StartDate, Doc: doc,
	})
	if err != nil {
		return fmt.Errorf("save execution %s: %w", e.ExecutionArn, err)
	}
	return nil
}

// recentClosed is how many closed executions LoadExecutions returns.
const recentClosed = 1000

// LoadExecutions implements runtime.Journal: every RUNNING execution and
// the most recent closed ones, oldest first.
func (j *RuntimeJournal) LoadExecutions(ctx context.Context) ([]*runtime.Execution, error) {
	running, err := j.q.RuntimeExecutionListRunning(ctx)
	if err != nil {
		return nil, fmt.Errorf("list running executions: %w", err)
	}
	closed, err := j.q.RuntimeExecutionListRecentClosed(ctx, recentClosed)
	if err != nil {
		return nil, fmt.Errorf("list closed executions: %w", err)
	}
	out := make([]*runtime.Execution, 0, len(running)+len(closed))
	for _, d := range append(running, closed...) {
		var e runtime.Execution
		if err := json.Unmarshal(d, &e); err != nil {
			return nil, fmt.Errorf("decode execution: %w", err)
		}
		out = append(out, &e)
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].StartDate.Before(out[b].StartDate) })
	return out, nil
}

// LoadExecution implements runtime.Journal.
func (j *RuntimeJournal) LoadExecution(ctx context.Context, arn string) (*runtime.Execution, error) {
	doc, err := j.q.RuntimeExecutionGet(ctx, arn)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get execution %s: %w", arn, err)
	}
	var e runtime.Execution
	if err := json.Unmarshal(doc, &e); err != nil {
		return nil, fmt.Errorf("decode execution %s: %w", arn, err)
	}
	return &e, nil
}

// AppendEvents implements runtime.Journal: the batch is one row.
func (j *RuntimeJournal) AppendEvents(ctx context.Context, executionArn string, events []*runtime.HistoryEvent) error {
	if len(events) == 0 {
		return nil
	}
	first, doc, err := encodeEvents(executionArn, events)
	if err != nil {
		return err
	}
	if err := j.q.RuntimeEventBatchInsert(ctx, dbsqlc.RuntimeEventBatchInsertParams{ExecutionArn: executionArn, FirstID: first, Events: doc}); err != nil {
		return fmt.Errorf("append %d events of %s: %w", len(events), executionArn, err)
	}
	return nil
}

// EndExecution implements runtime.EndJournal: the last events and the
// terminal record in one statement.
func (j *RuntimeJournal) EndExecution(ctx context.Context, e *runtime.Execution, events []*runtime.HistoryEvent) error {
	first, evs, err := encodeEvents(e.ExecutionArn, events)
	if err != nil {
		return err
	}
	doc, err := j.encodeExecution(ctx, e)
	if err != nil {
		return err
	}
	err = j.q.RuntimeExecutionEnd(ctx, dbsqlc.RuntimeExecutionEndParams{Arn: e.ExecutionArn, FirstID: first, Events: evs,
		StateMachineArn: e.StateMachineArn, Status: e.Status, StartDate: e.StartDate, Doc: doc})
	if err != nil {
		return fmt.Errorf("journal the end of %s: %w", e.ExecutionArn, err)
	}
	return nil
}

// encodeEvents is a batch of events as its row holds them: the first
// event's ID (0 for no events) and a JSON array of the events in order.
func encodeEvents(executionArn string, events []*runtime.HistoryEvent) (int64, []byte, error) {
	if len(events) == 0 {
		return 0, []byte("[]"), nil
	}
	buf := make([]byte, 0, 256*len(events))
	buf = append(buf, '[')
	for i, ev := range events {
		b, err := runtime.EncodeEvent(ev)
		if err != nil {
			return 0, nil, fmt.Errorf("encode event %d of %s: %w", ev.ID, executionArn, err)
		}
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, b...)
	}
	return events[0].ID, append(buf, ']'), nil
}

// LoadEvents implements runtime.Journal: the batches' events in ID order.
// An event is read once even if two batches were to hold it.
func (j *RuntimeJournal) LoadEvents(ctx context.Context, executionArn string) ([]*runtime.HistoryEvent, error) {
	rows, err := j.q.RuntimeEventBatchList(ctx, executionArn)
	if err != nil {
		return nil, fmt.Errorf("list events of %s: %w", executionArn, err)
	}
	var out []*runtime.HistoryEvent
	var last int64
	for _, r := range rows {
		var docs []json.RawMessage
		if err := json.Unmarshal(r, &docs); err != nil {
			return nil, fmt.Errorf("decode events of %s: %w", executionArn, err)
		}
		for _, d := range docs {
			ev, err := runtime.DecodeEvent(d)
			if err != nil {
				return nil, fmt.Errorf("decode event of %s: %w", executionArn, err)
			}
			if ev.ID <= last {
				continue
			}
			last = ev.ID
			out = append(out, ev)
		}
	}
	return out, nil
}

// PruneExecutions implements runtime.Journal: up to limit closed executions
// that stopped before the cutoff, and their events, in one statement.
func (j *RuntimeJournal) PruneExecutions(ctx context.Context, before time.Time, limit int) (int, error) {
	n, err := j.q.RuntimeExecutionPrune(ctx, dbsqlc.RuntimeExecutionPruneParams{Before: before, MaxRows: int32(min(limit, 1<<30))})
	if err != nil {
		return 0, fmt.Errorf("prune executions stopped before %s: %w", before.Format(time.RFC3339), err)
	}
	return int(n), nil
}

// OpenJournalPool opens a small pool for the runtime journal whose commits do
// not wait for the WAL flush (synchronous_commit=off): a Postgres crash can
// lose the last few hundred milliseconds of history, which only makes the
// runtime replay from an earlier point and invoke a Task again — and the
// step runner answers a repeated step from its own, synchronously committed
// record. A crash of Turbocat itself loses nothing.
func OpenJournalPool(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	cfg.MaxConns = 4
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	cfg.ConnConfig.Tracer = &queries
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect journal pool: %w", err)
	}
	return pool, nil
}
