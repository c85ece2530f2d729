package service

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/turbocat/turbocat/internal/schedule"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// Scheduler fires deployment schedules in process (turbocat dev; on AWS,
// EventBridge Scheduler invokes the trigger function instead). Each fire
// goes through Deployments.Fire, which starts one run per (deployment,
// scheduled time) however often it is delivered. Fires missed while the
// process was down are not replayed.
type Scheduler struct {
	Deployments *Deployments
	Store       turbocat.DeploymentStore
	Logger      *slog.Logger

	mu    sync.Mutex
	since map[string]time.Time // deployment id → fires up to here are done
	start time.Time
}

// Tick fires every schedule due in (the last tick, now] and returns how
// many runs it started.
func (s *Scheduler) Tick(ctx context.Context, now time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.since == nil {
		s.since, s.start = map[string]time.Time{}, now
		return 0
	}
	ds, err := s.Store.ScheduledDeployments(ctx)
	if err != nil {
		s.Logger.Error("scheduler: list schedules", "error", err.Error())
		return 0
	}
	fired := 0
	live := map[string]bool{}
	for _, d := range ds {
		live[d.ID] = true
		from, ok := s.since[d.ID]
		if !ok {
			from = s.start
			if d.ActivatedAt != nil && d.ActivatedAt.After(from) {
				from = *d.ActivatedAt
			}
		}
		tz := "UTC"
		if d.Timezone != nil {
			tz = *d.Timezone
		}
		sc, err := schedule.Parse(*d.Schedule, tz)
		if err != nil {
			continue
		}
		for t, ok := sc.Next(from); ok && !t.After(now); t, ok = sc.Next(t) {
			if _, err := s.Deployments.Fire(ctx, d.ID, t); err != nil {
				s.Logger.Warn("scheduler: fire", "deployment_id", d.ID, "scheduled_time", t, "error", err.Error())
			} else {
				fired++
			}
			from = t
		}
		s.since[d.ID] = maxTime(from, now)
	}
	for id := range s.since {
		if !live[id] {
			delete(s.since, id)
		}
	}
	return fired
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Run ticks every interval until ctx ends.
func (s *Scheduler) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	s.Tick(ctx, time.Now())
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.Tick(ctx, now)
		}
	}
}
