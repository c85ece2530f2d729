package app

import (
	"context"
	"net/http"
	"net/netip"

	"github.com/turbocat/turbocat/internal/config"
	"github.com/turbocat/turbocat/internal/executor"
	"github.com/turbocat/turbocat/internal/executor/httpexec"
	"github.com/turbocat/turbocat/internal/postgres"
	"github.com/turbocat/turbocat/internal/steprunner"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// NewRunner returns the step runner over the app's stores.
func (a *App) NewRunner(exec executor.Executor) *steprunner.Runner {
	var mcpClient *http.Client
	if allow, err := allowCIDRs(a.Config); err == nil {
		mcpClient = httpexec.NewClient(httpexec.ClientOptions{AllowCIDRs: allow, Own: OwnAddrs(a.Config)})
	}
	return &steprunner.Runner{
		MCPClient: mcpClient,
		Store:     a.DB, Workflows: a.DB, Agents: a.DB, Executor: exec, Logger: a.Logger, Metrics: a.Metrics,
		Transient: postgres.IsTransient,
		Live:      a.Live,
		Children:  a.Executions,
		// Workflows used as tools run as child runs.
		WorkflowTools: a.Executions,
		Links:         a.Executions.Links.Sign,
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

// AllowCIDRs parses TURBOCAT_HTTP_ALLOW_CIDRS for the SSRF-safe client.
func AllowCIDRs(cfg *config.Config) ([]netip.Prefix, error) { return allowCIDRs(cfg) }
