package lambdafn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/turbocat/turbocat/internal/app"
	"github.com/turbocat/turbocat/internal/httpapi"
	"github.com/turbocat/turbocat/internal/service"
	"github.com/turbocat/turbocat/internal/steprunner"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// APIHandler is the Lambda entry point of an API function: API Gateway HTTP
// API (payload format 2.0) in, response out.
type APIHandler func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// API builds, once per cold start, the function that serves the route
// group of its name (auth, agents, ...). With RunsAgents it serves agent
// test runs (POST /agents/{id}/test).
func API(ctx context.Context, name string, opts ...Option) (APIHandler, error) {
	f, err := build(ctx, name, opts)
	if err != nil {
		return nil, err
	}
	return APIHandlerFor(f.App, name), nil
}

// MaxAgentTestSeconds bounds agent test runs on AWS: API Gateway HTTP APIs
// answer within 30 seconds, and the agents function's timeout is 30 s.
const MaxAgentTestSeconds = 25

// APIHandlerFor adapts the app's HTTP handler for the group to Lambda.
func APIHandlerFor(a *app.App, group string) APIHandler {
	adapter := httpadapter.NewV2(a.Server.Handler(group))
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		// API Gateway's request id becomes ours when the client sent none,
		// so logs, responses and CloudWatch line up.
		if ev.Headers == nil {
			ev.Headers = map[string]string{}
		}
		if _, ok := ev.Headers["x-request-id"]; !ok && ev.RequestContext.RequestID != "" {
			ev.Headers["x-request-id"] = ev.RequestContext.RequestID
		}
		return adapter.ProxyWithContext(ctx, ev)
	}
}

// StepRunnerHandler is the Lambda entry point of the steprunner: the payload
// of a Task state in, control data out. A step error is reported with the
// step's error name as the Lambda error type, which is what the Task's
// Retry and Catch ErrorEquals match on AWS.
type StepRunnerHandler func(context.Context, json.RawMessage) (json.RawMessage, error)

// StepRunner builds the steprunner function once per cold start; opts must
// include RunsAgents.
func StepRunner(ctx context.Context, opts ...Option) (StepRunnerHandler, error) {
	f, err := build(ctx, "steprunner", opts)
	if err != nil {
		return nil, err
	}
	if f.Executor == nil {
		f.App.Close()
		return nil, errors.New("steprunner: wire the agent executors (lambdafn.RunsAgents)")
	}
	return StepRunnerLambda(f.App, f.App.NewRunner(f.Executor)), nil
}

// InfrastructureErrorsMetric counts the step runner's failures that are not
// a step's own error (the database, a bug, a timeout of the function): the
// alarm on the step runner watches it, not Lambda's Errors, which also
// counts ordinary step failures.
const InfrastructureErrorsMetric = "turbocat_steprunner_infrastructure_errors_total"

// StepRunnerLambda adapts a runner to Lambda's error reporting, counts
// infrastructure errors in the app's metrics (InfrastructureErrorsMetric),
// and serves agent test runs (ActionTestAgent) for the agents function.
func StepRunnerLambda(a *app.App, r *steprunner.Runner) StepRunnerHandler {
	m := a.Metrics
	return func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
		var probe struct {
			Action string `json:"action"`
		}
		_ = json.Unmarshal(payload, &probe)
		var out json.RawMessage
		var err error
		if probe.Action == ActionTestAgent {
			out, err = testAgent(ctx, a, r, payload)
		} else {
			out, err = r.Handle(ctx, payload)
		}
		var se *turbocat.StepError
		if errors.As(err, &se) {
			return nil, messages.InvokeResponse_Error{Type: se.Name, Message: se.Cause}
		}
		if err != nil {
			m.Add(InfrastructureErrorsMetric, "Step runner invocations that failed for a reason other than the step's own error.", nil, 1)
		}
		return out, err
	}
}

// MigrateHandler is the Lambda entry point of the migrate function: the
// CloudFormation custom resource (through the CDK provider framework) that
// applies migrations on every deploy.
type MigrateHandler func(context.Context, cfn.Event) (map[string]any, error)

// Migrate builds the migrate function.
func Migrate(ctx context.Context, opts ...Option) (MigrateHandler, error) {
	f, err := build(ctx, "migrate", opts)
	if err != nil {
		return nil, err
	}
	return MigrateLambda(f.App), nil
}

// RepublishAction is the Action property of the custom resource that runs
// after the functions are deployed: it makes every workflow version publish
// again on its next run, compiled with the new steprunner version (a run
// already going keeps the version it started with).
const RepublishAction = "republish"

