package stacks

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/turbocat/turbocat/infra/routes"
	"github.com/turbocat/turbocat/infra/settings"
	"github.com/turbocat/turbocat/internal/awsperm"
)

// Names of the functions that serve no API route.
const (
	StepRunner = "steprunner"
	TriggerFn  = routes.Trigger
	Reconciler = "reconciler"
	Deliverer  = "deliverer"
	Migrate    = "migrate"
)

// FunctionSpec sizes one Lambda function.
type FunctionSpec struct {
	// MemoryMB is the function memory (and so its CPU share).
	MemoryMB int
	// Timeout is the function timeout. API functions stay under API
	// Gateway's 30 s integration limit.
	Timeout time.Duration
	// Async marks functions invoked asynchronously (EventBridge, Scheduler):
	// they get a dead-letter queue and bounded retries.
	Async bool
	// Description is shown in the Lambda console.
	Description string
	// CodeWorker marks functions that run code agents: their package holds
	// dist/<name>/codeworker beside the bootstrap.
	CodeWorker bool
}

// DefaultFunctionSpecs returns the size of every function of Turbocat, keyed
// by its name under functions/ and dist/.
func DefaultFunctionSpecs() map[string]FunctionSpec {
	api := func(mem int, timeout time.Duration, what string) FunctionSpec {
		return FunctionSpec{MemoryMB: mem, Timeout: timeout, Description: "Turbocat API: " + what}
	}
	return map[string]FunctionSpec{
		// Password hashing is CPU-bound: more memory buys CPU.
		routes.Auth:      api(1024, 10*time.Second, "auth, users, audit logs, health"),
		routes.Agents:    api(512, APIGatewayTimeout, "agents (test runs of up to 25 s, run by the steprunner)"),
		routes.Templates: api(512, 10*time.Second, "templates"),
		// Each function's timeout covers the longest request it serves,
		// within API Gateway's 30 s: ?wait=N (N <= 25) holds execute, a
		// logs ?follow=true stream ends 2 s before the function's deadline,
		// agent test runs stop at 25 s (lambdafn.MaxAgentTestSeconds).
		routes.Workflows:   api(512, APIGatewayTimeout, "workflows (execute ?wait=N holds the request; deploys)"),
		routes.Executions:  api(512, APIGatewayTimeout, "executions (logs ?follow=true holds the request)"),
		routes.Deployments: api(512, 29*time.Second, "deployments and webhooks"),
		routes.APIKeys:     api(512, 10*time.Second, "API keys and secrets"),
		TriggerFn:          {MemoryMB: 512, Timeout: 29 * time.Second, Async: true, Description: "Turbocat: inbound webhooks and schedules start executions"},
		// A step runs in one invocation: step timeouts are at most 900 s
		// (service.MaxStepTimeoutSeconds), the longest a Lambda runs.
		StepRunner: {MemoryMB: 1024, Timeout: 15 * time.Minute, CodeWorker: true, Description: "Turbocat: runs one workflow step (Step Functions task)"},
		Reconciler: {MemoryMB: 256, Timeout: time.Minute, Async: true, Description: "Turbocat: marks executions Step Functions ended (failed, timed out, aborted)"},
		Deliverer:  {MemoryMB: 256, Timeout: time.Minute, Async: true, Description: "Turbocat: delivers events to outbound webhooks"},
		Migrate:    {MemoryMB: 512, Timeout: 5 * time.Minute, Description: "Turbocat: applies database migrations on deploy"},
	}
}

// APIGatewayTimeout is the longest an HTTP API integration may take.
const APIGatewayTimeout = 30 * time.Second

// FunctionNames lists every function Turbocat knows (the keys of
// DefaultFunctionSpecs), sorted. Which of them a stage deploys is the
// Functions prop of NewTurbocat (see PresentFunctions).
func FunctionNames() []string {
	specs := DefaultFunctionSpecs()
	names := make([]string, 0, len(specs))
	for n := range specs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// RequiredFunctions lists the functions every stage needs, whatever else
// it deploys: migrate (the migrations custom resource), steprunner (the only
// function state machines invoke) and reconciler (the target of the
// execution-status rules the failed-executions alarm counts).
func RequiredFunctions() []string {
	return []string{Migrate, Reconciler, StepRunner}
}

// ErrFunctionAbsent is returned (wrapped) when something needs a known
// function the stage does not deploy, such as a documented route served by
// it or a required function.
var ErrFunctionAbsent = errors.New("function not deployed")

// ErrUnknownFunction is returned (wrapped) for a function name, or a
// directory under functions/, that DefaultFunctionSpecs does not know.
var ErrUnknownFunction = errors.New("unknown function")

// PresentFunctions returns the functions the repository at root has, sorted:
// those whose functions/<name>/main.go exists. A directory under functions/
// that DefaultFunctionSpecs does not know is an error naming it (add its
// spec first); a known directory without main.go is absent. Files directly
// under functions/ are ignored.
func PresentFunctions(root string) ([]string, error) {
	dir := filepath.Join(root, "functions")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list functions: %w", err)
	}
	known := DefaultFunctionSpecs()
	var present, unknown []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		name := e.Name()
		if _, ok := known[name]; !ok {
			unknown = append(unknown, filepath.Join("functions", name))
			continue
		}
		p := filepath.Join(dir, name, "main.go")
		st, err := os.Stat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return nil, fmt.Errorf("list functions: %w", err)
		case !st.Mode().IsRegular():
			return nil, fmt.Errorf("list functions: %s is not a file", p)
		}
		present = append(present, name)
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("list functions: %w: %v (add it to DefaultFunctionSpecs in infra/stacks/function.go)", ErrUnknownFunction, unknown)
	}
	sort.Strings(present)
	return present, nil
}

