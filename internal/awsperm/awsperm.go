// Package awsperm is the one table of which AWS actions Turbocat's code
// performs: each component (the AWS-facing wiring a Lambda function may
// link: the Step Functions engine, the Scheduler schedules, the event bus,
// the secrets key, ...) with the actions it calls and what on, and the
// components each function wires.
//
// Three things follow it and are checked against it: the Lambda wiring
// (internal/lambdafn refuses to start a function whose wired components
// differ from its row here), the IAM role of every function (the CDK app
// builds each role from its components' grants, and nothing else), and the
// code itself (infra's permission test derives, from the call graph of
// each functions/<name> main, the AWS API operations it can reach, and
// fails when the role lacks one or holds one the code never calls).
//
// It is pure data, standard library only, so that the CDK app imports it.
package awsperm

import (
	"fmt"
	"slices"
	"sort"
)

// Component is a unit of AWS-facing wiring.
type Component string

// Components.
const (
	// Database reads the database URL from Secrets Manager
	// (DATABASE_SECRET_ARN). Every function wires it.
	Database Component = "database"
	// JWTSecret reads the access-token key from Secrets Manager
	// (TURBOCAT_JWT_SECRET_ARN): the functions that verify tokens.
	JWTSecret Component = "jwt-secret"
	// SecretsKey encrypts and decrypts user secrets and signing secrets
	// with the KMS key (TURBOCAT_SECRETS_KMS_KEY_ARN).
	SecretsKey Component = "secrets-key"
	// SecretsReader is SecretsKey for functions that only decrypt.
	SecretsReader Component = "secrets-reader"
	// EventBus dispatches the event outbox to the bus
	// (TURBOCAT_EVENT_BUS_NAME).
	EventBus Component = "event-bus"
	// StepFunctions is the workflow engine on AWS: it publishes compiled
	// workflows as state-machine versions and aliases, prunes old versions
	// and deletes machines, and starts, describes and stops executions
	// (TURBOCAT_SFN_*, TURBOCAT_STEPRUNNER_ARN, TURBOCAT_STATE_MACHINE_PREFIX).
	StepFunctions Component = "step-functions"
	// EngineRoutes is what the HTTP API's routes ask of Step Functions
	// beyond publishing and running: pointing an environment's alias at a
	// version (deploy, rollback), stopping a run (cancel) and answering an
	// approval's task token (approve, reject). The functions
	// that serve the API and wire StepFunctions wire it too.
	EngineRoutes Component = "engine-routes"
	// Schedules keeps EventBridge Scheduler schedules in step with
	// deployments (TURBOCAT_SCHEDULER_*, TURBOCAT_TRIGGER_ARN).
	Schedules Component = "schedules"
	// Models calls Amazon Bedrock models for llm agents (provider bedrock).
	Models Component = "models"
	// AgentTests runs agent test runs in the steprunner, invoking its
	// published version (TURBOCAT_STEPRUNNER_ARN).
	AgentTests Component = "agent-tests"
	// ChildWorkflows is the engine as the steprunner wires it: it publishes
	// the workflow version a workflow step runs as a child (the state
	// machine starts the child itself), with StepFunctions' configuration,
	// and starts and describes the runs of workflows llm agents call as
	// tools (the steprunner waits for them). It may answer task tokens, since
	// the approval code is linked into it (the executions service) and the
	// call-graph check counts what is linked (a token is needed, and only
	// the API hands them out).
	ChildWorkflows Component = "child-workflows"
)

// Resource names, symbolically, what a grant applies to; the CDK app
// turns each into the stage's ARN or ARN pattern.
type Resource string

// Resources.
const (
	ResDatabaseSecret Resource = "database-secret"
	ResJWTSecret      Resource = "jwt-secret"
	ResSecretsKey     Resource = "secrets-key"
	ResEventBus       Resource = "event-bus"
	// ResStateMachines: the stage's state machines, with their versions and
	// aliases (turbocat-<stage>-*).
	ResStateMachines Resource = "state-machines"
	// ResExecutions: executions of the stage's state machines.
	ResExecutions Resource = "executions"
	// ResStateMachineRole is the role the stage's state machines run as.
	ResStateMachineRole Resource = "state-machine-role"
	// ResSchedules: schedules in the stage's schedule group.
	ResSchedules Resource = "schedules"
	// ResSchedulerRole is the role the stage's schedules run as.
	ResSchedulerRole Resource = "scheduler-role"
	// ResModels: Bedrock foundation models and inference profiles.
	ResModels Resource = "models"
	// ResStepRunnerVersions: the stage's steprunner function, qualified.
	ResStepRunnerVersions Resource = "steprunner-versions"
	// ResAny is "*", for the actions AWS authorizes on no resource
	// (listing, vended-log delivery).
	ResAny Resource = "*"
)

// Grant allows Actions on Resource. PassedToService, for iam:PassRole,
// is the service the role may be passed to.
type Grant struct {
	Actions         []string
	Resource        Resource
	PassedToService string
}

// publishing is what publishing compiled workflows takes: creating and
// updating machines and versions, pruning old versions (their aliases are
// read), deleting machines.
var publishing = []Grant{
	{Actions: []string{
		"states:CreateStateMachine", "states:DeleteStateMachine", "states:DeleteStateMachineVersion",
		"states:DescribeStateMachineAlias", "states:ListStateMachineAliases", "states:ListStateMachineVersions",
		"states:PublishStateMachineVersion", "states:UpdateStateMachine",
	}, Resource: ResStateMachines},
	// Finding a machine whose name is taken (a fallback of publishing)
	// lists machines; listing takes no resource.
	{Actions: []string{"states:ListStateMachines"}, Resource: ResAny},
	// Creating and updating a machine passes its role...
	{Actions: []string{"iam:PassRole"}, Resource: ResStateMachineRole, PassedToService: "states.amazonaws.com"},
	// ...and sets up its CloudWatch Logs delivery (these accept only "*").
	{Actions: []string{
		"logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:DescribeLogGroups", "logs:DescribeResourcePolicies",
		"logs:GetLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:UpdateLogDelivery",
	}, Resource: ResAny},
}