// MigrateLambda migrates on Create and Update and does nothing on Delete
// (removing the stack never drops data). With the Action property
// RepublishAction it forgets the published workflow versions instead.
func MigrateLambda(a *app.App) MigrateHandler {
	return func(ctx context.Context, ev cfn.Event) (map[string]any, error) {
		out := map[string]any{"PhysicalResourceId": "turbocat-migrations"}
		republish := ev.ResourceProperties["Action"] == RepublishAction
		if republish {
			out["PhysicalResourceId"] = "turbocat-republish"
		}
		switch ev.RequestType {
		case cfn.RequestCreate, cfn.RequestUpdate:
			if republish {
				n, err := a.DB.ResetEngineRefs(ctx)
				if err != nil {
					return nil, err
				}
				out["Data"] = map[string]string{"status": "republish", "versions": fmt.Sprint(n)}
				return out, nil
			}
			if err := a.Migrate(ctx); err != nil {
				return nil, fmt.Errorf("migrate: %w", err)
			}
			out["Data"] = map[string]string{"status": "migrated"}
		case cfn.RequestDelete:
		default:
			return nil, fmt.Errorf("migrate: unknown request type %q", ev.RequestType)
		}
		return out, nil
	}
}

// StatusChangeDetail is the detail of the EventBridge "Step Functions
// Execution Status Change" event.
type StatusChangeDetail struct {
	ExecutionArn string  `json:"executionArn"`
	Name         string  `json:"name"`
	Status       string  `json:"status"`
	Error        *string `json:"error"`
	Cause        *string `json:"cause"`
}

// ReconcilerHandler is the Lambda entry point of the reconciler.
type ReconcilerHandler func(context.Context, events.CloudWatchEvent) error

// Reconciler builds the reconciler function.
func Reconciler(ctx context.Context, opts ...Option) (ReconcilerHandler, error) {
	f, err := build(ctx, "reconciler", opts)
	if err != nil {
		return nil, err
	}
	return ReconcilerLambda(f.App), nil
}

// ReconcilerLambda reconciles one status-change event, or, on the
// scheduled rule's "Scheduled Event", sweeps every unfinished run.
func ReconcilerLambda(a *app.App) ReconcilerHandler {
	return func(ctx context.Context, ev events.CloudWatchEvent) error {
		if ev.Source == "aws.events" && ev.DetailType == "Scheduled Event" {
			n, err := a.Reconciler.Sweep(ctx)
			if err != nil {
				return fmt.Errorf("reconciler: sweep: %w", err)
			}
			// The same schedule dispatches the event outbox and prunes
			// what the retention period has passed.
			sent, err := a.Outbox.Drain(ctx)
			if err != nil {
				return fmt.Errorf("reconciler: dispatch events: %w", err)
			}
			if ev.Time.Minute() == 0 { // hourly
				retention := &service.Retention{Store: a.DB, Period: time.Duration(a.Config.RetentionDays) * 24 * time.Hour, Logger: a.Logger}
				if err := retention.Prune(ctx); err != nil {
					return fmt.Errorf("reconciler: retention: %w", err)
				}
			}
			a.Logger.Info("sweep done", "runs_reconciled", n, "events_dispatched", sent)
			return nil
		}
		if ev.Source != "aws.states" || ev.DetailType != "Step Functions Execution Status Change" {
			return fmt.Errorf("reconciler: unexpected event %s/%s", ev.Source, ev.DetailType)
		}
		var d StatusChangeDetail
		if err := json.Unmarshal(ev.Detail, &d); err != nil {
			return fmt.Errorf("reconciler: detail: %w", err)
		}
		var errName, cause string
		if d.Error != nil {
			errName = *d.Error
		}
		if d.Cause != nil {
			cause = *d.Cause
		}
		return a.Reconciler.Reconcile(ctx, d.Name, d.Status, errName, cause)
	}
}

// SchedulePayload is what an EventBridge Scheduler schedule sends the
// trigger function.
type SchedulePayload struct {
	DeploymentID  string    `json:"deploymentId"`
	ScheduledTime time.Time `json:"scheduledTime"`
}

// TriggerHandler is the Lambda entry point of the trigger function: API
// Gateway events for POST /hooks/{id}, and EventBridge Scheduler payloads.
type TriggerHandler func(context.Context, json.RawMessage) (any, error)

// Trigger builds the trigger function.
func Trigger(ctx context.Context, opts ...Option) (TriggerHandler, error) {
	f, err := build(ctx, "trigger", opts)
	if err != nil {
		return nil, err
	}
	return TriggerLambda(f.App), nil
}

// TriggerLambda serves webhooks through the API handler and fires
// schedules; a fire delivered twice starts one run.
func TriggerLambda(a *app.App) TriggerHandler {
	api := APIHandlerFor(a, httpapi.GroupTrigger)
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		var probe struct {
			RequestContext json.RawMessage `json:"requestContext"`
		}
		if err := json.Unmarshal(raw, &probe); err != nil {
			return nil, fmt.Errorf("trigger: not a JSON event: %w", err)
		}
		if len(probe.RequestContext) > 0 {
			var ev events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(raw, &ev); err != nil {
				return nil, fmt.Errorf("trigger: API Gateway event: %w", err)
			}
			return api(ctx, ev)
		}
		var p SchedulePayload
		if err := json.Unmarshal(raw, &p); err != nil || p.DeploymentID == "" || p.ScheduledTime.IsZero() {
			return nil, fmt.Errorf("trigger: expected an API Gateway event or {deploymentId, scheduledTime}")
		}
		e, err := a.Deployments.Fire(ctx, p.DeploymentID, p.ScheduledTime)
		if err != nil {
			return nil, err
		}
		return map[string]string{"executionId": e.ID, "status": e.Status}, nil
	}
}
