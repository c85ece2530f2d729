package stacks

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/turbocat/turbocat/infra/routes"
	"github.com/turbocat/turbocat/infra/settings"
	"github.com/turbocat/turbocat/internal/awsperm"
)

// FunctionsStackProps configures NewFunctionsStack.
type FunctionsStackProps struct {
	awscdk.StackProps
	Config        settings.Config
	Data          *DataStack
	Orchestration *OrchestrationStack
	Api           *ApiStack
	// Migrations, when set, is deployed before this stack.
	Migrations *MigrationsStack
	// Routes are the documented API routes (routes.Load of the OpenAPI
	// document); each becomes exactly one HTTP API route.
	Routes []routes.Route
	// DistDir holds <name>/bootstrap for every function of Functions.
	DistDir string
	// Functions lists the functions the stage deploys (names of
	// DefaultFunctionSpecs; migrate, if listed, belongs to the migrations
	// stack). Rules, grants and routes of functions not listed are left out;
	// a route served by one of them is an error wrapping ErrFunctionAbsent.
	Functions []string
	// Specs overrides DefaultFunctionSpecs per function name.
	Specs map[string]FunctionSpec
}

// FunctionsStack holds every deployed function except migrate, the API
// routes, and the EventBridge rules that invoke the reconciler and (when
// deployed) the deliverer.
type FunctionsStack struct {
	awscdk.Stack
	// Functions by name (auth, agents, ..., steprunner, reconciler, ...).
	Functions map[string]awslambda.Function
	// LogGroups by function name.
	LogGroups map[string]awslogs.LogGroup
	// DeadLetterQueues by function name, for asynchronously invoked ones.
	DeadLetterQueues map[string]awssqs.Queue
	// Routes by route key ("GET /api/v1/agents").
	Routes map[string]awsapigatewayv2.HttpRoute
	// FailedExecutionsRule matches FAILED and TIMED_OUT executions of
	// Turbocat state machines; AbortedExecutionsRule matches ABORTED ones.
	FailedExecutionsRule  awsevents.Rule
	AbortedExecutionsRule awsevents.Rule
	// SweepRule invokes the reconciler every minute (its sweep and the
	// event outbox's dispatch).
	SweepRule awsevents.Rule
	// DeliveryRule sends every event of the Turbocat bus to the deliverer;
	// nil when the stage does not deploy the deliverer.
	DeliveryRule awsevents.Rule
	// StepRunnerVersion is the steprunner version this deploy published,
	// StepRunnerAlias its alias named after the stage.
	StepRunnerVersion awslambda.IVersion
	StepRunnerAlias   awslambda.Alias
	// Republish makes workflow versions publish again after the deploy;
	// nil without a migrations stack.
	Republish awscdk.CustomResource
}

// NewFunctionsStack creates the functions stack.
func NewFunctionsStack(scope constructs.Construct, id string, props *FunctionsStackProps) (*FunctionsStack, error) {
	cfg := props.Config
	if len(props.Routes) == 0 {
		return nil, fmt.Errorf("functions stack: no API routes")
	}
	specs := DefaultFunctionSpecs()
	for name, spec := range props.Specs {
		if _, ok := specs[name]; !ok {
			return nil, fmt.Errorf("functions stack: spec for unknown function %q", name)
		}
		specs[name] = spec
	}
	deployed, err := functionSet(props.Functions)
	if err != nil {
		return nil, fmt.Errorf("functions stack: %w", err)
	}
	if err := checkRoutes(props.Routes, deployed); err != nil {
		return nil, fmt.Errorf("functions stack: %w", err)
	}

	stack := awscdk.NewStack(scope, &id, &props.StackProps)
	if props.Migrations != nil {
		stack.AddStackDependency(props.Migrations.Stack, jsii.String("new code runs on the migrated schema"))
	}
	s := &FunctionsStack{
		Stack:            stack,
		Functions:        map[string]awslambda.Function{},
		LogGroups:        map[string]awslogs.LogGroup{},
		DeadLetterQueues: map[string]awssqs.Queue{},
		Routes:           map[string]awsapigatewayv2.HttpRoute{},
	}
	env := functionEnv{cfg: cfg, data: props.Data, orchestration: props.Orchestration, publicURL: props.Api.URL}
	for _, name := range FunctionNames() {
		if name == Migrate || !deployed[name] {
			continue
		}
		fn := newGoFunction(stack, name, specs[name], props.DistDir, env)
		s.Functions[name] = fn.Function
		s.LogGroups[name] = fn.LogGroup
		if fn.DeadLetterQueue != nil {
			s.DeadLetterQueues[name] = fn.DeadLetterQueue
		}
	}
	s.pinStepRunner(cfg, props.Migrations)
	if err := s.addRoutes(props.Api, props.Routes); err != nil {
		return nil, err
	}
	s.addRules(cfg, props.Orchestration)
	return s, nil
}