// taskTokens answers an approval's task token (approve, reject); the
// task-token actions take no resource.
var taskTokens = []Grant{{Actions: []string{"states:SendTaskFailure", "states:SendTaskSuccess"}, Resource: ResAny}}

// components: what each component calls. Keep the actions exactly those
// its code reaches; infra's permission test holds this table to the call
// graph of every function.
var components = map[Component][]Grant{
	Database:      {{Actions: []string{"secretsmanager:GetSecretValue"}, Resource: ResDatabaseSecret}},
	JWTSecret:     {{Actions: []string{"secretsmanager:GetSecretValue"}, Resource: ResJWTSecret}},
	SecretsKey:    {{Actions: []string{"kms:Decrypt", "kms:Encrypt"}, Resource: ResSecretsKey}},
	SecretsReader: {{Actions: []string{"kms:Decrypt"}, Resource: ResSecretsKey}},
	EventBus:      {{Actions: []string{"events:PutEvents"}, Resource: ResEventBus}},
	StepFunctions: slices.Concat(publishing, []Grant{
		{Actions: []string{"states:StartExecution"}, Resource: ResStateMachines},
		{Actions: []string{"states:DescribeExecution"}, Resource: ResExecutions},
	}),
	EngineRoutes: slices.Concat([]Grant{
		{Actions: []string{"states:CreateStateMachineAlias", "states:UpdateStateMachineAlias"}, Resource: ResStateMachines},
		{Actions: []string{"states:StopExecution"}, Resource: ResExecutions},
	}, taskTokens),
	ChildWorkflows: slices.Concat(publishing, taskTokens, []Grant{
		{Actions: []string{"states:StartExecution"}, Resource: ResStateMachines},
		{Actions: []string{"states:DescribeExecution"}, Resource: ResExecutions},
	}),
	Schedules: {
		{Actions: []string{"scheduler:CreateSchedule", "scheduler:DeleteSchedule", "scheduler:UpdateSchedule"}, Resource: ResSchedules},
		{Actions: []string{"iam:PassRole"}, Resource: ResSchedulerRole, PassedToService: "scheduler.amazonaws.com"},
	},
	Models:     {{Actions: []string{"bedrock:InvokeModel"}, Resource: ResModels}},
	AgentTests: {{Actions: []string{"lambda:InvokeFunction"}, Resource: ResStepRunnerVersions}},
}

// functions: the components each function (functions/<name>) wires.
var functions = map[string][]Component{
	"auth":        {Database, JWTSecret},
	"apikeys":     {Database, JWTSecret, SecretsKey},
	"agents":      {Database, JWTSecret, AgentTests},
	"templates":   {Database, JWTSecret},
	"workflows":   {Database, JWTSecret, SecretsKey, StepFunctions, EngineRoutes, Schedules},
	"executions":  {Database, JWTSecret, StepFunctions, EngineRoutes},
	"deployments": {Database, JWTSecret, SecretsKey, StepFunctions, EngineRoutes, Schedules},
	"trigger":     {Database, SecretsKey, StepFunctions, EngineRoutes},
	// The steprunner publishes the workflows that workflow steps run as
	// children, runs the workflows llm agents use as tools, and signs
	// approval links with a key derived from the token key.
	"steprunner": {Database, JWTSecret, SecretsReader, Models, ChildWorkflows},
	// Events are written to the outbox with each change; the reconciler's
	// scheduled sweep dispatches them to the bus, and starts and describes
	// the runs it reconciles.
	"reconciler": {Database, EventBus, StepFunctions},
	"deliverer":  {Database, SecretsReader},
	"migrate":    {Database},
}

// Functions lists the functions of the table, sorted.
func Functions() []string {
	out := make([]string, 0, len(functions))
	for f := range functions {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// Components returns the components function wires, sorted; an error for
// a function the table does not know.
func Components(function string) ([]Component, error) {
	cs, ok := functions[function]
	if !ok {
		return nil, fmt.Errorf("awsperm: function %q is not in the permissions table (internal/awsperm)", function)
	}
	out := slices.Clone(cs)
	slices.Sort(out)
	return out, nil
}

// Has reports whether function wires c.
func Has(function string, c Component) bool { return slices.Contains(functions[function], c) }

// Grants returns what c may do.
func Grants(c Component) []Grant {
	gs := components[c]
	out := make([]Grant, len(gs))
	for i, g := range gs {
		out[i] = Grant{Actions: slices.Clone(g.Actions), Resource: g.Resource, PassedToService: g.PassedToService}
	}
	return out
}

// FunctionGrants returns the grants of every component function wires, in
// component order.
func FunctionGrants(function string) ([]Grant, error) {
	cs, err := Components(function)
	if err != nil {
		return nil, err
	}
	var out []Grant
	for _, c := range cs {
		out = append(out, Grants(c)...)
	}
	return out, nil
}

// Actions returns the sorted, distinct actions function may perform.
func Actions(function string) ([]string, error) {
	gs, err := FunctionGrants(function)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, g := range gs {
		out = append(out, g.Actions...)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
