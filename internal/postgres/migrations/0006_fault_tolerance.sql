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

-- Access tokens carry the user's token version: logging out, logging out
-- everywhere and changing the password raise it, so the access tokens
-- issued before stop working at once instead of at their expiry.
ALTER TABLE users ADD COLUMN token_version integer NOT NULL DEFAULT 0;

-- A signed webhook request is accepted once: the signatures seen within
-- the tolerance window are kept (with the Idempotency-Key they came with,
-- which makes a deliberate retry of the same request safe) and pruned
-- after it.
CREATE TABLE webhook_signatures (
    signature_hash  bytea PRIMARY KEY,
    deployment_id   uuid NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    idempotency_key text,
    seen_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_signatures_seen_idx ON webhook_signatures (seen_at);

-- Runs start through a deployment's webhook or schedule only when whoever
-- created the deployment could start runs (a key with workflows:execute).
ALTER TABLE deployments ADD COLUMN may_execute boolean NOT NULL DEFAULT true;

-- The retention job finds ended runs by their end.
CREATE INDEX executions_completed_idx ON executions (completed_at) WHERE completed_at IS NOT NULL;

-- Budgets: a run may carry a bound on model spend (money and tokens), and a
-- user a monthly one; the step runner checks them before every model call.
ALTER TABLE executions ADD COLUMN max_cost_usd numeric(14, 6) CHECK (max_cost_usd >= 0),
    ADD COLUMN max_tokens bigint CHECK (max_tokens >= 0);
ALTER TABLE users ADD COLUMN monthly_budget_usd numeric(14, 6) CHECK (monthly_budget_usd >= 0);
