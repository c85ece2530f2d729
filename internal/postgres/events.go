package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/turbocat/turbocat/internal/postgres/dbsqlc"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// AddEvents implements turbocat.EventStore.
func (db *DB) AddEvents(ctx context.Context, events ...turbocat.Event) error {
	n, err := addEvents(ctx, db.q, events)
	if err != nil {
		return err
	}
	return db.eventsWritten(ctx, n)
}

// addEvents writes events and returns how many were new.
func addEvents(ctx context.Context, q *dbsqlc.Queries, events []turbocat.Event) (int64, error) {
	var written int64
	for _, e := range events {
		data, err := json.Marshal(e.Data)
		if err != nil {
			return written, fmt.Errorf("encode event %s: %w", e.Type, err)
		}
		n, err := q.EventInsert(ctx, dbsqlc.EventInsertParams{ID: e.ID, UserID: e.UserID, Type: e.Type, Data: data, CreatedAt: e.Time})
		if err != nil {
			return written, fmt.Errorf("write event %s: %w", e.Type, err)
		}
		written += n
	}
	return written, nil
}

// eventRow is an event as the statements that write events with their
// cause take it (jsonb_to_recordset over a JSON array of these).
type eventRow struct {
	ID        string          `json:"id"`
	UserID    string          `json:"user_id"`
	Type      string          `json:"type"`
	Data      json.RawMessage `json:"data"`
	CreatedAt time.Time       `json:"created_at"`
}

// eventsJSON encodes events for those statements.
func eventsJSON(events []turbocat.Event) (json.RawMessage, error) {
	rows := make([]eventRow, len(events))
	for i, e := range events {
		data, err := json.Marshal(e.Data)
		if err != nil {
			return nil, fmt.Errorf("encode event %s: %w", e.Type, err)
		}
		rows[i] = eventRow{ID: e.ID, UserID: e.UserID, Type: e.Type, Data: data, CreatedAt: e.Time}
	}
	return json.Marshal(rows)
}

// ClaimEvents implements turbocat.EventStore.
func (db *DB) ClaimEvents(ctx context.Context, limit int, lease time.Duration) ([]turbocat.Event, error) {
	rows, err := db.q.EventsClaim(ctx, dbsqlc.EventsClaimParams{LeaseSeconds: lease.Seconds(), MaxEvents: int32(limit)})
	if err != nil {
		return nil, fmt.Errorf("claim events: %w", err)
	}
	return mapSlice(rows, func(r dbsqlc.EventsClaimRow) turbocat.Event {
		return turbocat.Event{ID: r.ID, Type: r.Type, Time: r.CreatedAt.UTC(), UserID: r.UserID, Data: json.RawMessage(r.Data), Attempts: int(r.Attempts)}
	}), nil
}

// EventsDispatched implements turbocat.EventStore.
func (db *DB) EventsDispatched(ctx context.Context, ids ...string) error {
	return db.q.EventsDispatched(ctx, ids)
}

// EventRetry implements turbocat.EventStore.
func (db *DB) EventRetry(ctx context.Context, id string, retryAt time.Time, reason string) error {
	return db.q.EventRetry(ctx, dbsqlc.EventRetryParams{ID: id, NextAttemptAt: retryAt, LastError: &reason})
}

// ListenEvents calls notify whenever events were committed (Postgres
// NOTIFY, sent after their commit; see eventKicker), until ctx ends; it reconnects after a lost
// connection and calls notify then too, since a notification may have been
// missed. A dispatcher's periodic tick covers what a lost connection hides.
func ListenEvents(ctx context.Context, pool *pgxpool.Pool, notify func(), logger *slog.Logger) {
	delay := time.Second
	for ctx.Err() == nil {
		err := listen(ctx, pool, notify)
		if ctx.Err() != nil {
			return
		}
		logger.Warn("event notifications interrupted; listening again", "retry_in", delay.String(), "error", err.Error())
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(delay*2, 30*time.Second)
		notify()
	}
}

func listen(ctx context.Context, pool *pgxpool.Pool, notify func()) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "LISTEN turbocat_events"); err != nil {
		return err
	}
	defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), "UNLISTEN turbocat_events") }()
	for {
		if _, err := conn.Conn().WaitForNotification(ctx); err != nil {
			return err
		}
		notify()
	}
}
