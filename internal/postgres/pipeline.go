package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/turbocat/turbocat/internal/postgres/dbsqlc"
)

// pipeline sends the statements fn makes through q as one batch: one round
// trip, and one implicit transaction (all commit, or none). fn runs twice:
// first to queue each statement with its arguments (its results are not
// there yet: it must not act on them), then to read the results in the
// same order with the generated code's own scanning. fn must make the same
// calls both times; an error it returns the first time ends the pipeline
// before anything is sent.
func (db *DB) pipeline(ctx context.Context, fn func(q *dbsqlc.Queries, queued bool) error) error {
	b := &pgx.Batch{}
	if err := fn(dbsqlc.New(queuer{b}), true); err != nil {
		return err
	}
	var br pgx.BatchResults
	if db.tx != nil {
		br = db.tx.SendBatch(ctx, b)
	} else {
		br = db.Pool.SendBatch(ctx, b)
	}
	err := fn(dbsqlc.New(reader{br}), false)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return err
}

// errQueued is what a queued statement's result reads as while fn queues.
var errQueued = errors.New("postgres: statement queued, not yet sent")

// queuer is a dbsqlc.DBTX that queues each statement in a batch.
type queuer struct{ b *pgx.Batch }

func (q queuer) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	q.b.Queue(sql, args...)
	return pgconn.CommandTag{}, errQueued
}

func (q queuer) Query(_ context.Context, sql string, args ...any) (pgx.Rows, error) {
	q.b.Queue(sql, args...)
	return nil, errQueued
}

func (q queuer) QueryRow(_ context.Context, sql string, args ...any) pgx.Row {
	q.b.Queue(sql, args...)
	return queuedRow{}
}

func (queuer) CopyFrom(context.Context, pgx.Identifier, []string, pgx.CopyFromSource) (int64, error) {
	return 0, errors.New("postgres: COPY cannot be pipelined")
}

type queuedRow struct{}

func (queuedRow) Scan(...any) error { return errQueued }

// reader is a dbsqlc.DBTX that reads a sent batch's results in order.
type reader struct{ br pgx.BatchResults }

func (r reader) Exec(context.Context, string, ...any) (pgconn.CommandTag, error) { return r.br.Exec() }
func (r reader) Query(context.Context, string, ...any) (pgx.Rows, error)         { return r.br.Query() }
func (r reader) QueryRow(context.Context, string, ...any) pgx.Row                { return r.br.QueryRow() }
func (reader) CopyFrom(context.Context, pgx.Identifier, []string, pgx.CopyFromSource) (int64, error) {
	return 0, errors.New("postgres: COPY cannot be pipelined")
}
