package turbocat

import (
	"context"
	"time"
)

// Lifecycle event types.
const (
	EventExecutionStarted   = "execution.started"
	EventExecutionSucceeded = "execution.succeeded"
	EventExecutionFailed    = "execution.failed"
	EventExecutionCancelled = "execution.cancelled"
	EventStepFailed         = "step.failed"
	// EventStepWaiting: a step waits for a time or a decision; an
	// approval's event carries signed one-time approve and reject links.
	EventStepWaiting         = "step.waiting"
	EventDeploymentActivated = "deployment.activated"
)

// EventTypes lists every event a webhook can subscribe to.
var EventTypes = []string{EventExecutionStarted, EventExecutionSucceeded, EventExecutionFailed,
	EventExecutionCancelled, EventStepFailed, EventStepWaiting, EventDeploymentActivated}

// Event is a lifecycle event: the same JSON on the event bus and in webhook
// deliveries. UserID routes it and is never sent. Its ID is stable across
// redeliveries: receivers de-duplicate on it.
type Event struct {
	ID     string    `json:"id"`
	Type   string    `json:"type"`
	Time   time.Time `json:"time"`
	UserID string    `json:"-"`
	Data   any       `json:"data"`
	// Attempts counts the dispatches of the event so far (the outbox's).
	Attempts int `json:"-"`
}

// NewEvent returns an event of typ for the user, now.
func NewEvent(userID, typ string, data any) Event {
	return Event{ID: NewID(), Type: typ, Time: time.Now().UTC(), UserID: userID, Data: data}
}

// EventPublisher sends an event on: to its webhooks (locally), or to the
// event bus (on AWS). An error leaves the event in the outbox for another
// attempt.
type EventPublisher interface {
	Publish(ctx context.Context, e Event) error
}

// EventStore is the outbox of lifecycle events. An event is written in the
// same transaction as the change it reports (so a change is never without
// its event, nor an event without its change), then dispatched from the
// table at least once.
type EventStore interface {
	// AddEvents writes events to the outbox.
	AddEvents(ctx context.Context, events ...Event) error
	// ClaimEvents returns up to limit events due for dispatch, oldest
	// first, and holds them for lease: another claim skips them until the
	// lease passes (a dispatcher that died lets them go).
	ClaimEvents(ctx context.Context, limit int, lease time.Duration) ([]Event, error)
	// EventsDispatched records events as sent on.
	EventsDispatched(ctx context.Context, ids ...string) error
	// EventRetry makes an event due again at retryAt, recording why the
	// attempt failed.
	EventRetry(ctx context.Context, id string, retryAt time.Time, reason string) error
}

// Webhook is an outbound webhook subscription.
type Webhook struct {
	ID        string    `json:"id"`
	UserID    string    `json:"-"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
	CreatedAt time.Time `json:"createdAt"`
	SecretEnc []byte    `json:"-"`
}

// WebhookDelivery is the record of delivering one event to one webhook.
type WebhookDelivery struct {
	ID         string    `json:"id"`
	EventID    string    `json:"eventId"`
	EventType  string    `json:"eventType"`
	Status     string    `json:"status"` // pending, succeeded, failed
	Attempts   int       `json:"attempts"`
	LastStatus *int      `json:"lastStatus"`
	LastError  *string   `json:"lastError"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

// DeliveryResult is the outcome of a delivery attempt: the delivery's new
// status (pending while it will be retried, succeeded, failed), the HTTP
// status the receiver answered and the error, if any.
type DeliveryResult struct {
	Status     string
	HTTPStatus *int
	Error      *string
}

// WebhookStore stores subscriptions and deliveries.
type WebhookStore interface {
	CreateWebhook(ctx context.Context, w *Webhook) error
	ListWebhooks(ctx context.Context, userID string, limit int) ([]*Webhook, error)
	DeleteWebhook(ctx context.Context, userID, id string) error
	// WebhooksFor returns the user's webhooks subscribed to an event type.
	WebhooksFor(ctx context.Context, userID, eventType string) ([]*Webhook, error)
	StartDelivery(ctx context.Context, webhookID, eventID, eventType string) (*WebhookDelivery, error)
	RecordDelivery(ctx context.Context, id string, r DeliveryResult) error
	// ListDeliveries returns a webhook's deliveries; ENOTFOUND for another
	// user's webhook.
	ListDeliveries(ctx context.Context, userID, webhookID string, limit int) ([]*WebhookDelivery, error)
}
