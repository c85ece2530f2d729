package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/turbocat/turbocat/internal/awsevents"
	"github.com/turbocat/turbocat/internal/config"
	"github.com/turbocat/turbocat/internal/httpapi"
	"github.com/turbocat/turbocat/internal/service"
	"github.com/turbocat/turbocat/internal/steprunner"
	"github.com/turbocat/turbocat/internal/tracing"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// lambdaApp loads a function's configuration, reads its secrets by ARN and
// wires the app with the AWS adapters (KMS, EventBridge, Step Functions,
// X-Ray, EMF metrics). needJWT is false for functions that check no tokens.
func lambdaApp(ctx context.Context, name string, needJWT bool) (*App, error) {
	tracing.Enable()
	cfg, err := config.Load()
	if err != nil {
		return nil, err
	}
	if err := resolveAWSSecrets(ctx, cfg); err != nil {
		return nil, err
	}
	if err := cfg.Validate(needJWT); err != nil {
		return nil, err
	}
	if !needJWT && len(cfg.JWTSecret) < 32 {
		cfg.JWTSecret = make([]byte, 32) // issues and checks no tokens
	}
	a, err := New(ctx, cfg, NewLogger(cfg, os.Stdout).With("function", name))
	if err != nil {
		return nil, err
	}
	if err := a.useKMS(ctx); err != nil {
		return nil, err
	}
	a.Metrics.EMF = os.Stdout // CloudWatch Embedded Metric Format
	if err := a.useEventBridge(ctx); err != nil {
		return nil, err
	}
	if err := a.useStepFunctions(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// StepRunnerHandler is the Lambda entry point of the steprunner: the payload
// of a Task state in, control data out. A step error is reported with the
// step's error name as the Lambda error type, which is what the Task's
// Retry and Catch ErrorEquals match on AWS.
type StepRunnerHandler func(context.Context, json.RawMessage) (json.RawMessage, error)

// LambdaStepRunner builds the steprunner function once per cold start.
func LambdaStepRunner(ctx context.Context) (StepRunnerHandler, error) {
	a, err := lambdaApp(ctx, "steprunner", false)
	if err != nil {
		return nil, err
	}
	reg, _, err := NewExecutors(a.Config)
	if err != nil {
		return nil, err
	}
	return StepRunnerLambda(a.NewRunner(reg)), nil
}

// StepRunnerLambda adapts a runner to Lambda's error reporting.
func StepRunnerLambda(r *steprunner.Runner) StepRunnerHandler {
	return func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
		out, err := r.Handle(ctx, payload)
		var se *turbocat.StepError
		if errors.As(err, &se) {
			return nil, messages.InvokeResponse_Error{Type: se.Name, Message: se.Cause}
		}
		return out, err
	}
}

// MigrateHandler is the Lambda entry point of the migrate function: the
// CloudFormation custom resource (through the CDK provider framework) that
// applies migrations on every deploy.
type MigrateHandler func(context.Context, cfn.Event) (map[string]any, error)

// LambdaMigrate builds the migrate function.
func LambdaMigrate(ctx context.Context) (MigrateHandler, error) {
	a, err := lambdaApp(ctx, "migrate", false)
	if err != nil {
		return nil, err
	}
	return MigrateLambda(a), nil
}

// MigrateLambda migrates on Create and Update and does nothing on Delete
// (removing the stack never drops data).
func MigrateLambda(a *App) MigrateHandler {
	return func(ctx context.Context, ev cfn.Event) (map[string]any, error) {
		out := map[string]any{"PhysicalResourceId": "turbocat-migrations"}
		switch ev.RequestType {
		case cfn.RequestCreate, cfn.RequestUpdate:
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

// LambdaReconciler builds the reconciler function.
func LambdaReconciler(ctx context.Context) (ReconcilerHandler, error) {
	a, err := lambdaApp(ctx, "reconciler", false)
	if err != nil {
		return nil, err
	}
	return ReconcilerLambda(a), nil
}

// ReconcilerLambda reconciles one status-change event, or, on the
// scheduled rule's "Scheduled Event", sweeps every unfinished run.
func ReconcilerLambda(a *App) ReconcilerHandler {
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

// LambdaTrigger builds the trigger function.
func LambdaTrigger(ctx context.Context) (TriggerHandler, error) {
	a, err := lambdaApp(ctx, "trigger", false)
	if err != nil {
		return nil, err
	}
	return TriggerLambda(a), nil
}

// TriggerLambda serves webhooks through the API handler and fires
// schedules; a fire delivered twice starts one run.
func TriggerLambda(a *App) TriggerHandler {
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

// DelivererHandler is the Lambda entry point of the deliverer: Turbocat
// events from the EventBridge bus in, signed webhook deliveries out.
type DelivererHandler func(context.Context, events.CloudWatchEvent) error

// LambdaDeliverer builds the deliverer function.
func LambdaDeliverer(ctx context.Context) (DelivererHandler, error) {
	a, err := lambdaApp(ctx, "deliverer", false)
	if err != nil {
		return nil, err
	}
	return DelivererLambda(a), nil
}

// DelivererLambda delivers one bus event to the webhooks subscribed to it.
// A redelivered event reuses its delivery records and skips the webhooks it
// already reached.
func DelivererLambda(a *App) DelivererHandler {
	return func(ctx context.Context, ev events.CloudWatchEvent) error {
		if ev.Source != awsevents.Source {
			return fmt.Errorf("deliverer: unexpected event source %q", ev.Source)
		}
		e, err := awsevents.Decode(ev.Detail)
		if err != nil {
			return fmt.Errorf("deliverer: %w", err)
		}
		return a.Webhooks.DeliverAll(ctx, e)
	}
}
