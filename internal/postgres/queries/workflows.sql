-- name: WorkflowCreate :one
INSERT INTO workflows (user_id, name, description, definition, schedule)
VALUES ($1, $2, $3, $4, $5)
RETURNING *;

-- name: WorkflowGet :one
SELECT * FROM workflows WHERE id = $1 AND user_id = $2;

-- name: WorkflowGetForUpdate :one
SELECT * FROM workflows WHERE id = $1 AND user_id = $2 FOR UPDATE;

-- name: WorkflowList :many
SELECT * FROM workflows
WHERE user_id = $1
  AND (sqlc.narg(search)::text IS NULL OR name ILIKE '%' || sqlc.narg(search)::text || '%')
  AND (sqlc.narg(cursor_time)::timestamptz IS NULL OR (created_at, id) < (sqlc.narg(cursor_time)::timestamptz, sqlc.narg(cursor_id)::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $2;

-- name: WorkflowCount :one
SELECT count(*) FROM workflows WHERE user_id = $1;

-- name: WorkflowUpdate :one
UPDATE workflows SET name = $3, description = $4, definition = $5, schedule = $6,
    version = version + 1, updated_at = now()
WHERE id = $1 AND user_id = $2
RETURNING *;

-- name: WorkflowDelete :execrows
DELETE FROM workflows WHERE id = $1 AND user_id = $2;

-- name: WorkflowStepsDelete :exec
DELETE FROM workflow_steps WHERE workflow_id = $1;

-- name: WorkflowStepsInsert :copyfrom
INSERT INTO workflow_steps (workflow_id, agent_id, step_key, position, depends_on, inputs,
    retry_max_attempts, retry_interval_seconds, retry_backoff_rate, retry_max_delay_seconds, retry_errors, timeout_seconds)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12);

-- name: WorkflowStepsList :many
SELECT * FROM workflow_steps WHERE workflow_id = $1 ORDER BY position;

-- name: WorkflowStepsForWorkflows :many
SELECT * FROM workflow_steps WHERE workflow_id = ANY(sqlc.arg(ids)::uuid[]) ORDER BY workflow_id, position;

-- name: WorkflowVersionInsert :exec
INSERT INTO workflow_versions (workflow_id, version, definition) VALUES ($1, $2, $3);

-- name: WorkflowVersionGet :one
SELECT v.* FROM workflow_versions v JOIN workflows w ON w.id = v.workflow_id
WHERE v.workflow_id = $1 AND v.version = $2 AND w.user_id = $3;
