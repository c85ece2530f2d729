-- Control flow (conditions, for-each, waits, approvals, child runs): the
-- step runner's records of steps that are not one agent call, and the
-- API's approval decisions.

-- name: StepStates :many
-- Every step of a run that has a record (iterations aside): what
-- conditions and the skip rule read.
SELECT step_key, status, output, error FROM execution_steps
WHERE execution_id = $1 AND parent_key IS NULL;

-- name: StepSkip :one
-- Records a step skipped unless it was decided before; returns its status.
WITH ins AS (
    INSERT INTO execution_steps (execution_id, step_key, status, output, error, started_at, completed_at, duration_ms)
    VALUES ($1, $2, 'skipped', NULL, sqlc.narg(reason), now(), now(), 0)
    ON CONFLICT (execution_id, step_key) DO UPDATE SET status = 'skipped', error = excluded.error, completed_at = now(),
        updated_at = now()
    WHERE execution_steps.status = 'pending'
    RETURNING status
)
SELECT coalesce((SELECT status FROM ins), (SELECT s.status FROM execution_steps s WHERE s.execution_id = $1 AND s.step_key = $2))::text;

-- name: StepBegin :one
-- Starts a step that runs no agent itself (for-each, wait, approval,
-- child run): a new row, or a pending or failed one (a retry), becomes
-- running with a new attempt. No row when the step is already running,
-- waiting or done (StepGet reads it then).
INSERT INTO execution_steps AS s (execution_id, step_key, status, attempt, input, started_at)
VALUES ($1, $2, 'running', 1, sqlc.narg(input), now())
ON CONFLICT (execution_id, step_key) DO UPDATE
SET status = 'running', attempt = s.attempt + 1, input = excluded.input, started_at = now(), completed_at = NULL,
    error = NULL, output = NULL, wake_at = NULL, updated_at = now()
WHERE s.status IN ('pending', 'failed')
RETURNING *;

-- name: StepIterationsInsert :exec
-- A for-each step's iterations, pending, one per item (kept when they
-- exist: a retry of the run reuses the completed ones).
INSERT INTO execution_steps (execution_id, step_key, status, parent_key, item_index, item)
SELECT sqlc.arg(execution_id)::uuid, sqlc.arg(step_key)::text || '[' || (i.ord - 1) || ']', 'pending',
    sqlc.arg(step_key)::text, (i.ord - 1)::integer, i.item
FROM jsonb_array_elements(sqlc.arg(items)::jsonb) WITH ORDINALITY AS i(item, ord)
ON CONFLICT (execution_id, step_key) DO NOTHING;

-- name: StepIterations :many
SELECT * FROM execution_steps WHERE execution_id = $1 AND parent_key = $2 ORDER BY item_index;

-- name: StepFinishControl :one
-- Ends a live step that runs no agent itself: completed with its output,
-- or failed with its error.
UPDATE execution_steps SET status = sqlc.arg(status)::text, output = sqlc.narg(output), error = sqlc.narg(error),
    completed_at = now(), lease_until = NULL, claim_id = NULL, task_token = NULL, link_nonce = NULL,
    duration_ms = (extract(epoch FROM (now() - coalesce(started_at, now()))) * 1000)::bigint, updated_at = now()
WHERE execution_id = $1 AND step_key = $2 AND status IN ('pending', 'running', 'waiting')
RETURNING *;

-- name: StepWait :execrows
-- A running step starts waiting: for its wake-up time (a wait), or for a
-- decision on its task token (an approval, which times out at wake_at).
UPDATE execution_steps SET status = 'waiting', wake_at = sqlc.narg(wake_at), task_token = sqlc.narg(task_token),
    link_nonce = sqlc.narg(link_nonce), updated_at = now()
WHERE execution_id = $1 AND step_key = $2 AND status IN ('running', 'waiting');

-- name: ExecutionSetWaiting :exec
UPDATE executions SET status = 'waiting' WHERE id = $1 AND status IN ('pending', 'running');

-- name: ExecutionResumeRunning :exec
-- A run whose last waiting step is over runs again.
UPDATE executions SET status = 'running'
WHERE id = $1 AND status = 'waiting'
  AND NOT EXISTS (SELECT 1 FROM execution_steps s WHERE s.execution_id = $1 AND s.status = 'waiting');

-- name: StepWaitingForUpdate :one
-- The waiting step an approval decision acts on, locked.
SELECT s.*, e.user_id, e.workflow_id FROM execution_steps s JOIN executions e ON e.id = s.execution_id
WHERE s.execution_id = $1 AND s.step_key = $2
FOR UPDATE OF s;

-- name: StepSetChild :exec
UPDATE execution_steps SET child_execution_id = $3, updated_at = now()
WHERE execution_id = $1 AND step_key = $2;

-- name: ExecutionChildren :many
SELECT * FROM executions WHERE parent_execution_id = $1 ORDER BY created_at;

-- name: WorkflowGetByName :one
SELECT * FROM workflows WHERE user_id = $1 AND name = $2;

-- name: StepRestoreWaiting :execrows
-- A decision the engine did not take (the task timed out meanwhile):
-- the step waits again, as the engine still sees it.
UPDATE execution_steps SET status = 'waiting', task_token = sqlc.arg(task_token), link_nonce = sqlc.narg(link_nonce),
    output = NULL, error = NULL, completed_at = NULL, duration_ms = NULL, updated_at = now()
WHERE execution_id = $1 AND step_key = $2 AND status IN ('completed', 'failed') AND task_token IS NULL;
