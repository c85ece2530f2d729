-- name: DeploymentGet :one
SELECT * FROM deployments WHERE id = $1 AND user_id = $2;

-- name: DeploymentList :many
SELECT * FROM deployments
WHERE user_id = $1
  AND (sqlc.narg(workflow_id)::uuid IS NULL OR workflow_id = sqlc.narg(workflow_id)::uuid)
  AND (sqlc.narg(environment)::text IS NULL OR environment = sqlc.narg(environment)::text)
  AND (sqlc.narg(cursor_time)::timestamptz IS NULL OR (created_at, id) < (sqlc.narg(cursor_time)::timestamptz, sqlc.narg(cursor_id)::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $2;
