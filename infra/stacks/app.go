package stacks

import (
	"fmt"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/turbocat/turbocat/infra/routes"
	"github.com/turbocat/turbocat/infra/settings"
)

// TurbocatProps configures NewTurbocat.
type TurbocatProps struct {
	Config settings.Config
	// Root is the repository root; relative DistDir and OpenAPIPath of
	// Config are resolved against it.
	Root string
	// Env pins account and region; nil synthesizes environment-agnostic
	// stacks.
	Env *awscdk.Environment
	// Specs overrides function sizes (see DefaultFunctionSpecs).
	Specs map[string]FunctionSpec
}

// Turbocat is one stage of Turbocat: its six stacks.
type Turbocat struct {
	Data          *DataStack
	Orchestration *OrchestrationStack
	Api           *ApiStack
	Migrations    *MigrationsStack
	Functions     *FunctionsStack
	Operations    *OperationsStack
}

// Stacks lists the stacks in deployment order.
func (t *Turbocat) Stacks() []awscdk.Stack {
	return []awscdk.Stack{t.Data.Stack, t.Orchestration.Stack, t.Api.Stack, t.Migrations.Stack, t.Functions.Stack, t.Operations.Stack}
}

// NewTurbocat adds the stacks of props.Config.Stage to app. It reads the
// OpenAPI document and checks that every function binary exists before
// creating anything, and applies the cdk-nag AwsSolutions checks when
// Config.Nag is set.
func NewTurbocat(app awscdk.App, props TurbocatProps) (*Turbocat, error) {
	cfg := props.Config
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("turbocat app: %w", err)
	}
	resolve := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(props.Root, p)
	}
	distDir := resolve(cfg.DistDir)
	rs, err := routes.Load(resolve(cfg.OpenAPIPath))
	if err != nil {
		return nil, fmt.Errorf("turbocat app: %w", err)
	}
	if err := CheckDist(distDir); err != nil {
		return nil, fmt.Errorf("turbocat app: %w", err)
	}

	sp := func(what string) awscdk.StackProps {
		return awscdk.StackProps{
			Env:         props.Env,
			StackName:   jsii.String(cfg.Name(what)),
			Description: jsii.String("Turbocat " + cfg.Stage + ": " + what),
		}
	}
	t := &Turbocat{}
	t.Data = NewDataStack(app, cfg.Name("data"), &DataStackProps{StackProps: sp("data"), Config: cfg})
	t.Orchestration = NewOrchestrationStack(app, cfg.Name("orchestration"), &OrchestrationStackProps{StackProps: sp("orchestration"), Config: cfg})
	t.Api = NewApiStack(app, cfg.Name("api"), &ApiStackProps{StackProps: sp("api"), Config: cfg})
	t.Migrations, err = NewMigrationsStack(app, cfg.Name("migrations"), &MigrationsStackProps{
		StackProps: sp("migrations"), Config: cfg, Data: t.Data, Orchestration: t.Orchestration, Api: t.Api,
		DistDir: distDir, Spec: props.Specs[Migrate],
	})
	if err != nil {
		return nil, fmt.Errorf("turbocat app: %w", err)
	}
	t.Functions, err = NewFunctionsStack(app, cfg.Name("functions"), &FunctionsStackProps{
		StackProps: sp("functions"), Config: cfg, Data: t.Data, Orchestration: t.Orchestration, Api: t.Api,
		Migrations: t.Migrations, Routes: rs, DistDir: distDir, Specs: withoutMigrate(props.Specs),
	})
	if err != nil {
		return nil, fmt.Errorf("turbocat app: %w", err)
	}
	t.Operations = NewOperationsStack(app, cfg.Name("operations"), &OperationsStackProps{
		StackProps: sp("operations"), Config: cfg, Orchestration: t.Orchestration, Api: t.Api,
		Migrations: t.Migrations, Functions: t.Functions,
	})

	for _, s := range t.Stacks() {
		awscdk.Tags_Of(s).Add(jsii.String("project"), jsii.String("turbocat"), nil)
		awscdk.Tags_Of(s).Add(jsii.String("turbocat:stage"), jsii.String(cfg.Stage), nil)
	}
	if cfg.Nag {
		awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	}
	return t, nil
}

func withoutMigrate(specs map[string]FunctionSpec) map[string]FunctionSpec {
	out := map[string]FunctionSpec{}
	for k, v := range specs {
		if k != Migrate {
			out[k] = v
		}
	}
	return out
}
