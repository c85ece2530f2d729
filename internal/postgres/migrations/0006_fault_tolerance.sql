-- Fault tolerance: a run that ends records every step that did not finish
-- as cancelled, never leaves it running.
ALTER TABLE execution_steps DROP CONSTRAINT execution_steps_status_check;
ALTER TABLE execution_steps ADD CONSTRAINT execution_steps_status_check
    CHECK (status IN ('pending', 'running', 'completed', 'failed', 'skipped', 'cancelled'));

-- The outbox: lifecycle events are written in the same transaction as the
-- change they report and dispatched from here at least once (receivers
-- de-duplicate on the event id).
CREATE TABLE events (
    id              uuid PRIMARY KEY,
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type            text NOT NULL,
    data            jsonb NOT NULL,
    created_at      timestamptz NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    dispatched_at   timestamptz,
    last_error      text
);
CREATE INDEX events_due_idx ON events (next_attempt_at) WHERE dispatched_at IS NULL;
CREATE INDEX events_dispatched_idx ON events (dispatched_at) WHERE dispatched_at IS NOT NULL;
