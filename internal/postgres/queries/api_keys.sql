-- name: APIKeyCreate :one
INSERT INTO api_keys (user_id, name, prefix, key_hash, scopes, expires_at)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING *;

-- name: APIKeyGetByPrefix :one
SELECT k.*, u.role AS user_role
FROM api_keys k JOIN users u ON u.id = k.user_id
WHERE k.prefix = $1;

-- name: APIKeyTouch :exec
UPDATE api_keys SET last_used_at = now()
WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute');

-- name: APIKeyList :many
SELECT * FROM api_keys
WHERE user_id = $1
  AND (sqlc.narg(cursor_time)::timestamptz IS NULL OR (created_at, id) < (sqlc.narg(cursor_time)::timestamptz, sqlc.narg(cursor_id)::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $2;

-- name: APIKeyRevoke :one
UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
WHERE id = $1 AND user_id = $2
RETURNING *;
