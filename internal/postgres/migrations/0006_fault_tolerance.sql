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

-- Per-workflow concurrency: runs past a workflow's maxConcurrentRuns wait
-- as queued, taken in order of priority (higher first), then age.
ALTER TABLE executions DROP CONSTRAINT executions_status_check;
ALTER TABLE executions ADD CONSTRAINT executions_status_check
    CHECK (status IN ('queued', 'pending', 'running', 'completed', 'failed', 'cancelled', 'timed_out'));
ALTER TABLE executions ADD COLUMN priority integer NOT NULL DEFAULT 0 CHECK (priority BETWEEN -100 AND 100);
CREATE INDEX executions_queued_idx ON executions (workflow_id, priority DESC, created_at) WHERE status = 'queued';
CREATE INDEX executions_workflow_active_idx ON executions (workflow_id) WHERE status IN ('pending', 'running');

-- An idempotency key answers with its first run only for the same request:
-- the request's hash is kept to tell a retry from a different request.
ALTER TABLE executions ADD COLUMN request_hash bytea;