// functionSet validates the functions a stage deploys: every name is known,
// none is repeated, and every required function is there.
func functionSet(names []string) (map[string]bool, error) {
	known := DefaultFunctionSpecs()
	set := map[string]bool{}
	for _, n := range names {
		if _, ok := known[n]; !ok {
			return nil, fmt.Errorf("functions to deploy: %w %q", ErrUnknownFunction, n)
		}
		if set[n] {
			return nil, fmt.Errorf("functions to deploy: %q listed twice", n)
		}
		set[n] = true
	}
	var missing []string
	for _, n := range RequiredFunctions() {
		if !set[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("functions to deploy: %w: %v are required (functions/<name>/main.go)", ErrFunctionAbsent, missing)
	}
	return set, nil
}

// checkRoutes verifies that every route is served by a deployed function.
func checkRoutes(rs []routes.Route, deployed map[string]bool) error {
	known := DefaultFunctionSpecs()
	for _, r := range rs {
		if _, ok := known[r.Function]; !ok || r.Function == Migrate {
			return fmt.Errorf("route %s: %w %q", r.Key(), ErrUnknownFunction, r.Function)
		}
		if !deployed[r.Function] {
			return fmt.Errorf("route %s is served by function %q: %w (functions/%s/main.go is absent; remove the route from the OpenAPI document or add the function)",
				r.Key(), r.Function, ErrFunctionAbsent, r.Function)
		}
	}
	return nil
}

// CheckDist verifies that dir holds <name>/bootstrap for each of functions
// (and <name>/codeworker for those that run code agents) and names the
// missing ones. When dir/ARCH (written by make build) names another
// architecture than arch, it says which build to run.
func CheckDist(dir string, functions []string, arch string) error {
	var missing []string
	specs := DefaultFunctionSpecs()
	for _, n := range functions {
		files := []string{"bootstrap"}
		if specs[n].CodeWorker {
			files = append(files, "codeworker")
		}
		for _, f := range files {
			p := filepath.Join(dir, n, f)
			st, err := os.Stat(p)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				missing = append(missing, p)
			case err != nil:
				return fmt.Errorf("check function code %s: %w", p, err)
			case st.IsDir():
				return fmt.Errorf("check function code %s: is a directory", p)
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("function code missing (run make build first): %v", missing)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "ARCH")); err == nil {
		if built := strings.TrimSpace(string(b)); built != arch {
			return fmt.Errorf("%s holds %s binaries but the app deploys %s functions: run make build ARCH=%s (or synth with -c architecture=%s)", dir, built, arch, arch, built)
		}
	}
	return nil
}

// functionEnv is what every function's environment is built from. Values
// are names and ARNs only; secrets are read at run time.
type functionEnv struct {
	cfg           settings.Config
	data          *DataStack
	orchestration *OrchestrationStack
	publicURL     string
}

// variables is the environment of function name: what every function
// gets, and the variables of each component it wires (awsperm), so a
// function is told of nothing it may not use. TURBOCAT_STEPRUNNER_ARN, the
// version of the steprunner the functions stack publishes, is added there.
func (e functionEnv) variables(name string) map[string]*string {
	o := e.orchestration
	vars := map[string]*string{
		"TURBOCAT_STAGE":      jsii.String(e.cfg.Stage),
		"DATABASE_SECRET_ARN": e.data.DatabaseSecret.SecretArn(),
		"TURBOCAT_PUBLIC_URL": jsii.String(e.publicURL),
	}
	if len(e.cfg.AllowedOrigins) > 0 {
		vars["TURBOCAT_ALLOWED_ORIGINS"] = jsii.String(strings.Join(e.cfg.AllowedOrigins, ","))
	}
	comps, _ := awsperm.Components(name)
	for _, c := range comps {
		switch c {
		case awsperm.JWTSecret:
			vars["TURBOCAT_JWT_SECRET_ARN"] = e.data.JWTSecret.SecretArn()
		case awsperm.SecretsKey, awsperm.SecretsReader:
			vars["TURBOCAT_SECRETS_KMS_KEY_ARN"] = e.data.SecretsKey.KeyArn()
		case awsperm.EventBus:
			vars["TURBOCAT_EVENT_BUS_NAME"] = o.EventBus.EventBusName()
		case awsperm.StepFunctions:
			vars["TURBOCAT_ENGINE"] = jsii.String("sfn")
			vars["TURBOCAT_SFN_ROLE_ARN"] = o.ExecutionRole.RoleArn()
			vars["TURBOCAT_SFN_LOG_GROUP_ARN"] = o.StateMachineLogGroup.LogGroupArn()
			vars["TURBOCAT_STATE_MACHINE_PREFIX"] = jsii.String(e.cfg.StateMachinePrefix())
		case awsperm.Schedules:
			vars["TURBOCAT_SCHEDULER_GROUP"] = o.ScheduleGroup.ScheduleGroupName()
			vars["TURBOCAT_SCHEDULER_ROLE_ARN"] = o.SchedulerRole.RoleArn()
			vars["TURBOCAT_SCHEDULER_DLQ_ARN"] = o.SchedulerDeadLetterQueue.QueueArn()
			// The trigger's ARN is given only when the stage deploys it.
			if o.TriggerARN != "" {
				vars["TURBOCAT_TRIGGER_ARN"] = jsii.String(o.TriggerARN)
			}
		}
	}
	return vars
}

// goFunction is a Lambda function built from dist/<name>/bootstrap with its
// role, log group and optional dead-letter queue.
type goFunction struct {
	Function        awslambda.Function
	Role            awsiam.Role
	LogGroup        awslogs.LogGroup
	DeadLetterQueue awssqs.Queue // nil unless the spec is Async
}

// newGoFunction creates the function name (a key of DefaultFunctionSpecs)
// in scope. Its role can write its own log group and traces, and, in aurora
// mode, attach to the VPC; callers add everything else.
func newGoFunction(scope constructs.Construct, name string, spec FunctionSpec, distDir string, env functionEnv) goFunction {
	cfg := env.cfg
	id := construct(name)
	logGroup := awslogs.NewLogGroup(scope, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String("/aws/lambda/" + cfg.Name(name)),
		Retention:     retention(cfg),
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	role := awsiam.NewRole(scope, jsii.String(id+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("Turbocat " + cfg.Stage + " " + name + " function"),
	})
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("OwnLogGroup"),
		Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
		Resources: jsii.Strings(*logGroup.LogGroupArn()),
	}))

	props := &awslambda.FunctionProps{
		FunctionName:  jsii.String(cfg.Name(name)),
		Description:   jsii.String(spec.Description),
		Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:  architecture(cfg),
		Handler:       jsii.String("bootstrap"),
		Code:          awslambda.Code_FromAsset(jsii.String(filepath.Join(distDir, name)), nil),
		MemorySize:    jsii.Number(float64(spec.MemoryMB)),
		Timeout:       awscdk.Duration_Seconds(jsii.Number(spec.Timeout.Seconds())),
		Role:          role,
		LogGroup:      logGroup,
		LoggingFormat: awslambda.LoggingFormat_JSON,
		Tracing:       awslambda.Tracing_ACTIVE,
		Environment:   ptrMap(env.variables(name)),
	}
	var dlq awssqs.Queue
	if spec.Async {
		dlq = newDeadLetterQueue(scope, id+"DeadLetterQueue", cfg.Name(name+"-dlq"))
		props.DeadLetterQueue = dlq
		props.RetryAttempts = jsii.Number(2)
		props.MaxEventAge = awscdk.Duration_Hours(jsii.Number(6))
	}
	if env.data.Vpc != nil {
		props.Vpc = env.data.Vpc
		props.VpcSubnets = &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS}
		props.SecurityGroups = &[]awsec2.ISecurityGroup{env.data.FunctionSecurityGroup}
		role.AddManagedPolicy(awsiam.ManagedPolicy_FromAwsManagedPolicyName(jsii.String("service-role/AWSLambdaVPCAccessExecutionRole")))
		suppress(role, "AwsSolutions-IAM4", "AWSLambdaVPCAccessExecutionRole is the AWS-maintained minimum for Lambda to manage its ENIs in the VPC (ec2:*NetworkInterface* accept no resource scoping).",
			"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole")
	}
	fn := awslambda.NewFunction(scope, jsii.String(id), props)
	grantComponents(role, name, env)
	return goFunction{Function: fn, Role: role, LogGroup: logGroup, DeadLetterQueue: dlq}
}

// architecture is the Lambda architecture of cfg.Architecture.
func architecture(cfg settings.Config) awslambda.Architecture {
	if cfg.Architecture == settings.ArchAMD64 {
		return awslambda.Architecture_X86_64()
	}
	return awslambda.Architecture_ARM_64()
}

func ptrMap(m map[string]*string) *map[string]*string { return &m }

// construct turns a name like "api-keys" or "GET /a/{id}" into a construct
// id made of letters and digits, capitalised at word starts.
func construct(name string) string {
	out := make([]rune, 0, len(name))
	upper := true
	for _, r := range name {
		isAlnum := (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
		if !isAlnum {
			upper = true
			continue
		}
		if upper && r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		upper = false
		out = append(out, r)
	}
	return string(out)
}
