-- name: UserCreate :one
INSERT INTO users (email, password_hash, full_name, role)
VALUES ($1, $2, $3, $4)
RETURNING *;

-- name: UserGet :one
SELECT * FROM users WHERE id = $1;

-- name: UserGetByEmail :one
SELECT * FROM users WHERE email = $1;

-- name: UserSetPassword :exec
UPDATE users SET password_hash = $2, token_version = token_version + 1, updated_at = now() WHERE id = $1;

-- name: UserSetMonthlyBudget :exec
UPDATE users SET monthly_budget_usd = $2, updated_at = now() WHERE id = $1;

-- name: UserEndSessions :exec
-- Every access token issued so far stops working.
UPDATE users SET token_version = token_version + 1 WHERE id = $1;

-- name: UserList :many
SELECT * FROM users
WHERE (sqlc.narg(cursor_time)::timestamptz IS NULL OR (created_at, id) < (sqlc.narg(cursor_time)::timestamptz, sqlc.narg(cursor_id)::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $1;

-- name: UserDelete :execrows
DELETE FROM users WHERE id = $1;

-- name: RefreshTokenCreate :exec
INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at)
VALUES ($1, $2, $3, $4);

-- name: RefreshTokenRotate :one
-- Marks a live token as used; at most one concurrent caller gets the row.
UPDATE refresh_tokens SET rotated_at = now()
WHERE token_hash = $1 AND rotated_at IS NULL AND revoked_at IS NULL AND expires_at > now()
RETURNING *;

-- name: RefreshTokenGetByHash :one
SELECT * FROM refresh_tokens WHERE token_hash = $1;

-- name: RefreshTokenRevokeFamily :execrows
UPDATE refresh_tokens SET revoked_at = now()
WHERE family_id = $1 AND revoked_at IS NULL;

-- name: RefreshTokenRevokeUser :execrows
UPDATE refresh_tokens SET revoked_at = now()
WHERE user_id = $1 AND revoked_at IS NULL;

-- name: UserGetForUpdate :one
SELECT id FROM users WHERE id = $1 FOR UPDATE;

-- name: UserUpdateProfile :one
UPDATE users SET email = $2, full_name = $3, updated_at = now() WHERE id = $1
RETURNING *;
