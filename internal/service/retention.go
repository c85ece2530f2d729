package service

import (
	"context"
	"log/slog"
	"time"

	"github.com/turbocat/turbocat/internal/turbocat"
)

// Retention deletes, once an hour, what is older than the retention
// period: the log lines of runs that ended before it, dispatched events,
// finished webhook deliveries, and the engine's journal of finished
// executions (the local runtime's; AWS keeps its own history for 90 days).
// Webhook signatures are kept only as long as the replay window.
type Retention struct {
	Store  turbocat.Pruner
	Period time.Duration // TURBOCAT_RETENTION_DAYS
	// Journal prunes the engine's journal of executions finished before
	// a cutoff; nil where the engine keeps its own (AWS).
	Journal func(ctx context.Context, before time.Time) (int, error)
	Logger  *slog.Logger
	Now     func() time.Time
}

// Prune runs one pass.
func (r *Retention) Prune(ctx context.Context) error {
	now := nowOr(r.Now)
	before := now.Add(-r.Period)
	p, err := r.Store.Prune(ctx, before, now.Add(-2*WebhookTolerance))
	if err != nil {
		return err
	}
	journal := 0
	if r.Journal != nil {
		if journal, err = r.Journal(ctx, before); err != nil {
			return err
		}
	}
	if p.Logs+p.Turns+p.Deliveries+int64(journal) > 0 && r.Logger != nil {
		r.Logger.Info("retention: pruned", "before", before, "log_lines", p.Logs, "turns", p.Turns,
			"deliveries", p.Deliveries, "webhook_signatures", p.Signatures, "journaled_executions", journal)
	}
	return nil
}

// Run prunes every interval until ctx ends (the first pass at once).
func (r *Retention) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := r.Prune(ctx); err != nil && ctx.Err() == nil && r.Logger != nil {
			r.Logger.Warn("retention: prune failed; trying again at the next pass", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