// pinStepRunner publishes a version of the steprunner on every deploy
// that changes it, with an alias named after the stage, and gives the
// functions that compile workflows its version-qualified ARN
// (TURBOCAT_STEPRUNNER_ARN): machines published from then on invoke that
// version, and a run finishes on the code it started with. After every
// function is updated, a custom resource (served by the migrate function)
// makes each workflow version publish again on its next run, with the new
// version; runs already going keep the machine version they started on.
func (s *FunctionsStack) pinStepRunner(cfg settings.Config, migrations *MigrationsStack) {
	fn := s.Functions[StepRunner]
	s.StepRunnerVersion = fn.CurrentVersion()
	s.StepRunnerAlias = awslambda.NewAlias(s.Stack, jsii.String("StepRunnerAlias"), &awslambda.AliasProps{
		AliasName:   jsii.String(cfg.Stage),
		Version:     s.StepRunnerVersion,
		Description: jsii.String("The steprunner version the stage's newly published state machines invoke"),
	})
	for name, f := range s.Functions {
		arn := s.StepRunnerVersion.FunctionArn()
		if name == StepRunner {
			// The steprunner (which publishes the workflows that workflow
			// steps run as children) cannot name its own version: it is
			// told its unqualified ARN and adds the version it runs as
			// (AWS_LAMBDA_FUNCTION_VERSION), so children finish on its code.
			arn = jsii.String(functionARN(s.Stack, cfg.Name(StepRunner)))
		}
		if awsperm.Has(name, awsperm.StepFunctions) || awsperm.Has(name, awsperm.ChildWorkflows) || awsperm.Has(name, awsperm.AgentTests) {
			f.AddEnvironment(jsii.String("TURBOCAT_STEPRUNNER_ARN"), arn, nil)
		}
	}
	if migrations == nil {
		return
	}
	s.Republish = awscdk.NewCustomResource(s.Stack, jsii.String("RepublishWorkflows"), &awscdk.CustomResourceProps{
		ServiceToken: migrations.ServiceToken,
		ResourceType: jsii.String(RepublishResourceType),
		Properties: &map[string]any{
			"Action":            "republish",
			"StepRunnerVersion": s.StepRunnerVersion.Version(),
		},
	})
	for _, f := range s.Functions {
		s.Republish.Node().AddDependency(f)
	}
}

// RepublishResourceType is the CloudFormation type of the custom resource
// that makes workflow versions publish again after a deploy.
const RepublishResourceType = "Custom::TurbocatRepublish"

