-- Control flow (issue 15): conditions, for-each, waits, approvals and
-- sub-workflows.

-- A run waits (status waiting) while one of its steps waits for a time or
-- a person; a step waits likewise.
ALTER TABLE executions DROP CONSTRAINT executions_status_check;
ALTER TABLE executions ADD CONSTRAINT executions_status_check
    CHECK (status IN ('queued', 'pending', 'running', 'waiting', 'completed', 'failed', 'cancelled', 'timed_out'));
ALTER TABLE execution_steps DROP CONSTRAINT execution_steps_status_check;
ALTER TABLE execution_steps ADD CONSTRAINT execution_steps_status_check
    CHECK (status IN ('pending', 'running', 'waiting', 'completed', 'failed', 'skipped', 'cancelled'));
DROP INDEX executions_active_idx;
CREATE INDEX executions_active_idx ON executions (status) WHERE status IN ('pending', 'running', 'waiting');
DROP INDEX executions_workflow_active_idx;
CREATE INDEX executions_workflow_active_idx ON executions (workflow_id) WHERE status IN ('pending', 'running', 'waiting');

-- A workflow step runs another workflow as a child execution, linked both
-- ways: the child names its parent run and step, the parent's step names
-- its child.
ALTER TABLE executions DROP CONSTRAINT executions_trigger_check;
ALTER TABLE executions ADD CONSTRAINT executions_trigger_check
    CHECK (trigger IN ('api', 'webhook', 'schedule', 'retry', 'workflow'));
ALTER TABLE executions
    ADD COLUMN parent_execution_id uuid REFERENCES executions (id) ON DELETE SET NULL,
    ADD COLUMN parent_step_key     text;
CREATE INDEX executions_parent_idx ON executions (parent_execution_id) WHERE parent_execution_id IS NOT NULL;

ALTER TABLE execution_steps
    -- When a waiting wait step goes on, or a waiting approval times out.
    ADD COLUMN wake_at            timestamptz,
    -- The Step Functions task token an approval waits on (never shown).
    ADD COLUMN task_token         text,
    -- The nonce of the signed approve/reject links of the current wait.
    ADD COLUMN link_nonce         text,
    ADD COLUMN child_execution_id uuid REFERENCES executions (id) ON DELETE SET NULL,
    -- A forEach iteration is a row of its own, keyed "<step>[<index>]",
    -- with its parent step's key, its index and its item.
    ADD COLUMN parent_key         text,
    ADD COLUMN item_index         integer CHECK (item_index >= 0),
    ADD COLUMN item               jsonb,
    ADD CONSTRAINT execution_steps_iteration_check CHECK ((parent_key IS NULL) = (item_index IS NULL));

-- Steps that run no agent (wait, approval, workflow) have none.
ALTER TABLE workflow_steps ALTER COLUMN agent_id DROP NOT NULL;
-- Approvals may wait up to 30 days.
ALTER TABLE workflow_steps DROP CONSTRAINT workflow_steps_timeout_seconds_check;
ALTER TABLE workflow_steps ADD CONSTRAINT workflow_steps_timeout_seconds_check CHECK (timeout_seconds BETWEEN 1 AND 2592000);
