-- The lifecycle event outbox.

-- name: EventInsert :execrows
-- The caller wakes the outbox once the event is committed (EventsNotify).
INSERT INTO events (id, user_id, type, data, created_at) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (id) DO NOTHING;

-- name: EventsNotify :exec
-- Wakes the dispatchers listening for events (ListenEvents), in a
-- transaction of its own sent after the events' own commit. Its commit does
-- not wait for the WAL flush: it writes nothing that needs to survive a
-- crash (after one, a dispatcher's tick finds the events). A NOTIFY in the
-- statement that writes the events would hold Postgres's one global notify
-- lock through that statement's commit and WAL flush, serialising every
-- run's start and end behind one another.
SELECT set_config('synchronous_commit', 'off', true), pg_notify('turbocat_events', '');

-- name: EventsNotifyInTx :exec
-- EventsNotify for a transaction still open: delivered when it commits,
-- dropped if it rolls back.
SELECT pg_notify('turbocat_events', '');

-- name: EventsClaim :many
-- Takes the due events, oldest first, and holds them for the lease: a
-- concurrent claim skips the rows this one locked, and a dispatcher that
-- dies lets them become due again when the lease passes. The lease is in
-- a column no index covers, so that a claim is a heap-only update.
UPDATE events SET attempts = attempts + 1,
    leased_until = now() + make_interval(secs => sqlc.arg(lease_seconds)::float8)
WHERE id IN (
    SELECT e.id FROM events e WHERE e.next_attempt_at <= now() AND (e.leased_until IS NULL OR e.leased_until <= now())
    ORDER BY e.next_attempt_at, e.created_at LIMIT sqlc.arg(max_events)::integer
    FOR UPDATE SKIP LOCKED)
RETURNING id, user_id, type, data, created_at, attempts;

-- name: EventsDispatched :exec
-- An event handed on is deleted: delivery is at least once, and nothing
-- reads an event after it was dispatched.
DELETE FROM events WHERE id = ANY(sqlc.arg(ids)::uuid[]);

-- name: EventRetry :exec
-- A failed dispatch: the event is due again at next_attempt_at, not when
-- its lease passes.
UPDATE events SET next_attempt_at = $2, last_error = $3, leased_until = NULL WHERE id = $1;

