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
func StepFunctions() lambdafn.Option {
	return lambdafn.NewOption(awsperm.StepFunctions, func(ctx context.Context, f *lambdafn.Function) error {
		c := f.App.Config
		prefix, err := lambdafn.RequireEnv(awsperm.StepFunctions, "TURBOCAT_STATE_MACHINE_PREFIX")
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
		opts := sfn.Options{RoleArn: c.SFNRoleARN, Tracing: true, Logger: f.App.Logger, KeepVersions: keep,
			MachineArnPrefix: machineArnPrefix(c.StepRunnerARN)}
		if c.SFNLogGroupARN != "" {
			opts.Logging = &sfn.Logging{LogGroupArn: c.SFNLogGroupARN, Level: "ERROR"}
		}
		f.App.Executions.StateMachinePrefix = prefix
		f.App.ConnectEngine(sfn.New(cfg, opts), c.StepRunnerARN)
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
