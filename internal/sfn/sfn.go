// Package sfn implements turbocat.Engine on AWS Step Functions through
// aws-sdk-go-v2. It publishes compiled workflows as state machine versions,
// starts, stops and describes executions, manages aliases for deployments
// and answers task tokens. The same code drives Turbocat's local Step
// Functions–compatible endpoint (internal/runtime/sfnapi) and LocalStack by
// pointing the aws.Config's BaseEndpoint at them.
//
// AWS errors are translated once, here, into *turbocat.Error: missing
// machines and executions are ENOTFOUND, invalid definitions and names are
// EVALIDATION, and throttling or server faults that outlast the bounded
// retries of the SDK retryer are EUNAVAILABLE.
package sfn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/turbocat/turbocat/internal/turbocat"
)

// State machine types.
const (
	TypeStandard = "STANDARD"
	TypeExpress  = "EXPRESS"
)

// Default retry bounds for throttling and server faults.
const (
	DefaultMaxAttempts = 5
	DefaultMaxBackoff  = 5 * time.Second
)

// Logging is the CloudWatch Logs configuration of the state machines the
// engine publishes.
type Logging struct {
	// LogGroupArn is the log group ARN, ending in ":*".
	LogGroupArn string
	// Level is ALL, ERROR, FATAL or OFF; "" means ERROR.
	Level string
	// IncludeExecutionData logs inputs and outputs too.
	IncludeExecutionData bool
}

// Options configure an Engine. Zero values pick defaults.
type Options struct {
	// RoleArn is the IAM role Step Functions assumes to run the machines.
	RoleArn string
	// Type is TypeStandard (default) or TypeExpress.
	Type string
	// Logging, if set, is applied to every published machine.
	Logging *Logging
	// Tracing turns on X-Ray tracing.
	Tracing bool
	// Tags are set on machines the engine creates.
	Tags map[string]string
	// MaxAttempts bounds the attempts of one call on throttling and server
	// faults (default DefaultMaxAttempts); MaxBackoff bounds the delay
	// between them (default DefaultMaxBackoff).
	MaxAttempts int
	MaxBackoff  time.Duration
	// Logger receives debug lines about idempotent replays; nil discards.
	Logger *slog.Logger
	// KeepVersions, when positive, bounds the versions each machine keeps:
	// after publishing, versions beyond the KeepVersions most recent are
	// deleted, except those an alias routes to (a machine may have at most
	// 1,000). A deleted version that is needed again is published again.
	KeepVersions int
	// MachineArnPrefix ("arn:aws:states:<region>:<account>:stateMachine:"),
	// when set, gives a machine's ARN from its name without listing
	// machines.
	MachineArnPrefix string
}

// Engine is turbocat.Engine on AWS Step Functions. It is safe for
// concurrent use.
type Engine struct {
	client *awssfn.Client
	opts   Options
	log    *slog.Logger

	mu       sync.Mutex
	machines map[string]string // machine name → ARN, learnt on the way
}

var _ turbocat.Engine = (*Engine)(nil)

// New returns an Engine using cfg (region, credentials, and BaseEndpoint
// for a local or LocalStack endpoint). Throttling and 5xx responses are
// retried with jittered exponential backoff, at most opts.MaxAttempts
// attempts per call.
func New(cfg aws.Config, opts Options) *Engine {
	if opts.Type == "" {
		opts.Type = TypeStandard
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	client := awssfn.NewFromConfig(cfg, func(o *awssfn.Options) {
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = opts.MaxAttempts
			so.MaxBackoff = opts.MaxBackoff
		})
	})
	return &Engine{client: client, opts: opts, log: log, machines: map[string]string{}}
}

// Client returns the underlying Step Functions client, for calls the
// engine does not wrap.
func (e *Engine) Client() *awssfn.Client { return e.client }

func (e *Engine) loggingConfig() *types.LoggingConfiguration {
	l := e.opts.Logging
	if l == nil {
		return nil
	}
	level := types.LogLevel(l.Level)
	if level == "" {
		level = types.LogLevelError
	}
	lc := &types.LoggingConfiguration{Level: level, IncludeExecutionData: l.IncludeExecutionData}
	if l.LogGroupArn != "" {
		lc.Destinations = []types.LogDestination{{CloudWatchLogsLogGroup: &types.CloudWatchLogsLogGroup{LogGroupArn: aws.String(l.LogGroupArn)}}}
	}
	return lc
}

