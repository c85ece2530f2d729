-- name: SecretUpsert :one
INSERT INTO secrets (user_id, name, value_enc) VALUES ($1, $2, $3)
ON CONFLICT (user_id, name) DO UPDATE SET value_enc = excluded.value_enc, updated_at = now()
RETURNING id, user_id, name, created_at, updated_at, (xmax = 0)::boolean AS created;

-- name: SecretList :many
SELECT id, name, created_at, updated_at FROM secrets WHERE user_id = $1 ORDER BY name;

-- name: SecretGetValues :many
SELECT name, value_enc FROM secrets WHERE user_id = $1 AND name = ANY(sqlc.arg(names)::text[]);

-- name: SecretDelete :execrows
DELETE FROM secrets WHERE user_id = $1 AND name = $2;
