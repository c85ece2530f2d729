// Package localengine is the engine side of `turbocat dev`: the agent
// executors, the step runner and the local Step Functions runtime
// (internal/runtime), connected to an app's run and deployment services,
// and the in-process scheduler. The Lambda functions never link it.
package localengine

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/turbocat/turbocat/internal/app"
	"github.com/turbocat/turbocat/internal/app/executors"
	"github.com/turbocat/turbocat/internal/postgres"
	"github.com/turbocat/turbocat/internal/runtime"
	"github.com/turbocat/turbocat/internal/service"
	"github.com/turbocat/turbocat/internal/steprunner"
)

// StepRunnerFunction is the name the local runtime knows the step runner by
// (on AWS the compiled machines carry the steprunner Lambda's ARN instead).
const StepRunnerFunction = "turbocat-steprunner"

// Engine is a running local engine.
type Engine struct {
	Runtime   *runtime.Runtime
	Runner    *steprunner.Runner
	Scheduler *service.Scheduler
	app       *app.App
	closeExe  func()
	stop      context.CancelFunc
	wg        sync.WaitGroup
}

// Start starts the local engine and connects the app's execution and
// deployment services, and agent test runs, to it. journal may be nil (in
// memory).
func Start(ctx context.Context, a *app.App, journal runtime.Journal) (*Engine, error) {
	reg, closeExe, err := executors.New(a.Config, nil)
	if err != nil {
		return nil, err
	}
	runner := a.NewRunner(reg)
	runner.Chain = true // the runtime below invokes every step in this process
	rt, err := runtime.New(ctx, runtime.Options{Journal: journal, Logger: a.Logger.With("component", "runtime"),
		MaxMemoryBytes: int64(a.Config.RuntimeMemoryMB) << 20,
		OnStatusChange: func(ev runtime.StatusChangeEvent) { reconcile(context.WithoutCancel(ctx), a, ev) }})
	if err != nil {
		closeExe()
		return nil, fmt.Errorf("local runtime: %w", err)
	}
	// The step runner answers a repeated call from the step's row (a
	// completed step returns its stored result), so the runtime may journal
	// its Tasks lazily.
	// A step's *turbocat.StepError fails its Task with the step's error
	// name, which the state's Retry and Catch match.
	rt.RegisterFunction(StepRunnerFunction, runner.Handle, runtime.ReplaySafe())
	a.ConnectEngine(runtime.Engine{R: rt}, StepRunnerFunction)
	a.Executions.TrackQueued = true      // this process starts every run
	a.Webhooks.CacheSubscriptions = true // and makes every change to webhooks
	a.Agents.Runner = runner
	return &Engine{Runtime: rt, Runner: runner, app: a, closeExe: closeExe,
		Scheduler: &service.Scheduler{Deployments: a.Deployments, Store: a.DB, Logger: a.Logger.With("component", "scheduler")}}, nil
}

// RunBackground starts what runs beside the API until Close: the
// scheduler (deployment schedules, every second), the reconciler's sweep
// (every TURBOCAT_RECONCILE_INTERVAL) and the event outbox's dispatcher
// (woken by each commit that writes events, and every 5 seconds).
func (l *Engine) RunBackground(ctx context.Context) {
	a := l.app
	ctx, l.stop = context.WithCancel(ctx)
	l.wg.Add(5)
	go func() {
		defer l.wg.Done()
		retention := &service.Retention{Store: a.DB, Period: time.Duration(a.Config.RetentionDays) * 24 * time.Hour,
			Journal: l.Runtime.PruneExecutions, Logger: a.Logger.With("component", "retention")}
		retention.Run(ctx, time.Hour)
	}()
	go func() {
		defer l.wg.Done()
		a.Outbox.Run(ctx, 5*time.Second)
	}()
	a.DB.NotifyEvents() // this process listens: its writes of events wake it
	go func() {
		defer l.wg.Done()
		postgres.ListenEvents(ctx, a.Pool, a.Outbox.Kick, a.Logger.With("component", "outbox"))
	}()
	go func() {
		defer l.wg.Done()
		l.Scheduler.Run(ctx, time.Second)
	}()
	go func() {
		defer l.wg.Done()
		a.Reconciler.Run(ctx, a.Config.ReconcileInterval)
	}()
}

// Close stops the background work, the runtime and the code workers.
func (l *Engine) Close() {
	if l.stop != nil {
		l.stop()
		l.wg.Wait()
	}
	l.Runtime.Close()
	l.closeExe()
}

// reconcile feeds the local runtime's status-change events to the
// reconciler.
func reconcile(ctx context.Context, a *app.App, ev runtime.StatusChangeEvent) {
	var errName, cause string
	if ev.Detail.Error != nil {
		errName = *ev.Detail.Error
	}
	if ev.Detail.Cause != nil {
		cause = *ev.Detail.Cause
	}
	if err := a.Reconciler.Reconcile(ctx, ev.Detail.Name, ev.Detail.Status, errName, cause); err != nil {
		a.Logger.Error("reconcile execution; the periodic sweep will try again", "execution_id", ev.Detail.Name, "error", err.Error())
	}
}

// RecoverRuns deals with the runs a previous process left unfinished: the
// runtime resumes those its journal knows, then one sweep of the
// reconciler, with no grace period, starts the runs that were recorded but
// never started and fails those the engine has no record of.
func (l *Engine) RecoverRuns(ctx context.Context) error {
	a := l.app
	// This process is the only one running steps: leases held by a
	// previous, killed process are dead.
	if n, err := a.DB.ExpireStepLeases(ctx); err != nil {
		return err
	} else if n > 0 {
		a.Logger.Info("released steps held by the previous process", "steps", n)
	}
	if err := l.Runtime.Resume(ctx); err != nil {
		return fmt.Errorf("resume runs: %w", err)
	}
	sweep := *a.Reconciler
	sweep.Grace = -1
	if _, err := sweep.Sweep(ctx); err != nil {
		return fmt.Errorf("recover runs: %w", err)
	}
	return nil
}
