package service

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/turbocat/turbocat/internal/secrets"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// Webhooks delivers lifecycle events to the webhooks users subscribed: each
// delivery is signed like inbound webhooks (X-Turbocat-Signature), sent
// through the SSRF-safe client, retried with exponential backoff a bounded
// number of times, and recorded. Locally it is the in-process event bus; on
// AWS the same deliveries run in the deliverer function from the EventBridge
// bus.
type Webhooks struct {
	Store   turbocat.WebhookStore
	Secrets *Secrets
	Client  *http.Client // the SSRF-safe client of API agents
	Logger  *slog.Logger
	// MaxAttempts bounds the attempts per delivery (default 5); the wait
	// after attempt n is Backoff·2ⁿ⁻¹ (default 1 s).
	MaxAttempts int
	Backoff     time.Duration
	// CacheSubscriptions keeps each user's subscriptions in memory, where
	// this process makes every change to them (turbocat dev): an event of
	// a user with no webhook then costs no query.
	CacheSubscriptions bool

	mu   sync.Mutex
	subs map[string][]*turbocat.Webhook // user id → subscriptions
}

// subscriptions returns the user's webhooks subscribed to an event type.
func (s *Webhooks) subscriptions(ctx context.Context, userID, eventType string) ([]*turbocat.Webhook, error) {
	if !s.CacheSubscriptions {
		return s.Store.WebhooksFor(ctx, userID, eventType)
	}
	s.mu.Lock()
	all, ok := s.subs[userID]
	s.mu.Unlock()
	if !ok {
		var err error
		if all, err = s.Store.ListWebhooks(ctx, userID, 1000); err != nil {
			return nil, err
		}
		s.mu.Lock()
		if s.subs == nil {
			s.subs = map[string][]*turbocat.Webhook{}
		}
		s.subs[userID] = all
		s.mu.Unlock()
	}
	var out []*turbocat.Webhook
	for _, h := range all {
		if slices.Contains(h.Events, eventType) {
			out = append(out, h)
		}
	}
	return out, nil
}

// forget drops a user's cached subscriptions after a change.
func (s *Webhooks) forget(userID string) {
	s.mu.Lock()
	delete(s.subs, userID)
	s.mu.Unlock()
}

// Publish implements turbocat.EventPublisher for the outbox: it delivers
// the event to every webhook subscribed to it and returns when each
// delivery has succeeded or used up its attempts (each recorded). An error
// means the deliveries could not be looked up or recorded: the outbox
// tries the event again.
func (s *Webhooks) Publish(ctx context.Context, e turbocat.Event) error {
	return s.DeliverAll(ctx, e)
}

// DeliverAll delivers one event to every webhook subscribed to it and
// returns when all are done (the deliverer function on AWS).
func (s *Webhooks) DeliverAll(ctx context.Context, e turbocat.Event) error {
	hooks, err := s.subscriptions(ctx, e.UserID, e.Type)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	for _, h := range hooks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Deliver(ctx, h, e)
		}()
	}
	wg.Wait()
	return nil
}

// Deliver sends one event to one webhook until it succeeds or the attempts
// run out, recording each attempt.
func (s *Webhooks) Deliver(ctx context.Context, h *turbocat.Webhook, e turbocat.Event) {
	log := s.Logger.With("webhook_id", h.ID, "event_id", e.ID, "event_type", e.Type)
	d, err := s.Store.StartDelivery(ctx, h.ID, e.ID, e.Type)
	if err != nil {
		log.Error("events: record delivery", "error", err.Error())
		return
	}
	if d.Status == "succeeded" {
		return // delivered before (the event was published twice)
	}
	secret, err := s.Secrets.Cipher.Decrypt(ctx, h.SecretEnc, webhookAD(h.UserID))
	if err != nil {
		log.Error("events: decrypt webhook secret", "error", err.Error())
		return
	}
	body, err := json.Marshal(e)
	if err != nil {
		return
	}
	attempts, backoff := s.MaxAttempts, s.Backoff
	if attempts <= 0 {
		attempts = 5
	}
	if backoff <= 0 {
		backoff = time.Second
	}
	for n := 1; n <= attempts; n++ {
		status, err := s.send(ctx, h.URL, string(secret), e, body, d.ID)
		var st *int
		if status > 0 {
			st = &status
		}
		if err == nil {
			_ = s.Store.RecordDelivery(ctx, d.ID, turbocat.DeliveryResult{Status: "succeeded", HTTPStatus: st})
			return
		}
		msg := err.Error()
		final := "pending"
		if n == attempts {
			final = "failed"
		}
		if rerr := s.Store.RecordDelivery(ctx, d.ID, turbocat.DeliveryResult{Status: final, HTTPStatus: st, Error: &msg}); rerr != nil {
			log.Error("events: record attempt", "error", rerr.Error())
		}
		if n == attempts {
			log.Warn("events: delivery failed", "attempts", n, "error", msg)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff << (n - 1)):
		}
	}
}

