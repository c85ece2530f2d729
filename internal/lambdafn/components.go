package lambdafn

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/turbocat/turbocat/internal/awsperm"
	"github.com/turbocat/turbocat/internal/config"
	"github.com/turbocat/turbocat/internal/executor"
)

// JWT reads the access-token key by TURBOCAT_JWT_SECRET_ARN: the functions
// that verify tokens. (The key is read before the app is wired, in build.)
func JWT() Option {
	return Option{component: awsperm.JWTSecret, wire: func(context.Context, *Function) error { return nil }}
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
