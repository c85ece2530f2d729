package lambdafn

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"

	"github.com/turbocat/turbocat/internal/awsevents"
	"github.com/turbocat/turbocat/internal/awsperm"
	"github.com/turbocat/turbocat/internal/config"
	"github.com/turbocat/turbocat/internal/executor"
	"github.com/turbocat/turbocat/internal/secrets/kmscipher"
	"github.com/turbocat/turbocat/internal/sfn"
)

// JWT reads the access-token key by TURBOCAT_JWT_SECRET_ARN: the functions
// that verify tokens. (The key is read before the app is wired, in build.)
func JWT() Option {
	return Option{component: awsperm.JWTSecret, wire: func(context.Context, *Function) error { return nil }}
}

// SecretsKey encrypts and decrypts user secrets and webhook signing
// secrets with the KMS key TURBOCAT_SECRETS_KMS_KEY_ARN.
func SecretsKey() Option { return Option{component: awsperm.SecretsKey, wire: wireCipher} }

// SecretsReader is SecretsKey for functions that only decrypt (the
// steprunner resolves agent secrets, the deliverer signs with webhook
// secrets).
func SecretsReader() Option { return Option{component: awsperm.SecretsReader, wire: wireCipher} }

func wireCipher(ctx context.Context, f *Function) error {
	key := f.App.Config.SecretsKMSKey
	if key == "" {
		if f.App.Secrets.Cipher != nil {
			return nil // TURBOCAT_SECRETS_KEY: a local key (the emulator tests)
		}
		_, err := requireEnv(awsperm.SecretsKey, "TURBOCAT_SECRETS_KMS_KEY_ARN")
		return err
	}
	cfg, err := f.AWS(ctx)
	if err != nil {
		return err
	}
	f.App.Secrets.Cipher = &kmscipher.KMS{Client: kms.NewFromConfig(cfg), KeyID: key}
	return nil
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

// EventBus dispatches the event outbox to TURBOCAT_EVENT_BUS_NAME, where
// the deliverer picks the events up (the reconciler drains the outbox on
// its schedule; other functions only write to it).
func EventBus() Option {
	return Option{component: awsperm.EventBus, wire: func(ctx context.Context, f *Function) error {
		bus, err := requireEnv(awsperm.EventBus, "TURBOCAT_EVENT_BUS_NAME")
		if err != nil {
			return err
		}
		cfg, err := f.AWS(ctx)
		if err != nil {
			return err
		}
		f.App.Outbox.Publisher = &awsevents.Bus{Client: eventbridge.NewFromConfig(cfg), BusName: bus, Logger: f.App.Logger}
		return nil
	}}
}

// EngineRoutes declares that the function serves the HTTP API's routes
// that point aliases (deploy, rollback) and stop runs (cancel) on the
// engine StepFunctions connects; it connects nothing itself.
func EngineRoutes() Option {
	return Option{component: awsperm.EngineRoutes, wire: func(context.Context, *Function) error { return nil }}
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
func StepFunctions() Option {
	return Option{component: awsperm.StepFunctions, wire: func(ctx context.Context, f *Function) error {
		c := f.App.Config
		prefix, err := requireEnv(awsperm.StepFunctions, "TURBOCAT_STATE_MACHINE_PREFIX")
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
	}}
}

// Schedules keeps one EventBridge Scheduler schedule per scheduled
// deployment, in TURBOCAT_SCHEDULER_GROUP, invoking TURBOCAT_TRIGGER_ARN as
// TURBOCAT_SCHEDULER_ROLE_ARN, with TURBOCAT_SCHEDULER_DLQ_ARN.
func Schedules() Option {
	return Option{component: awsperm.Schedules, wire: func(ctx context.Context, f *Function) error {
		c := f.App.Config
		for _, v := range []struct{ name, val string }{
			{"TURBOCAT_SCHEDULER_GROUP", c.SchedulerGroup}, {"TURBOCAT_SCHEDULER_ROLE_ARN", c.SchedulerRole},
			{"TURBOCAT_TRIGGER_ARN", c.TriggerARN},
		} {
			if v.val == "" {
				return fmt.Errorf("%s: required by the %s component (the CDK app sets it)", v.name, awsperm.Schedules)
			}
		}
		cfg, err := f.AWS(ctx)
		if err != nil {
			return err
		}
		f.App.Deployments.Schedules = &awsevents.Schedules{Client: scheduler.NewFromConfig(cfg), Group: c.SchedulerGroup,
			RoleArn: c.SchedulerRole, TriggerArn: c.TriggerARN, DLQArn: c.SchedulerDLQ}
		return nil
	}}
}

// Models lets llm agents use Amazon Bedrock (provider bedrock) with the
// function's role.
func Models() Option {
	return Option{component: awsperm.Models, wire: func(ctx context.Context, f *Function) error {
		cfg, err := f.AWS(ctx)
		if err != nil {
			return err
		}
		f.models = &cfg
		return nil
	}}
}

// Executors builds a function's agent executors from its configuration
// and, when it wires Models, the AWS configuration of the bedrock provider
// (internal/app/executors.New).
type Executors func(cfg *config.Config, models *aws.Config) (*executor.Registry, func(), error)

// RunsAgents builds the agent executors with newExecutors, after the AWS
// components: the steprunner runs steps with them, the agents function
// test runs. Only the functions that pass it link the JavaScript engine and
// the model SDKs.
func RunsAgents(newExecutors Executors) Option {
	return Option{wire: func(_ context.Context, f *Function) error {
		reg, _, err := newExecutors(f.App.Config, f.models)
		if err != nil {
			return err
		}
		f.Executor = reg
		return nil
	}}
}
