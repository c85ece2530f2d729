// Package localengine is the engine side of `turbocat dev`: the agent
// executors, the step runner and the local Step Functions runtime
// (internal/runtime), connected to an app's run and deployment services,
// and the in-process scheduler. The Lambda functions never link it.
package localengine

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/turbocat/turbocat/internal/app"
	"github.com/turbocat/turbocat/internal/app/executors"
	"github.com/turbocat/turbocat/internal/runtime"
	"github.com/turbocat/turbocat/internal/service"
	"github.com/turbocat/turbocat/internal/steprunner"
	"github.com/turbocat/turbocat/internal/turbocat"
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
	stopSched context.CancelFunc
	schedDone chan struct{}
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
	rt, err := runtime.New(ctx, runtime.Options{Journal: journal, Logger: a.Logger.With("component", "runtime"),
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
	a.Agents.Runner = runner
	return &Engine{Runtime: rt, Runner: runner, app: a, closeExe: closeExe,
		Scheduler: &service.Scheduler{Deployments: a.Deployments, Store: a.DB, Logger: a.Logger.With("component", "scheduler")}}, nil
}

// RunScheduler fires deployment schedules every second until Close.
func (l *Engine) RunScheduler(ctx context.Context) {
	ctx, l.stopSched = context.WithCancel(ctx)
	l.schedDone = make(chan struct{})
	go func() {
		defer close(l.schedDone)
		l.Scheduler.Run(ctx, time.Second)
	}()
}

// Close stops the scheduler, the runtime and the code workers.
func (l *Engine) Close() {
	if l.stopSched != nil {
		l.stopSched()
		<-l.schedDone
	}
	l.Runtime.Close()
	l.closeExe()
}

// reconcile feeds the local runtime's status-change events to Reconcile.
func reconcile(ctx context.Context, a *app.App, ev runtime.StatusChangeEvent) {
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

// RecoverRuns deals with the runs a previous process left unfinished: the
// runtime resumes those its journal knows; any the engine has no record of
// can never finish, so they are marked failed with a cause that says what
// to do.
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
		if _, err := a.DB.FinishExecution(ctx, e.ID, turbocat.Outcome{Status: turbocat.ExecutionFailed, Error: errJSON}); err != nil {
			return err
		}
		a.Logger.Warn("run lost across restart", "execution_id", e.ID)
	}
	return nil
}