func (s *Webhooks) send(ctx context.Context, target, secret string, e turbocat.Event, body []byte, deliveryID string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Turbocat-Webhooks/1")
	req.Header.Set("X-Turbocat-Event", e.Type)
	req.Header.Set("X-Turbocat-Delivery", deliveryID)
	req.Header.Set("X-Turbocat-Signature", Sign(secret, time.Now(), body))
	res, err := s.Client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("send: %w", err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return res.StatusCode, fmt.Errorf("the endpoint answered %d", res.StatusCode)
	}
	return res.StatusCode, nil
}

func webhookAD(userID string) []byte { return secrets.AssociatedData(userID, "webhook-signing-secret") }

// WebhookInput is the body of POST /webhooks.
type WebhookInput struct {
	URL    string   `json:"url"`
	Events []string `json:"events"`
	Secret string   `json:"secret"`
}

// CreatedWebhook carries the signing secret, shown this once.
type CreatedWebhook struct {
	*turbocat.Webhook
	Secret string `json:"secret"`
}

// Subscribe creates a webhook subscription; without a secret one is made.
func (s *Webhooks) Subscribe(ctx context.Context, actor *turbocat.Actor, in WebhookInput) (*CreatedWebhook, error) {
	var details []turbocat.FieldError
	u, err := url.Parse(in.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(in.URL) > 2048 {
		details = append(details, turbocat.FieldError{Field: "url", Message: "must be an http(s) URL"})
	}
	if len(in.Events) == 0 {
		details = append(details, turbocat.FieldError{Field: "events", Message: "must list at least one event type"})
	}
	for i, e := range in.Events {
		if !slices.Contains(turbocat.EventTypes, e) {
			details = append(details, turbocat.FieldError{Field: fmt.Sprintf("events[%d]", i), Message: fmt.Sprintf("unknown event type %q; known: %v", e, turbocat.EventTypes)})
		}
	}
	if in.Secret != "" && (len(in.Secret) < 16 || len(in.Secret) > 256) {
		details = append(details, turbocat.FieldError{Field: "secret", Message: "must be 16 to 256 characters"})
	}
	if len(details) > 0 {
		return nil, turbocat.ValidationError("invalid webhook", details...)
	}
	if s.Secrets == nil || s.Secrets.Cipher == nil {
		return nil, turbocat.Errorf(turbocat.EUNAVAILABLE, "webhooks need signing secrets: set TURBOCAT_SECRETS_KEY")
	}
	secret := in.Secret
	if secret == "" {
		var raw [32]byte
		_, _ = rand.Read(raw[:])
		secret = "whsec_" + hex.EncodeToString(raw[:])
	}
	enc, err := s.Secrets.Cipher.Encrypt(ctx, []byte(secret), webhookAD(actor.UserID))
	if err != nil {
		return nil, fmt.Errorf("encrypt webhook secret: %w", err)
	}
	w := &turbocat.Webhook{UserID: actor.UserID, URL: in.URL, Events: slices.Compact(slices.Sorted(slices.Values(in.Events))), SecretEnc: enc}
	if err := s.Store.CreateWebhook(ctx, w); err != nil {
		return nil, err
	}
	s.forget(actor.UserID)
	return &CreatedWebhook{Webhook: w, Secret: secret}, nil
}

// List returns the actor's webhook subscriptions.
func (s *Webhooks) List(ctx context.Context, actor *turbocat.Actor, limit int) ([]*turbocat.Webhook, error) {
	list, err := s.Store.ListWebhooks(ctx, actor.UserID, limit)
	if list == nil {
		list = []*turbocat.Webhook{}
	}
	return list, err
}

// Delete deletes one of the actor's webhook subscriptions.
func (s *Webhooks) Delete(ctx context.Context, actor *turbocat.Actor, id string) error {
	defer s.forget(actor.UserID)
	return s.Store.DeleteWebhook(ctx, actor.UserID, id)
}

// Deliveries returns the latest deliveries of one of the actor's webhooks;
// ENOTFOUND for another user's.
func (s *Webhooks) Deliveries(ctx context.Context, actor *turbocat.Actor, id string, limit int) ([]*turbocat.WebhookDelivery, error) {
	list, err := s.Store.ListDeliveries(ctx, actor.UserID, id, limit)
	if list == nil {
		list = []*turbocat.WebhookDelivery{}
	}
	return list, err
}
