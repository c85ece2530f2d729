package stacks

import (
	"fmt"
	"path/filepath"
	"sort"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
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
	// Functions lists the functions the stage deploys: names of
	// DefaultFunctionSpecs, which must include RequiredFunctions. The app
	// passes PresentFunctions(Root), so a stage deploys exactly the
	// functions the repository has. Everything that exists only for a
	// function not listed (its rules, dead-letter queue, grants, alarms,
	// dashboard lines, the Scheduler's permission on the trigger,
	// TURBOCAT_TRIGGER_ARN) is left out, and a documented route served by
	// one fails synth naming it.
	Functions []string
	// Specs overrides function sizes (see DefaultFunctionSpecs).
	Specs map[string]FunctionSpec
	// ConsoleDir is the built web console (DefaultConsoleDir; relative
	// paths are resolved against Root). When it has no index.html (the
	// console is not built, or ConsoleDir is empty) the console stack is
	// left out and synth says so in an info line.
	ConsoleDir string
}

// Turbocat is one stage of Turbocat: its six stacks, and a seventh for the
// console when it is built.
type Turbocat struct {
	Data          *DataStack
	Orchestration *OrchestrationStack
	Api           *ApiStack
	Migrations    *MigrationsStack
	Functions     *FunctionsStack
	Operations    *OperationsStack
	// Console is nil when the console is not built.
	Console *ConsoleStack
}

// Stacks lists the stacks in deployment order.
func (t *Turbocat) Stacks() []awscdk.Stack {
	out := []awscdk.Stack{t.Data.Stack, t.Orchestration.Stack, t.Api.Stack, t.Migrations.Stack, t.Functions.Stack, t.Operations.Stack}
	if t.Console != nil {
		out = append(out, t.Console.Stack)
	}
	return out
}

// NewTurbocat adds the stacks of props.Config.Stage to app. Before creating
// anything it validates props.Functions, reads the OpenAPI document, checks
// that every route is served by a listed function and that every listed
// function's binary exists; it applies the cdk-nag AwsSolutions checks when
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
	deployed, err := functionSet(props.Functions)
	if err != nil {
		return nil, fmt.Errorf("turbocat app: %w", err)
	}
	functions := sortedSet(deployed)
	distDir := resolve(cfg.DistDir)
	rs, err := routes.Load(resolve(cfg.OpenAPIPath))
	if err != nil {
		return nil, fmt.Errorf("turbocat app: %w", err)
	}
	if err := checkRoutes(rs, deployed); err != nil {
		return nil, fmt.Errorf("turbocat app: %s: %w", cfg.OpenAPIPath, err)
	}
	if err := CheckDist(distDir, functions, cfg.Architecture); err != nil {
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
	t.Orchestration = NewOrchestrationStack(app, cfg.Name("orchestration"), &OrchestrationStackProps{StackProps: sp("orchestration"), Config: cfg, Functions: functions})
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
		Migrations: t.Migrations, Routes: rs, DistDir: distDir, Functions: functions, Specs: withoutMigrate(props.Specs),
	})
	if err != nil {
		return nil, fmt.Errorf("turbocat app: %w", err)
	}
	t.Operations = NewOperationsStack(app, cfg.Name("operations"), &OperationsStackProps{
		StackProps: sp("operations"), Config: cfg, Orchestration: t.Orchestration, Api: t.Api,
		Migrations: t.Migrations, Functions: t.Functions,
	})
	consoleDir := ""
	if props.ConsoleDir != "" {
		consoleDir = resolve(props.ConsoleDir)
	}
	if cfg.Console && ConsoleBuilt(consoleDir) {
		// The console calls the API on its own origin: the functions must
		// be deployed (routes exist) before it is served.
		t.Console = NewConsoleStack(app, cfg.Name("console"), &ConsoleStackProps{StackProps: sp("console"), Config: cfg, Api: t.Api, Dir: consoleDir})
		t.Console.AddStackDependency(t.Functions.Stack, jsii.String("the console calls the API's routes"))
	} else {
		where := "no console directory given"
		switch {
		case !cfg.Console:
			where = "context console=false"
		case consoleDir != "":
			where = "no " + filepath.Join(props.ConsoleDir, "index.html") + " (run make web)"
		}
		t.Api.Node().AddMetadata(jsii.String("aws:cdk:info"),
			"Console not deployed, "+where+": the "+cfg.Name("console")+" stack (S3 + CloudFront) is left out",
			&constructs.MetadataOptions{StackTrace: jsii.Bool(false)})
	}

	for _, s := range t.Stacks() {
		awscdk.Tags_Of(s).Add(jsii.String("project"), jsii.String("turbocat"), nil)
		awscdk.Tags_Of(s).Add(jsii.String("turbocat:stage"), jsii.String(cfg.Stage), nil)
	}
	if absent := absentFunctions(deployed); len(absent) > 0 {
		// An info annotation (shown by cdk synth, diff and deploy), without
		// the stack trace Annotations would record: it points into the jsii
		// runtime, not at anything to fix.
		t.Functions.Node().AddMetadata(jsii.String("aws:cdk:info"),
			fmt.Sprintf("Not deployed, no functions/<name>/main.go in the repository: %v (with their rules, queues, grants and alarms)", absent),
			&constructs.MetadataOptions{StackTrace: jsii.Bool(false)})
	}
	if cfg.Nag {
		awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	}
	return t, nil
}

// sortedSet returns the members of set, sorted.
func sortedSet(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// absentFunctions lists the known functions not in deployed, sorted.
func absentFunctions(deployed map[string]bool) []string {
	var out []string
	for _, n := range FunctionNames() {
		if !deployed[n] {
			out = append(out, n)
		}
	}
	return out
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
