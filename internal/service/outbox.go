package service

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/turbocat/turbocat/internal/turbocat"
)

// Outbox dispatches lifecycle events from the event table, where every
// change writes them in its own transaction, to the publisher (the
// webhooks locally, the EventBridge bus on AWS). Delivery is at least once:
// an event is marked dispatched only after the publisher took it, and one
// whose dispatch failed, or whose dispatcher died, is tried again; the
// event id lets receivers de-duplicate.
type Outbox struct {
	Store     turbocat.EventStore
	Publisher turbocat.EventPublisher
	Logger    *slog.Logger
	// Workers bounds the events dispatched at once (default 8).
	Workers int
	// Lease is how long a claimed event is held before another dispatcher
	// may take it (default 2 minutes: longer than a webhook's attempts).
	Lease time.Duration

	kick chan struct{}
	once sync.Once
}

func (o *Outbox) init() {
	o.once.Do(func() { o.kick = make(chan struct{}, 1) })
}

func (o *Outbox) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

// Kick asks a running dispatcher (Run) to look for events now rather than
// at its next tick.
func (o *Outbox) Kick() {
	o.init()
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

// retryDelay is the wait before the next attempt of an event that failed
// attempt times: 2 s doubling to 5 minutes.
func retryDelay(attempt int) time.Duration {
	d := 2 * time.Second << min(attempt, 8)
	return min(d, 5*time.Minute)
}

// Drain dispatches every due event, batch after batch, and returns how many
// it dispatched.
func (o *Outbox) Drain(ctx context.Context) (int, error) {
	workers, lease := o.Workers, o.Lease
	if workers <= 0 {
		workers = 8
	}
	if lease <= 0 {
		lease = 2 * time.Minute
	}
	total, limit := 0, workers*4
	for {
		events, err := o.Store.ClaimEvents(ctx, limit, lease)
		if err != nil {
			return total, fmt.Errorf("outbox: claim events: %w", err)
		}
		if len(events) == 0 {
			return total, nil
		}
		sem := make(chan struct{}, workers)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var sent []string
		for _, e := range events {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				if o.dispatch(ctx, e) {
					mu.Lock()
					sent = append(sent, e.ID)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		// One write records the batch; if it fails the events are sent
		// again when their lease passes, and receivers de-duplicate on
		// their ids.
		if len(sent) > 0 {
			if err := o.Store.EventsDispatched(context.WithoutCancel(ctx), sent...); err != nil {
				return total, fmt.Errorf("outbox: record dispatch: %w", err)
			}
			total += len(sent)
		}
		if ctx.Err() != nil {
			return total, ctx.Err()
		}
		if len(events) < limit {
			// Nothing else was due when this batch was claimed; an event
			// written since has kicked the dispatcher (Run drains again).
			return total, nil
		}
	}
}

// dispatch publishes one event; a failure is recorded for a later attempt.
func (o *Outbox) dispatch(ctx context.Context, e turbocat.Event) bool {
	log := o.logger().With("event_id", e.ID, "event_type", e.Type)
	if err := o.Publisher.Publish(ctx, e); err != nil {
		delay := retryDelay(e.Attempts)
		log.Warn("outbox: dispatch failed; trying again", "retry_in", delay.String(), "error", err.Error())
		if rerr := o.Store.EventRetry(context.WithoutCancel(ctx), e.ID, time.Now().Add(delay), err.Error()); rerr != nil {
			log.Error("outbox: record failed dispatch", "error", rerr.Error())
		}
		return false
	}
	return true
}

// Run dispatches events until ctx ends: at every Kick, and every interval
// (which also picks up events whose dispatch failed or whose dispatcher
// died).
func (o *Outbox) Run(ctx context.Context, every time.Duration) {
	o.init()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := o.Drain(ctx); err != nil && ctx.Err() == nil {
			o.logger().Warn("outbox: drain failed; trying again", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-o.kick:
			// Commits come in bursts under load: a moment's wait lets
			// one claim take many events.
			time.Sleep(2 * time.Millisecond)
		}
	}
}
