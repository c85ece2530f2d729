package app

import (
	"context"
	"encoding/json"
	"net/netip"

	"github.com/turbocat/turbocat/internal/config"
	"github.com/turbocat/turbocat/internal/executor"
	"github.com/turbocat/turbocat/internal/service"
	"github.com/turbocat/turbocat/internal/steprunner"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// NewRunner returns the step runner over the app's stores.
func (a *App) NewRunner(exec executor.Executor) *steprunner.Runner {
	return &steprunner.Runner{
		Store: a.DB, Workflows: a.DB, Agents: a.DB, Executor: exec, Logger: a.Logger, Metrics: a.Metrics, Events: a.Publisher,
		Secrets: func(ctx context.Context, userID, name string) (string, error) {
			return a.Secrets.ResolveOne(ctx, userID, name)
		},
	}
}

// ConnectEngine connects the run and deployment services to an engine
// whose Task states invoke the steprunner by stepRunner (a name or an ARN).
// An engine that can delete state machines (AWS Step Functions) deletes a
// workflow's machine when the workflow is deleted.
func (a *App) ConnectEngine(engine turbocat.Engine, stepRunner string) {
	a.Executions.Engine = engine
	a.Executions.StepRunnerFunction = stepRunner
	if d, ok := engine.(machineDeleter); ok {
		a.Workflows.Deleted = func(ctx context.Context, workflowID string) {
			name := a.Executions.StateMachineName(workflowID)
			if err := d.DeleteStateMachine(context.WithoutCancel(ctx), name); err != nil && turbocat.ErrorCodeOf(err) != turbocat.ENOTFOUND {
				a.Logger.Warn("delete the state machine of a deleted workflow", "state_machine", name, "error", err.Error())
			}
		}
	}
}

// machineDeleter is an engine that deletes state machines by name.
type machineDeleter interface {
	DeleteStateMachine(ctx context.Context, name string) error
}

// SetPublisher sends the app's lifecycle events to p (the EventBridge bus on
// AWS) instead of delivering them in process.
func (a *App) SetPublisher(p turbocat.EventPublisher) {
	a.Publisher = p
	a.Executions.Events = p
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
	done, err := a.DB.FinishExecution(ctx, e.ID, turbocat.Outcome{Status: status, Error: errJSON})
	if done {
		a.Metrics.ExecutionFinished(status)
	}
	return err
}

// AllowCIDRs parses TURBOCAT_HTTP_ALLOW_CIDRS for the SSRF-safe client.
func AllowCIDRs(cfg *config.Config) ([]netip.Prefix, error) { return allowCIDRs(cfg) }
