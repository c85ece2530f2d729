-- name: AgentCreate :one
INSERT INTO agents (user_id, template_id, name, description, type, config, status, input_schema)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING *;

-- name: AgentGet :one
SELECT * FROM agents WHERE id = $1 AND user_id = $2;

-- name: AgentGetByName :one
SELECT * FROM agents WHERE user_id = $1 AND name = $2;

-- name: AgentsGetByNames :many
SELECT * FROM agents WHERE user_id = $1 AND name = ANY(sqlc.arg(names)::text[]);

-- name: AgentGetForUpdate :one
SELECT * FROM agents WHERE id = $1 AND user_id = $2 FOR UPDATE;

-- name: AgentList :many
SELECT * FROM agents
WHERE user_id = $1
  AND (sqlc.narg(type)::text IS NULL OR type = sqlc.narg(type)::text)
  AND (sqlc.narg(search)::text IS NULL OR name ILIKE '%' || sqlc.narg(search)::text || '%')
  AND (sqlc.narg(cursor_time)::timestamptz IS NULL OR (created_at, id) < (sqlc.narg(cursor_time)::timestamptz, sqlc.narg(cursor_id)::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $2;

-- name: AgentCount :one
SELECT count(*) FROM agents WHERE user_id = $1;

-- name: AgentUpdate :one
UPDATE agents SET name = $3, description = $4, config = $5, status = $6, input_schema = $7, updated_at = now()
WHERE id = $1 AND user_id = $2
RETURNING *;

-- name: AgentDelete :execrows
DELETE FROM agents WHERE id = $1 AND user_id = $2;

-- name: AgentsOwnedCount :one
-- How many of the given agent ids exist and belong to the user.
SELECT count(*) FROM agents WHERE user_id = $1 AND id = ANY(sqlc.arg(ids)::uuid[]);

-- name: AgentsOwned :many
-- Which of the given agent ids exist and belong to the user, with their
-- types.
SELECT id, type FROM agents WHERE user_id = $1 AND id = ANY(sqlc.arg(ids)::uuid[]);

-- name: AgentWorkflowsUsing :many
SELECT DISTINCT w.name FROM workflow_steps s JOIN workflows w ON w.id = s.workflow_id
WHERE s.agent_id = $1 ORDER BY w.name;

-- name: AgentDeploymentsUsing :many
-- The active deployments whose version (or canary's other version) has a
-- step running the agent: deleting it would break them.
SELECT DISTINCT w.name AS workflow_name, d.environment, v.version
FROM deployments d
JOIN workflow_versions v ON v.workflow_id = d.workflow_id
    AND (v.version = d.version OR (d.canary_weight IS NOT NULL AND v.version = d.previous_version))
JOIN workflows w ON w.id = d.workflow_id
WHERE d.status = 'active' AND d.user_id = sqlc.arg(user_id)
  AND v.definition -> 'steps' @> jsonb_build_array(jsonb_build_object('agentId', sqlc.arg(agent_id)::text))
ORDER BY w.name, d.environment, v.version;

-- name: AgentsUsingWorkflowTool :many
-- The names of a user's llm agents whose tools name the workflow (by its
-- name or its id).
SELECT a.name FROM agents a
WHERE a.user_id = sqlc.arg(user_id) AND a.type = 'llm'
  AND (a.config->'tools' @> jsonb_build_array(jsonb_build_object('workflow', sqlc.arg(name)::text))
    OR a.config->'tools' @> jsonb_build_array(jsonb_build_object('workflow', sqlc.arg(id)::text)))
ORDER BY a.name;

-- name: AgentsUsingTool :many
-- The names of a user's llm agents whose tools name the agent called name.
SELECT a.name FROM agents a
WHERE a.user_id = sqlc.arg(user_id) AND a.type = 'llm'
  AND a.config->'tools' @> jsonb_build_array(jsonb_build_object('agent', sqlc.arg(name)::text))
ORDER BY a.name;
