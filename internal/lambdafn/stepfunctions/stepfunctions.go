// Package stepfunctions is the step-functions and engine-routes components
// of the Lambda wiring: runs and deployments on AWS Step Functions.
package stepfunctions

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/turbocat/turbocat/internal/awsperm"
	"github.com/turbocat/turbocat/internal/lambdafn"
	"github.com/turbocat/turbocat/internal/sfn"
)

// EngineRoutes declares that the function serves the HTTP API's routes
// that point aliases (deploy, rollback) and stop runs (cancel) on the
// engine StepFunctions connects; it connects nothing itself.
func EngineRoutes() lambdafn.Option {
	return lambdafn.NewOption(awsperm.EngineRoutes, func(context.Context, *lambdafn.Function) error { return nil })
}

// DefaultKeepVersions is how many of a state machine's most recent versions
// survive pruning (besides those an alias routes to) unless
// TURBOCAT_SFN_KEEP_VERSIONS says otherwise.
const DefaultKeepVersions = 10

// StepFunctions connects runs and deployments to AWS Step Functions:
// machines named TURBOCAT_STATE_MACHINE_PREFIX + workflow id, run as
// TURBOCAT_SFN_ROLE_ARN, logging to TURBOCAT_SFN_LOG_GROUP_ARN, whose Task
// states invoke TURBOCAT_STEPRUNNER_ARN (the qualified ARN of the step
// runner's alias, so a run finishes on the code it started with).
func StepFunctions() lambdafn.Option { return connect(awsperm.StepFunctions) }

// ChildWorkflows is StepFunctions as the steprunner wires it: it
// publishes the workflows that workflow steps run as children (and is
// granted no more than that: the state machine starts the children).
func ChildWorkflows() lambdafn.Option { return connect(awsperm.ChildWorkflows) }

func connect(component awsperm.Component) lambdafn.Option {
	return lambdafn.NewOption(component, func(ctx context.Context, f *lambdafn.Function) error {
		c := f.App.Config
		prefix, err := lambdafn.RequireEnv(component, "TURBOCAT_STATE_MACHINE_PREFIX")
		if err != nil {
			return err
		}
		keep := DefaultKeepVersions
		if v := os.Getenv("TURBOCAT_SFN_KEEP_VERSIONS"); v != "" {
			if keep, err = strconv.Atoi(v); err != nil || keep < 1 {
				return fmt.Errorf("TURBOCAT_SFN_KEEP_VERSIONS: %q must be a positive number of versions", v)
			}
		}
		cfg, err := f.AWS(ctx)
		if err != nil {
			return err
		}
		stepRunner := ownVersion(c.StepRunnerARN, os.Getenv("AWS_LAMBDA_FUNCTION_NAME"), os.Getenv("AWS_LAMBDA_FUNCTION_VERSION"))
		opts := sfn.Options{RoleArn: c.SFNRoleARN, Tracing: true, Logger: f.App.Logger, KeepVersions: keep,
			MachineArnPrefix: machineArnPrefix(stepRunner)}
		if c.SFNLogGroupARN != "" {
			opts.Logging = &sfn.Logging{LogGroupArn: c.SFNLogGroupARN, Level: "ERROR"}
		}
		f.App.Executions.StateMachinePrefix = prefix
		f.App.ConnectEngine(sfn.New(cfg, opts), stepRunner)
		return nil
	})
}

// machineArnPrefix is "arn:<partition>:states:<region>:<account>:stateMachine:"
// of the step runner's account and region, or "" for an ARN it cannot read.
func machineArnPrefix(stepRunnerARN string) string {
	p := strings.Split(stepRunnerARN, ":")
	if len(p) < 6 || p[0] != "arn" || p[3] == "" || p[4] == "" {
		return ""
	}
	return "arn:" + p[1] + ":states:" + p[3] + ":" + p[4] + ":stateMachine:"
}

// ownVersion qualifies the step runner's ARN with the version this
// function runs as when the ARN is this function's own, unqualified: the
// steprunner cannot be told its own published version (that would make
// its configuration depend on itself), so the machines it publishes for
// child workflows invoke the version it is running.
func ownVersion(stepRunnerARN, functionName, version string) string {
	if functionName == "" || version == "" || version == "$LATEST" {
		return stepRunnerARN
	}
	if strings.HasSuffix(stepRunnerARN, ":function:"+functionName) {
		return stepRunnerARN + ":" + version
	}
	return stepRunnerARN
}
