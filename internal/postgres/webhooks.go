package postgres

import (
	"context"
	"fmt"

	"github.com/turbocat/turbocat/internal/postgres/dbsqlc"
	"github.com/turbocat/turbocat/internal/turbocat"
)

var _ turbocat.WebhookStore = (*DB)(nil)

func toWebhook(w dbsqlc.Webhook) *turbocat.Webhook {
	return &turbocat.Webhook{ID: w.ID, UserID: w.UserID, URL: w.Url, Events: w.Events, CreatedAt: w.CreatedAt, SecretEnc: w.SecretEnc}
}

// CreateWebhook implements turbocat.WebhookStore.
func (db *DB) CreateWebhook(ctx context.Context, w *turbocat.Webhook) error {
	return db.inTx(ctx, func(q *dbsqlc.Queries) error {
		row, err := q.WebhookCreate(ctx, dbsqlc.WebhookCreateParams{UserID: w.UserID, Url: w.URL, Events: w.Events, SecretEnc: w.SecretEnc})
		if err != nil {
			return translate(err, "webhook")
		}
		*w = *toWebhook(row)
		return audit(ctx, q, "webhook.create", "webhook", w.ID, map[string]any{"url": w.URL, "events": w.Events})
	})
}

// ListWebhooks implements turbocat.WebhookStore.
func (db *DB) ListWebhooks(ctx context.Context, userID string, limit int) ([]*turbocat.Webhook, error) {
	rows, err := db.q.WebhookList(ctx, dbsqlc.WebhookListParams{UserID: userID, Limit: int32(limit)})
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	return mapSlice(rows, toWebhook), nil
}

// DeleteWebhook implements turbocat.WebhookStore.
func (db *DB) DeleteWebhook(ctx context.Context, userID, id string) error {
	if !isUUID(id) {
		return turbocat.NotFound("webhook")
	}
	return db.inTx(ctx, func(q *dbsqlc.Queries) error {
		n, err := q.WebhookDelete(ctx, dbsqlc.WebhookDeleteParams{ID: id, UserID: userID})
		if err != nil {
			return translate(err, "webhook")
		}
		if n == 0 {
			return turbocat.NotFound("webhook")
		}
		return audit(ctx, q, "webhook.delete", "webhook", id, nil)
	})
}

// WebhooksFor implements turbocat.WebhookStore.
func (db *DB) WebhooksFor(ctx context.Context, userID, eventType string) ([]*turbocat.Webhook, error) {
	rows, err := db.q.WebhooksForEvent(ctx, dbsqlc.WebhooksForEventParams{UserID: userID, EventType: eventType})
	if err != nil {
		return nil, fmt.Errorf("webhooks for %s: %w", eventType, err)
	}
	return mapSlice(rows, toWebhook), nil
}

func toDelivery(d dbsqlc.WebhookDelivery) *turbocat.WebhookDelivery {
	out := &turbocat.WebhookDelivery{ID: d.ID, EventID: d.EventID, EventType: d.EventType, Status: d.Status, Attempts: int(d.Attempts),
		LastError: d.LastError, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
	if d.LastStatus != nil {
		s := int(*d.LastStatus)
		out.LastStatus = &s
	}
	return out
}

// StartDelivery implements turbocat.WebhookStore.
func (db *DB) StartDelivery(ctx context.Context, webhookID, eventID, eventType string) (*turbocat.WebhookDelivery, error) {
	row, err := db.q.DeliveryStart(ctx, dbsqlc.DeliveryStartParams{WebhookID: webhookID, EventID: eventID, EventType: eventType})
	if err != nil {
		return nil, fmt.Errorf("start delivery: %w", err)
	}
	return toDelivery(row), nil
}

// RecordDelivery implements turbocat.WebhookStore.
func (db *DB) RecordDelivery(ctx context.Context, id string, r turbocat.DeliveryResult) error {
	var st *int32
	if r.HTTPStatus != nil {
		s := int32(*r.HTTPStatus)
		st = &s
	}
	return db.q.DeliveryRecord(ctx, dbsqlc.DeliveryRecordParams{ID: id, Status: r.Status, LastStatus: st, LastError: r.Error})
}

// ListDeliveries implements turbocat.WebhookStore.
func (db *DB) ListDeliveries(ctx context.Context, userID, webhookID string, limit int) ([]*turbocat.WebhookDelivery, error) {
	if !isUUID(webhookID) {
		return nil, turbocat.NotFound("webhook")
	}
	if _, err := db.q.WebhookGet(ctx, dbsqlc.WebhookGetParams{ID: webhookID, UserID: userID}); err != nil {
		return nil, translate(err, "webhook")
	}
	rows, err := db.q.DeliveryList(ctx, dbsqlc.DeliveryListParams{WebhookID: webhookID, UserID: userID, Limit: int32(limit)})
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	return mapSlice(rows, toDelivery), nil
}
