package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/turbocat/turbocat/internal/config"
	"github.com/turbocat/turbocat/internal/executor"
	"github.com/turbocat/turbocat/internal/executor/codeexec"
	"github.com/turbocat/turbocat/internal/executor/httpexec"
	"github.com/turbocat/turbocat/internal/executor/llmexec"
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
	client := httpexec.NewClient(httpexec.ClientOptions{AllowCIDRs: allow})
	code, err := codeexec.New(codeexec.Options{Workers: cfg.CodeWorkers})
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
		Store: a.DB, Workflows: a.DB, Agents: a.DB, Executor: exec, Logger: a.Logger, Metrics: a.Metrics, Events: a.Publisher,
		Secrets: func(ctx context.Context, userID, name string) (string, error) {
			return a.Secrets.ResolveOne(ctx, userID, name)
		},
	}
}

// StepRunnerFunc adapts the step runner to a local runtime function: a step
// error becomes the Task's error name, which the state's Retry and Catch
// match.
func StepRunnerFunc(r *steprunner.Runner) runtime.Function {
	return func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
		out, err := r.Handle(ctx, payload)
		var se *steprunner.StepError
		if errors.As(err, &se) {
			return nil, &runtime.TaskError{Name: se.Name, Cause: se.Cause}
		}
		return out, err
	}
}

// Local is the engine side of `turbocat dev`: the executors, the step runner
// and the local Step Functions runtime, wired into the API.
type Local struct {
	Runtime   *runtime.Runtime
	Runner    *steprunner.Runner
	Scheduler *service.Scheduler
	closeExe  func()
	stopSched context.CancelFunc
	schedDone chan struct{}
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
	rt.RegisterFunction(StepRunnerFunction, StepRunnerFunc(runner), runtime.ReplaySafe())
	a.connectEngine(runtime.Engine{R: rt}, StepRunnerFunction)
	a.Server.Runner = runner
	l := &Local{Runtime: rt, Runner: runner, closeExe: closeExe,
		Scheduler: &service.Scheduler{Deployments: a.Server.Deploys, Store: a.DB, Logger: a.Logger.With("component", "scheduler")}}
	return l, nil
}

// connectEngine wires the run and deployment routes to an engine whose
// Task states invoke the steprunner by stepRunner (a name or an ARN).
func (a *App) connectEngine(engine turbocat.Engine, stepRunner string) {
	a.Server.Runs = &service.Executions{Store: a.DB, Workflows: a.DB, Reads: a.DB, Engine: engine,
		StepRunnerFunction: stepRunner, Logger: a.Logger, Metrics: a.Metrics, Events: a.Publisher}
	a.Server.Deploys = &service.Deployments{Store: a.DB, Reads: a.DB, Workflows: a.DB, Runs: a.Server.Runs, Secrets: a.Secrets,
		PublicURL: a.Config.PublicURL}
}

// RunScheduler fires deployment schedules every second until Close.
func (l *Local) RunScheduler(ctx context.Context) {
	ctx, l.stopSched = context.WithCancel(ctx)
	l.schedDone = make(chan struct{})
	go func() {
		defer close(l.schedDone)
		l.Scheduler.Run(ctx, time.Second)
	}()
}

// Close stops the scheduler, the runtime and the code workers.
func (l *Local) Close() {
	if l.stopSched != nil {
		l.stopSched()
		<-l.schedDone
	}
	l.Runtime.Close()
	l.closeExe()
}

// reconcile feeds the local runtime's status-change events to Reconcile.
func (a *App) reconcile(ctx context.Context, ev runtime.StatusChangeEvent) {
	var errName, cause string
	if ev.Detail.Error != nil {
		errName = *ev.Detail.Error
	}
	if ev.Detail.Cause != nil {
		cause = *ev.Detail.Cause
	}
	if err := a.Reconcile(ctx, ev.Detail.Name, ev.Detail.Status, errName, cause); err != nil {
		a.Logger.Error("reconcile execution", "execution_id", ev.Detail.Name, "error", err.Error())
	}
}

// Reconcile brings an execution row in line when the engine ends a run by
// itself (a timeout, an abort, a failure no Catch handled): on AWS from the
// "Step Functions Execution Status Change" event, locally from the runtime.
// name is the engine's execution name, which is Turbocat's execution id.
// Runs that already finished, and statuses that need nothing, are left.
func (a *App) Reconcile(ctx context.Context, name, engineStatus, errName, cause string) error {
	status := map[string]string{
		turbocat.EngineFailed: turbocat.ExecutionFailed, turbocat.EngineTimedOut: turbocat.ExecutionTimedOut,
		turbocat.EngineAborted: turbocat.ExecutionCancelled,
	}[engineStatus]
	if status == "" {
		return nil
	}
	e, err := a.DB.ExecutionByID(ctx, name)
	if turbocat.ErrorCodeOf(err) == turbocat.ENOTFOUND {
		return nil // not a Turbocat run
	}
	if err != nil {
		return err
	}
	if service.Finished(e.Status) {
		return nil
	}
	if errName == "" {
		errName = "States." + engineStatus
	}
	if cause == "" {
		cause = "the workflow engine ended the run"
	}
	errJSON, _ := json.Marshal(map[string]string{"error": errName, "cause": cause})
	done, err := a.DB.FinishExecution(ctx, e.ID, status, nil, errJSON)
	if done {
		a.Metrics.ExecutionFinished(status)
	}
	return err
}

// RecoverRuns deals with the runs a previous process left unfinished: the
// runtime resumes those its journal knows; any the engine has no record of
// can never finish, so they are marked failed with a cause that says what
// to do.
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
	runs, err := a.DB.UnfinishedExecutions(ctx)
	if err != nil {
		return err
	}
	engine := runtime.Engine{R: l.Runtime}
	for _, e := range runs {
		if e.EngineRef != nil {
			if _, err := engine.DescribeExecution(ctx, *e.EngineRef); turbocat.ErrorCodeOf(err) != turbocat.ENOTFOUND {
				continue
			}
		}
		errJSON, _ := json.Marshal(map[string]string{"error": "Turbocat.EngineLost",
			"cause": "the engine restarted without a record of this run; retry it with POST /api/v1/executions/" + e.ID + "/retry"})
		if _, err := a.DB.FinishExecution(ctx, e.ID, turbocat.ExecutionFailed, nil, errJSON); err != nil {
			return err
		}
		a.Logger.Warn("run lost across restart", "execution_id", e.ID)
	}
	return nil
}
