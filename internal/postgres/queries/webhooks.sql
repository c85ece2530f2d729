-- name: WebhookCreate :one
INSERT INTO webhooks (user_id, url, events, secret_enc) VALUES ($1, $2, $3, $4) RETURNING *;

-- name: WebhookList :many
SELECT * FROM webhooks WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2;

-- name: WebhookGet :one
SELECT * FROM webhooks WHERE id = $1 AND user_id = $2;

-- name: WebhookDelete :execrows
DELETE FROM webhooks WHERE id = $1 AND user_id = $2;

-- name: WebhooksForEvent :many
SELECT * FROM webhooks WHERE user_id = $1 AND sqlc.arg(event_type)::text = ANY(events);

-- name: DeliveryStart :one
-- One delivery per (webhook, event): a redelivered event reuses it.
INSERT INTO webhook_deliveries (webhook_id, event_id, event_type) VALUES ($1, $2, $3)
ON CONFLICT (webhook_id, event_id) DO UPDATE SET updated_at = now()
RETURNING *;

-- name: DeliveryRecord :exec
UPDATE webhook_deliveries SET status = $2, attempts = attempts + 1, last_status = $3, last_error = $4, updated_at = now()
WHERE id = $1;

-- name: DeliveryList :many
SELECT d.* FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
WHERE d.webhook_id = $1 AND w.user_id = $2
ORDER BY d.created_at DESC, d.id DESC LIMIT $3;

-- name: DeliveriesPrune :execrows
DELETE FROM webhook_deliveries WHERE updated_at < $1 AND status <> 'pending';
