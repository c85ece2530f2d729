-- name: TemplateCreate :one
INSERT INTO templates (user_id, kind, name, description, category, agent_type, definition)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING *;

-- name: TemplateUpsertBuiltin :exec
INSERT INTO templates (user_id, kind, name, description, category, agent_type, definition)
VALUES (NULL, $1, $2, $3, $4, $5, $6)
ON CONFLICT (user_id, name) DO UPDATE
SET kind = excluded.kind, description = excluded.description, category = excluded.category,
    agent_type = excluded.agent_type, definition = excluded.definition, updated_at = now()
WHERE (templates.kind, templates.description, templates.category, templates.agent_type, templates.definition)
   IS DISTINCT FROM (excluded.kind, excluded.description, excluded.category, excluded.agent_type, excluded.definition);

-- name: TemplateGet :one
-- Built-in templates are visible to everyone; own templates to their owner.
SELECT * FROM templates WHERE id = $1 AND (user_id IS NULL OR user_id = $2);

-- name: TemplateList :many
SELECT * FROM templates
WHERE (user_id IS NULL OR user_id = $1)
  AND (sqlc.narg(kind)::text IS NULL OR kind = sqlc.narg(kind)::text)
  AND (sqlc.narg(cursor_time)::timestamptz IS NULL OR (created_at, id) < (sqlc.narg(cursor_time)::timestamptz, sqlc.narg(cursor_id)::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $2;

-- name: TemplateUpdate :one
UPDATE templates SET name = $3, description = $4, category = $5, definition = $6, updated_at = now()
WHERE id = $1 AND user_id = $2
RETURNING *;

-- name: TemplateDelete :execrows
DELETE FROM templates WHERE id = $1 AND user_id = $2;