func (e *Engine) tracingConfig() *types.TracingConfiguration {
	if !e.opts.Tracing {
		return nil
	}
	return &types.TracingConfiguration{Enabled: true}
}

func (e *Engine) tags() []types.Tag {
	var tags []types.Tag
	for k, v := range e.opts.Tags {
		tags = append(tags, types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return tags
}

// PublishStateMachine implements turbocat.Engine: it creates the machine
// called name with a published first version, or, when the machine exists,
// updates its definition and publishes a version in the same call. It
// returns the version ARN. EVALIDATION for an invalid definition or name.
func (e *Engine) PublishStateMachine(ctx context.Context, name string, definition []byte) (string, error) {
	created, err := e.client.CreateStateMachine(ctx, &awssfn.CreateStateMachineInput{
		Name:                 aws.String(name),
		Definition:           aws.String(string(definition)),
		RoleArn:              optString(e.opts.RoleArn),
		Type:                 types.StateMachineType(e.opts.Type),
		LoggingConfiguration: e.loggingConfig(),
		TracingConfiguration: e.tracingConfig(),
		Tags:                 e.tags(),
		Publish:              true,
	})
	var machineArn string
	switch {
	case err == nil:
		machineArn = aws.ToString(created.StateMachineArn)
		e.remember(name, machineArn)
		if v := aws.ToString(created.StateMachineVersionArn); v != "" {
			e.prune(ctx, machineArn, v)
			return v, nil
		}
		// Same name and definition as the existing machine: AWS returns
		// it without publishing; publish its current revision (idempotent).
		return e.publishCurrent(ctx, machineArn)
	case isCode[*types.StateMachineAlreadyExists](err):
		machineArn, err = e.machineArn(ctx, name, err)
		if err != nil {
			return "", err
		}
	default:
		return "", translate(err, "publish state machine "+name)
	}

	updated, err := e.client.UpdateStateMachine(ctx, &awssfn.UpdateStateMachineInput{
		StateMachineArn:      aws.String(machineArn),
		Definition:           aws.String(string(definition)),
		RoleArn:              optString(e.opts.RoleArn),
		LoggingConfiguration: e.loggingConfig(),
		TracingConfiguration: e.tracingConfig(),
		Publish:              true,
	})
	if err != nil {
		return "", translate(err, "publish state machine "+name)
	}
	if v := aws.ToString(updated.StateMachineVersionArn); v != "" {
		e.prune(ctx, machineArn, v)
		return v, nil
	}
	v, err := e.publishCurrent(ctx, machineArn)
	if err == nil {
		e.prune(ctx, machineArn, v)
	}
	return v, err
}

func (e *Engine) publishCurrent(ctx context.Context, machineArn string) (string, error) {
	out, err := e.client.PublishStateMachineVersion(ctx, &awssfn.PublishStateMachineVersionInput{StateMachineArn: aws.String(machineArn)})
	if err != nil {
		return "", translate(err, "publish version of "+machineArn)
	}
	return aws.ToString(out.StateMachineVersionArn), nil
}

func (e *Engine) remember(name, arn string) {
	e.mu.Lock()
	e.machines[name] = arn
	e.mu.Unlock()
}

// machineArn finds the ARN of the existing machine called name: from the
// cache, from the StateMachineAlreadyExists message, or by listing.
func (e *Engine) machineArn(ctx context.Context, name string, existsErr error) (string, error) {
	e.mu.Lock()
	arn, ok := e.machines[name]
	e.mu.Unlock()
	if ok {
		return arn, nil
	}
	if e.opts.MachineArnPrefix != "" {
		return e.opts.MachineArnPrefix + name, nil
	}
	if existsErr == nil {
		existsErr = errors.New("state machine " + name)
	}
	re := regexp.MustCompile(`(arn:[A-Za-z0-9-]+:states:[^:'"\s]*:[0-9]*:stateMachine:` + regexp.QuoteMeta(name) + `)(?:['"\s]|$)`)
	if m := re.FindStringSubmatch(existsErr.Error()); m != nil {
		e.remember(name, m[1])
		return m[1], nil
	}
	p := awssfn.NewListStateMachinesPaginator(e.client, &awssfn.ListStateMachinesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", translate(err, "find state machine "+name)
		}
		for _, sm := range page.StateMachines {
			if aws.ToString(sm.Name) == name {
				arn := aws.ToString(sm.StateMachineArn)
				e.remember(name, arn)
				return arn, nil
			}
		}
	}
	return "", &turbocat.Error{Code: turbocat.ECONFLICT, Message: fmt.Sprintf("state machine %s exists but cannot be found; try again", name), Err: existsErr}
}

// StartExecution implements turbocat.Engine. Starting the same name with
// the same input again, running or finished, returns the existing
// execution; with a different input it is ECONFLICT. ENOTFOUND when target
// does not exist.
func (e *Engine) StartExecution(ctx context.Context, target, name string, input []byte) (string, error) {
	in := string(input)
	if strings.TrimSpace(in) == "" {
		in = "{}"
	}
	out, err := e.client.StartExecution(ctx, &awssfn.StartExecutionInput{
		StateMachineArn: aws.String(target),
		Name:            aws.String(name),
		Input:           aws.String(in),
	})
	if err == nil {
		return aws.ToString(out.ExecutionArn), nil
	}
	if !isCode[*types.ExecutionAlreadyExists](err) {
		return "", translate(err, "start execution "+name)
	}
	arn, ok := ExecutionArn(target, name)
	if !ok {
		return "", &turbocat.Error{Code: turbocat.ECONFLICT, Message: fmt.Sprintf("execution %s already exists", name), Err: err}
	}
	ex, derr := e.client.DescribeExecution(ctx, &awssfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	if derr != nil {
		return "", translate(derr, "describe existing execution "+name)
	}
	if !jsonEqual([]byte(aws.ToString(ex.Input)), []byte(in)) {
		return "", &turbocat.Error{Code: turbocat.ECONFLICT,
			Message: fmt.Sprintf("execution %s already exists with a different input; start it under another name", name), Err: err}
	}
	e.log.DebugContext(ctx, "execution already exists with the same input", slog.String("execution_arn", arn))
	return arn, nil
}

// ExecutionArn derives the ARN of execution name started on target (a
// machine, version or alias ARN); ok is false when target is not a state
// machine ARN.
func ExecutionArn(target, name string) (string, bool) {
	parts := strings.Split(target, ":")
	if len(parts) < 7 || parts[0] != "arn" || parts[2] != "states" || parts[5] != "stateMachine" {
		return "", false
	}
	return strings.Join(parts[:5], ":") + ":execution:" + parts[6] + ":" + name, true
}

func jsonEqual(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// StopExecution implements turbocat.Engine: it aborts a running execution
// with an error name and cause. Stopping a finished execution leaves it as
// it was. ENOTFOUND for an unknown execution.
func (e *Engine) StopExecution(ctx context.Context, executionRef, errName, cause string) error {
	_, err := e.client.StopExecution(ctx, &awssfn.StopExecutionInput{
		ExecutionArn: aws.String(executionRef),
		Error:        optString(errName),
		Cause:        optString(cause),
	})
	if err != nil {
		return translate(err, "stop execution "+executionRef)
	}
	return nil
}

// DescribeExecution implements turbocat.Engine. ENOTFOUND for an unknown
// execution.
func (e *Engine) DescribeExecution(ctx context.Context, executionRef string) (*turbocat.EngineExecution, error) {
	out, err := e.client.DescribeExecution(ctx, &awssfn.DescribeExecutionInput{ExecutionArn: aws.String(executionRef)})
	if err != nil {
		return nil, translate(err, "describe execution "+executionRef)
	}
	x := &turbocat.EngineExecution{
		Ref:    aws.ToString(out.ExecutionArn),
		Name:   aws.ToString(out.Name),
		Status: string(out.Status),
		Error:  aws.ToString(out.Error),
		Cause:  aws.ToString(out.Cause),
	}
	if out.StartDate != nil {
		x.StartedAt = *out.StartDate
	}
	if out.StopDate != nil {
		t := *out.StopDate
		x.StoppedAt = &t
	}
	return x, nil
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

func isCode[T error](err error) bool {
	var target T
	return errors.As(err, &target)
}
