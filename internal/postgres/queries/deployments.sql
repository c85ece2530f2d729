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

-- name: DeploymentDeactivateActive :one
-- The active deployment of a (workflow, environment) steps aside for a new
-- one, which keeps its signing secret.
UPDATE deployments SET status = 'inactive', updated_at = now()
WHERE workflow_id = $1 AND environment = $2 AND status = 'active'
RETURNING version, signing_secret_enc;

-- name: DeploymentInsert :one
INSERT INTO deployments (workflow_id, user_id, environment, status, version, previous_version, endpoint_url,
    state_machine_ref, version_ref, alias_ref, schedule, timezone, signing_secret_enc, error, canary_weight, may_execute, input, activated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, CASE WHEN $4 = 'active' THEN now() END)
RETURNING *;

-- name: WebhookSignatureRecord :one
-- Records a signature the first time it is seen; a repeat returns the
-- Idempotency-Key its first use came with.
--
-- With async, the record commits without waiting for the WAL flush: the
-- run's record that the caller writes next (ExecutionInsertAudited) waits
-- for it, and that flush makes this record durable too (WAL order) before
-- the webhook call is answered. A Postgres crash in between loses both,
-- and the unanswered call may be sent again.
WITH ins AS (
    INSERT INTO webhook_signatures (signature_hash, deployment_id, idempotency_key)
    SELECT sqlc.arg(signature_hash), sqlc.arg(deployment_id)::uuid, sqlc.narg(idempotency_key)::text
    WHERE set_config('synchronous_commit', CASE WHEN sqlc.arg(async)::bool THEN 'off' ELSE current_setting('synchronous_commit') END, true) IS NOT NULL
    ON CONFLICT (signature_hash) DO NOTHING
    RETURNING true AS first
)
SELECT coalesce((SELECT first FROM ins), false)::bool AS first,
    (SELECT s.idempotency_key FROM webhook_signatures s WHERE s.signature_hash = sqlc.arg(signature_hash)) AS first_key;

-- name: WebhookSignaturesPrune :execrows
DELETE FROM webhook_signatures WHERE seen_at < $1;

-- name: DeploymentGetInternal :one
SELECT * FROM deployments WHERE id = $1;

-- name: DeploymentRollback :one
UPDATE deployments SET version = $3, previous_version = $4, version_ref = $5, canary_weight = NULL, updated_at = now()
WHERE id = $1 AND user_id = $2 AND status = 'active'
RETURNING *;

-- name: DeploymentDeactivate :one
UPDATE deployments SET status = 'inactive', updated_at = now()
WHERE id = $1 AND user_id = $2 AND status = 'active'
RETURNING *;

-- name: DeploymentsScheduled :many
SELECT * FROM deployments WHERE status = 'active' AND schedule IS NOT NULL ORDER BY id;

-- name: DeploymentSetSigningSecret :one
UPDATE deployments SET signing_secret_enc = $3, updated_at = now()
WHERE id = $1 AND user_id = $2 AND status = 'active'
RETURNING *;

-- name: DeploymentActiveInternal :one
-- The active deployment of an environment, for its stable webhook, with
-- its workflow as it is now (a run of the current version needs nothing
-- more: one round trip for both).
SELECT sqlc.embed(d), sqlc.embed(w)
FROM deployments d JOIN workflows w ON w.id = d.workflow_id AND w.user_id = d.user_id
WHERE d.workflow_id = $1 AND d.environment = $2 AND d.status = 'active';

-- name: DeploymentListActive :many
-- A user's active deployments, each with its workflow's name and the
-- description and inputSchema of the version it runs: the tools of the MCP
-- server. Ordered by name and environment, so a listing is stable.
SELECT d.id, d.workflow_id, d.environment, d.version, w.name,
    coalesce(v.definition->>'description', '')::text AS description,
    (v.definition->'inputSchema')::jsonb AS input_schema
FROM deployments d
JOIN workflows w ON w.id = d.workflow_id AND w.user_id = d.user_id
JOIN workflow_versions v ON v.workflow_id = d.workflow_id AND v.version = d.version
WHERE d.user_id = $1 AND d.status = 'active'
ORDER BY w.name, d.environment, d.id
LIMIT $2;
