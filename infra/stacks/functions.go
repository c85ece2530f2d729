package stacks

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/turbocat/turbocat/infra/routes"
	"github.com/turbocat/turbocat/infra/settings"
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
	// DeliveryRule sends every event of the Turbocat bus to the deliverer;
	// nil when the stage does not deploy the deliverer.
	DeliveryRule awsevents.Rule
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
	s.grant(cfg, props.Data, props.Orchestration)
	if err := s.addRoutes(props.Api, props.Routes); err != nil {
		return nil, err
	}
	s.addRules(props.Orchestration)
	return s, nil
}

// grant gives each function the permissions its code needs and no more.
// Grants naming a function the stage does not deploy are left out.
func (s *FunctionsStack) grant(cfg settings.Config, data *DataStack, o *OrchestrationStack) {
	fns := s.Functions
	each := func(names []string, f func(awslambda.Function)) {
		for _, n := range names {
			if fn, ok := fns[n]; ok {
				f(fn)
			}
		}
	}
	apiFunctions := []string{routes.Auth, routes.Agents, routes.Templates, routes.Workflows, routes.Executions, routes.Deployments, routes.APIKeys}

	// Every API function verifies access tokens.
	each(apiFunctions, func(fn awslambda.Function) { data.JWTSecret.GrantRead(fn, nil) })
	// User secrets are envelope-encrypted with the secrets key.
	each([]string{routes.APIKeys, routes.Deployments, routes.Workflows, StepRunner, TriggerFn, Deliverer},
		func(fn awslambda.Function) { data.SecretsKey.GrantEncryptDecrypt(fn) })
	// Events for webhooks go to the Turbocat bus.
	each([]string{routes.Workflows, routes.Executions, routes.Deployments, StepRunner, Reconciler, TriggerFn},
		func(fn awslambda.Function) { o.EventBus.GrantPutEventsTo(fn, nil) })

	machines := stateMachineARN(s.Stack)
	executions := executionARN(s.Stack)
	// Compile and deploy state machines named turbocat-*, passing only the
	// state-machine execution role.
	each([]string{routes.Deployments, routes.Workflows}, func(fn awslambda.Function) {
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String("ManageTurbocatStateMachines"),
			Actions: jsii.Strings(
				"states:CreateStateMachine", "states:UpdateStateMachine", "states:DeleteStateMachine",
				"states:DescribeStateMachine", "states:PublishStateMachineVersion",
				"states:ListStateMachineVersions", "states:DeleteStateMachineVersion",
				"states:CreateStateMachineAlias", "states:UpdateStateMachineAlias",
				"states:DeleteStateMachineAlias", "states:DescribeStateMachineAlias",
				"states:ListStateMachineAliases", "states:TagResource", "states:ValidateStateMachineDefinition",
			),
			Resources: jsii.Strings(machines),
		}))
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("PassStateMachineRole"),
			Actions:    jsii.Strings("iam:PassRole"),
			Resources:  jsii.Strings(*o.ExecutionRole.RoleArn()),
			Conditions: &map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "states.amazonaws.com"}},
		}))
		fn.AddToRolePolicy(logDeliveryStatement())
	})
	// Start executions.
	each([]string{routes.Workflows, routes.Executions, routes.Deployments, TriggerFn}, func(fn awslambda.Function) {
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("StartTurbocatExecutions"),
			Actions:   jsii.Strings("states:StartExecution", "states:StartSyncExecution"),
			Resources: jsii.Strings(machines),
		}))
	})
	// Follow and stop executions.
	each([]string{routes.Workflows, routes.Executions, Reconciler}, func(fn awslambda.Function) {
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("ReadTurbocatExecutions"),
			Actions:   jsii.Strings("states:DescribeExecution", "states:StopExecution", "states:GetExecutionHistory"),
			Resources: jsii.Strings(executions),
		}))
	})
	// Schedules of deployed workflows, in the stage's group only.
	schedules := *s.Stack.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("scheduler"),
		Resource:     jsii.String("schedule"),
		ResourceName: jsii.String(cfg.Name("") + "/*"),
	})
	each([]string{routes.Deployments}, func(fn awslambda.Function) {
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("ManageTurbocatSchedules"),
			Actions:   jsii.Strings("scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule", "scheduler:GetSchedule"),
			Resources: jsii.Strings(schedules),
		}))
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("PassSchedulerRole"),
			Actions:    jsii.Strings("iam:PassRole"),
			Resources:  jsii.Strings(*o.SchedulerRole.RoleArn()),
			Conditions: &map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "scheduler.amazonaws.com"}},
		}))
	})

	for name, fn := range fns {
		suppress(fn.Role(), "AwsSolutions-IAM5",
			"Wildcards are scoped to Turbocat names: state machines turbocat-* (with their versions, aliases and executions), schedules of the stage's group, and KMS data-key generation (kms:GenerateDataKey*, kms:ReEncrypt*) on the one secrets key. X-Ray and vended-log delivery accept only Resource \"*\". Function: "+name,
			"Resource::*",
			"Action::kms:GenerateDataKey*", "Action::kms:ReEncrypt*",
			"Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:stateMachine:turbocat-*",
			"Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:turbocat-*:*",
			"Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/"+cfg.Name("")+"/*",
		)
	}
}

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
		suppress(route, "AwsSolutions-APIG4", "Authorization is enforced by the function behind the route: JWT or API key for /api/v1 (auth middleware), HMAC signature for /hooks, and /health, /ready, /api/v1/auth/{login,register,refresh} are public by design.")
		s.Routes[r.Key()] = route
	}
	return nil
}

// addRules wires Step Functions status changes to the reconciler and, when
// the stage deploys the deliverer, the Turbocat bus to it.
func (s *FunctionsStack) addRules(o *OrchestrationStack) {
	prefix := *s.Stack.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("states"),
		Resource:     jsii.String("stateMachine"),
		ResourceName: jsii.String(StateMachinePrefix),
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
