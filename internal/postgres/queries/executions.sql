-- name: ExecutionGet :one
SELECT * FROM executions WHERE id = $1 AND user_id = $2;

-- name: ExecutionList :many
SELECT * FROM executions
WHERE user_id = $1
  AND (sqlc.narg(workflow_id)::uuid IS NULL OR workflow_id = sqlc.narg(workflow_id)::uuid)
  AND (sqlc.narg(status)::text IS NULL OR status = sqlc.narg(status)::text)
  AND (sqlc.narg(deployment_id)::uuid IS NULL OR deployment_id = sqlc.narg(deployment_id)::uuid)
  AND (sqlc.narg(trigger)::text IS NULL OR trigger = sqlc.narg(trigger)::text)
  AND (sqlc.narg(since)::timestamptz IS NULL OR created_at >= sqlc.narg(since)::timestamptz)
  AND (sqlc.narg(until)::timestamptz IS NULL OR created_at < sqlc.narg(until)::timestamptz)
  AND (sqlc.narg(cursor_time)::timestamptz IS NULL OR (created_at, id) < (sqlc.narg(cursor_time)::timestamptz, sqlc.narg(cursor_id)::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $2;

-- name: ExecutionStepsList :many
SELECT s.* FROM execution_steps s JOIN executions e ON e.id = s.execution_id
WHERE s.execution_id = $1 AND e.user_id = $2
ORDER BY s.started_at NULLS LAST, s.step_key;

-- name: ExecutionLogsList :many
SELECT l.* FROM execution_logs l JOIN executions e ON e.id = l.execution_id
WHERE l.execution_id = $1 AND e.user_id = $2 AND l.sequence > $3
ORDER BY l.sequence
LIMIT $4;

-- name: UsageByDay :many
-- Model spend of a user's runs by day (UTC) since a time (replays, which
-- call no model, do not count).
SELECT to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')::text AS day, count(DISTINCT e.id)::integer AS runs,
    coalesce(sum(s.cost_usd), 0)::float8 AS cost_usd, coalesce(sum(s.input_tokens), 0)::bigint AS input_tokens,
    coalesce(sum(s.output_tokens), 0)::bigint AS output_tokens
FROM executions e LEFT JOIN execution_steps s ON s.execution_id = e.id
WHERE e.user_id = $1 AND e.created_at >= $2 AND e.trigger <> 'replay'
GROUP BY 1 ORDER BY 1;

-- name: UsageByWorkflow :many
-- Model spend of a user's runs by workflow since a time, largest first
-- (replays do not count).
SELECT e.workflow_id, w.name, count(DISTINCT e.id)::integer AS runs,
    coalesce(sum(s.cost_usd), 0)::float8 AS cost_usd, coalesce(sum(s.input_tokens), 0)::bigint AS input_tokens,
    coalesce(sum(s.output_tokens), 0)::bigint AS output_tokens
FROM executions e JOIN workflows w ON w.id = e.workflow_id LEFT JOIN execution_steps s ON s.execution_id = e.id
WHERE e.user_id = $1 AND e.created_at >= $2 AND e.trigger <> 'replay'
GROUP BY e.workflow_id, w.name ORDER BY 4 DESC, w.name;
