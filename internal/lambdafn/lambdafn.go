// Package lambdafn is the Lambda side of the composition root. Each
// functions/<name> main names its function and the components it wires —
// the AWS adapters it uses (Step Functions, Scheduler, the event bus, the
// KMS secrets key, Bedrock) and, for the functions that run agents, the
// executors — and gets its handler:
//
//	h, err := lambdafn.API(ctx, "workflows", lambdafn.JWT(), lambdafn.StepFunctions(), ...)
//
// A function links only the wiring its main names, so the others stay
// small and fast to start, and it can call only the AWS actions of those
// components. The components must equal the function's row of the
// permissions table (internal/awsperm), from which the CDK app builds the
// function's IAM role; a function whose main wires something else refuses
// to start, naming the difference.
package lambdafn

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/turbocat/turbocat/internal/app"
	"github.com/turbocat/turbocat/internal/awsperm"
	"github.com/turbocat/turbocat/internal/config"
	"github.com/turbocat/turbocat/internal/executor"
	"github.com/turbocat/turbocat/internal/tracing"
)

// Option is one piece of a function's wiring: an AWS component (its name
// in the permissions table and how it is connected) or the agent executors.
type Option struct {
	component awsperm.Component // "" for wiring that calls no AWS API
	wire      func(ctx context.Context, f *Function) error
}

// Function is a Lambda function being wired: its name (functions/<name>),
// its app, and the AWS configuration its components share.
type Function struct {
	Name string
	App  *app.App
	// Executor runs agents; set by RunsAgents.
	Executor executor.Executor
	// models is the AWS configuration of the bedrock provider; set by Models.
	models *aws.Config
	aws    *aws.Config
}

// AWS returns the function's AWS SDK configuration, loading it once (no
// network I/O: credentials come from the environment in Lambda), with
// X-Ray tracing of every call.
func (f *Function) AWS(ctx context.Context) (aws.Config, error) {
	if f.aws != nil {
		return *f.aws, nil
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("aws config: %w", err)
	}
	tracing.InstrumentAWS(&cfg.APIOptions)
	f.aws = &cfg
	return cfg, nil
}

// build loads the configuration, reads the function's secrets by ARN,
// wires the app and then each option, in order. It fails when the
// components of opts differ from the function's row of the permissions
// table.
func build(ctx context.Context, name string, opts []Option) (*Function, error) {
	if err := checkComponents(name, opts); err != nil {
		return nil, err
	}
	tracing.Enable()
	cfg, err := config.Load()
	if err != nil {
		return nil, err
	}
	needJWT := awsperm.Has(name, awsperm.JWTSecret)
	if err := resolveSecrets(ctx, cfg, needJWT); err != nil {
		return nil, err
	}
	if !awsperm.Has(name, awsperm.StepFunctions) {
		// This function starts no runs: no engine is connected, and the
		// run and deployment services answer EUNAVAILABLE if reached.
		cfg.Engine = "local"
	}
	if err := cfg.Validate(needJWT); err != nil {
		return nil, err
	}
	if !needJWT && len(cfg.JWTSecret) < 32 {
		cfg.JWTSecret = make([]byte, 32) // issues and checks no tokens
	}
	a, err := app.New(ctx, cfg, app.NewLogger(cfg, os.Stdout).With("function", name))
	if err != nil {
		return nil, err
	}
	a.Metrics.EMF = os.Stdout // CloudWatch Embedded Metric Format
	if stage := os.Getenv("TURBOCAT_STAGE"); stage != "" {
		a.Metrics.Namespace = "Turbocat/" + stage // stages sharing an account keep their metrics apart
	}
	f := &Function{Name: name, App: a}
	for _, o := range opts {
		if err := o.wire(ctx, f); err != nil {
			a.Close()
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return f, nil
}

// Build wires the function name with opts (see build), for entry points
// outside this package.
func Build(ctx context.Context, name string, opts ...Option) (*Function, error) {
	return build(ctx, name, opts)
}

// checkComponents compares the components a main wires with the
// permissions table.
func checkComponents(name string, opts []Option) error {
	want, err := awsperm.Components(name)
	if err != nil {
		return err
	}
	got := []awsperm.Component{awsperm.Database} // every function reads its database URL
	for _, o := range opts {
		if o.component != "" {
			got = append(got, o.component)
		}
	}
	slices.Sort(got)
	got = slices.Compact(got)
	if slices.Equal(got, want) {
		return nil
	}
	var extra, missing []string
	for _, c := range got {
		if !slices.Contains(want, c) {
			extra = append(extra, string(c))
		}
	}
	for _, c := range want {
		if !slices.Contains(got, c) {
			missing = append(missing, string(c))
		}
	}
	return fmt.Errorf("function %s: its main wires components the permissions table (internal/awsperm) does not grant it [%s] and lacks components the table grants [%s]; the IAM role is built from the table, keep both equal",
		name, strings.Join(extra, " "), strings.Join(missing, " "))
}

// NewOption is a component's wiring: the table's name for it and how it is
// connected. The components that call AWS live in their own packages
// (lambdafn/stepfunctions, ...), so a function imports — and initializes —
// only the AWS SDK clients it uses.
func NewOption(component awsperm.Component, wire func(ctx context.Context, f *Function) error) Option {
	return Option{component: component, wire: wire}
}

// RequireEnv returns the value of an environment variable a component
// needs, or an error naming it and the component.
func RequireEnv(component awsperm.Component, name string) (string, error) {
	return requireEnv(component, name)
}

// requireEnv returns the value of an environment variable a component needs.
func requireEnv(component awsperm.Component, name string) (string, error) {
	v := os.Getenv(name)
	if v == "" {
		return "", fmt.Errorf("%s: required by the %s component (the CDK app sets it)", name, component)
	}
	return v, nil
}