// addRoutes attaches one HTTP API route per documented route, each to the
// function its path maps to.
func (s *FunctionsStack) addRoutes(api *ApiStack, rs []routes.Route) error {
	integrations := map[string]awsapigatewayv2integrations.HttpLambdaIntegration{}
	ids := map[string]string{}
	for _, r := range rs {
		if _, dup := s.Routes[r.Key()]; dup {
			return fmt.Errorf("functions stack: route %s documented twice", r.Key())
		}
		id := "Route" + construct(r.Method+" "+r.Path)
		if prev, clash := ids[id]; clash {
			return fmt.Errorf("functions stack: routes %s and %s map to the same construct id %s", prev, r.Key(), id)
		}
		ids[id] = r.Key()
		integ, ok := integrations[r.Function]
		if !ok {
			integ = awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String(construct(r.Function)+"Integration"), s.Functions[r.Function], &awsapigatewayv2integrations.HttpLambdaIntegrationProps{
				PayloadFormatVersion: awsapigatewayv2.PayloadFormatVersion_VERSION_2_0(),
			})
			integrations[r.Function] = integ
		}
		route := awsapigatewayv2.NewHttpRoute(s.Stack, jsii.String(id), &awsapigatewayv2.HttpRouteProps{
			HttpApi:     api.HttpApi,
			RouteKey:    awsapigatewayv2.HttpRouteKey_With(jsii.String(r.Path), awsapigatewayv2.HttpMethod(r.Method)),
			Integration: integ,
		})
		suppress(route, "AwsSolutions-APIG4", "Authorization is enforced by the function behind the route: JWT or API key for /api/v1 and /mcp (auth middleware), HMAC signature for /hooks, and /health, /ready, /api/v1/auth/{login,register,refresh} are public by design.")
		s.Routes[r.Key()] = route
	}
	return nil
}

// addRules wires Step Functions status changes to the reconciler and, when
// the stage deploys the deliverer, the Turbocat bus to it.
func (s *FunctionsStack) addRules(cfg settings.Config, o *OrchestrationStack) {
	prefix := *s.Stack.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("states"),
		Resource:     jsii.String("stateMachine"),
		ResourceName: jsii.String(cfg.StateMachinePrefix()),
		ArnFormat:    awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})
	reconcile := func(id string, statuses ...string) awsevents.Rule {
		return awsevents.NewRule(s.Stack, jsii.String(id), &awsevents.RuleProps{
			Description: jsii.String("Turbocat executions Step Functions ended on its own (" + fmt.Sprint(statuses) + ") → reconciler"),
			EventPattern: &awsevents.EventPattern{
				Source:     jsii.Strings("aws.states"),
				DetailType: jsii.Strings("Step Functions Execution Status Change"),
				Detail: &map[string]any{
					"status":          statuses,
					"stateMachineArn": []any{map[string]any{"prefix": prefix}},
				},
			},
			Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(s.Functions[Reconciler], &awseventstargets.LambdaFunctionProps{
				DeadLetterQueue: s.DeadLetterQueues[Reconciler],
				RetryAttempts:   jsii.Number(8),
				MaxEventAge:     awscdk.Duration_Hours(jsii.Number(24)),
			})},
		})
	}
	s.FailedExecutionsRule = reconcile("FailedExecutionsRule", "FAILED", "TIMED_OUT")
	s.AbortedExecutionsRule = reconcile("AbortedExecutionsRule", "ABORTED")
	// Every minute the reconciler sweeps unfinished runs (starting those
	// recorded but never started, failing those the engine lost) and
	// dispatches the event outbox to the bus.
	s.SweepRule = awsevents.NewRule(s.Stack, jsii.String("ReconcilerSweepRule"), &awsevents.RuleProps{
		RuleName:    jsii.String(cfg.Name("reconciler-sweep")),
		Description: jsii.String("Turbocat: the reconciler's sweep of unfinished runs and dispatch of the event outbox"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(1))),
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(s.Functions[Reconciler], &awseventstargets.LambdaFunctionProps{
			DeadLetterQueue: s.DeadLetterQueues[Reconciler],
			RetryAttempts:   jsii.Number(2),
			MaxEventAge:     awscdk.Duration_Minutes(jsii.Number(5)),
		})},
	})
	if _, ok := s.Functions[Deliverer]; !ok {
		return
	}
	s.DeliveryRule = awsevents.NewRule(s.Stack, jsii.String("DeliveryRule"), &awsevents.RuleProps{
		Description: jsii.String("Turbocat events → outbound webhooks"),
		EventBus:    o.EventBus,
		EventPattern: &awsevents.EventPattern{
			Source: &[]*string{jsii.String("turbocat")},
		},
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(s.Functions[Deliverer], &awseventstargets.LambdaFunctionProps{
			DeadLetterQueue: s.DeadLetterQueues[Deliverer],
			RetryAttempts:   jsii.Number(8),
			MaxEventAge:     awscdk.Duration_Hours(jsii.Number(24)),
		})},
	})
}
