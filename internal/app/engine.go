package app

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/turbocat/turbocat/internal/config"
	"github.com/turbocat/turbocat/internal/executor"
	"github.com/turbocat/turbocat/internal/executor/codeexec"
	"github.com/turbocat/turbocat/internal/executor/httpexec"
	"github.com/turbocat/turbocat/internal/executor/llmexec"
	"github.com/turbocat/turbocat/internal/postgres"
	"github.com/turbocat/turbocat/internal/runtime"
	"github.com/turbocat/turbocat/internal/service"
	"github.com/turbocat/turbocat/internal/steprunner"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// StepRunnerFunction is the name the local runtime knows the step runner by
// (on AWS the compiled machines carry the steprunner Lambda's ARN instead).
const StepRunnerFunction = "turbocat-steprunner"

// NewExecutors builds the agent executors: code agents in sandboxed worker
// processes, API agents through the SSRF-safe client, LLM agents against
// their providers. The returned func releases the workers.
func NewExecutors(cfg *config.Config) (*executor.Registry, func(), error) {
	allow, err := allowCIDRs(cfg)
	if err != nil {
		return nil, nil, err
	}
	client := httpexec.NewClient(httpexec.ClientOptions{AllowCIDRs: allow, Own: OwnAddrs(cfg)})
	code, err := codeexec.New(codeexec.Options{Workers: cfg.CodeWorkers, PerUser: cfg.CodeWorkersPerUser})
	if err != nil {
		return nil, nil, fmt.Errorf("code executor: %w", err)
	}
	reg := executor.NewRegistry()
	reg.Register(executor.TypeCode, code)
	reg.Register(executor.TypeAPI, httpexec.New(httpexec.Options{Client: client}))
	reg.Register(executor.TypeLLM, llmexec.New(llmexec.Options{HTTPClient: client,
		OpenAIBaseURL: cfg.OpenAIBaseURL, AnthropicBaseURL: cfg.AnthropicBase}))
	return reg, func() { code.Close() }, nil
}

// NewRunner returns the step runner over the app's stores.
func (a *App) NewRunner(exec executor.Executor) *steprunner.Runner {
	return &steprunner.Runner{
		Store: a.DB, Workflows: a.DB, Agents: a.DB, Executor: exec, Logger: a.Logger, Metrics: a.Metrics,
		Transient: postgres.IsTransient,
		Secrets: func(ctx context.Context, userID, name string) (string, error) {
			return a.Secrets.ResolveOne(ctx, userID, name)
		},
	}
}

// Local is the engine side of `turbocat dev`: the executors, the step runner
// and the local Step Functions runtime, wired into the API.
type Local struct {
	Runtime   *runtime.Runtime
	Runner    *steprunner.Runner
	Scheduler *service.Scheduler
	closeExe  func()
	stop      context.CancelFunc
	wg        sync.WaitGroup
}

// StartLocal starts the local engine and connects the API's execution routes
// to it. journal may be nil (in memory).
func (a *App) StartLocal(ctx context.Context, journal runtime.Journal) (*Local, error) {
	reg, closeExe, err := NewExecutors(a.Config)
	if err != nil {
		return nil, err
	}
	runner := a.NewRunner(reg)
	rt, err := runtime.New(ctx, runtime.Options{Journal: journal, Logger: a.Logger.With("component", "runtime"),
		MaxMemoryBytes: int64(a.Config.RuntimeMemoryMB) << 20,
		OnStatusChange: func(ev runtime.StatusChangeEvent) { a.reconcile(context.WithoutCancel(ctx), ev) }})
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
	a.connectEngine(runtime.Engine{R: rt}, StepRunnerFunction)
	a.Executions.TrackQueued = true // this process starts every run
	a.Agents.Runner = runner
	l := &Local{Runtime: rt, Runner: runner, closeExe: closeExe,
		Scheduler: &service.Scheduler{Deployments: a.Deployments, Store: a.DB, Logger: a.Logger.With("component", "scheduler")}}
	return l, nil
}

// connectEngine connects the run and deployment services to an engine
// whose Task states invoke the steprunner by stepRunner (a name or an ARN).
func (a *App) connectEngine(engine turbocat.Engine, stepRunner string) {
	a.Executions.Engine = engine
	a.Executions.StepRunnerFunction = stepRunner
}

// RunBackground starts what runs beside the API until Close: the
// scheduler (deployment schedules, every second), the reconciler's sweep
// (every TURBOCAT_RECONCILE_INTERVAL) and the event outbox's dispatcher
// (woken by each commit that writes events, and every 5 seconds).
func (l *Local) RunBackground(ctx context.Context, a *App) {
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
func (l *Local) Close() {
	if l.stop != nil {
		l.stop()
		l.wg.Wait()
	}
	l.Runtime.Close()
	l.closeExe()
}

// reconcile feeds the local runtime's status-change events to the
// reconciler.
func (a *App) reconcile(ctx context.Context, ev runtime.StatusChangeEvent) {
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
func (a *App) RecoverRuns(ctx context.Context, l *Local) error {
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
