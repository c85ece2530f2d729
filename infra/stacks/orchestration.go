package stacks

import (
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/turbocat/turbocat/infra/settings"
)

// OrchestrationStackProps configures NewOrchestrationStack.
type OrchestrationStackProps struct {
	awscdk.StackProps
	Config settings.Config
	// Functions lists the functions the stage deploys (see NewTurbocat);
	// the Scheduler role may invoke the trigger only when it is one of them.
	Functions []string
}

// OrchestrationStack holds what Step Functions, EventBridge and EventBridge
// Scheduler need, none of which refers to a function resource: invoke
// permissions are granted on the fixed function names.
type OrchestrationStack struct {
	awscdk.Stack
	// EventBus carries Turbocat's own events (delivered to webhooks).
	EventBus awsevents.EventBus
	// ExecutionRole is the role of every state machine: it may invoke the
	// steprunner's published versions and nothing else (plus tracing and
	// log delivery). Its name is generated (roles are global; a stage may
	// be deployed in several regions).
	ExecutionRole awsiam.Role
	// StateMachineLogGroup receives the state machines' execution logs.
	StateMachineLogGroup awslogs.LogGroup
	// ScheduleGroup holds the schedules of deployed workflows.
	ScheduleGroup awsscheduler.ScheduleGroup
	// SchedulerRole is the role of every schedule: it may invoke the trigger
	// (when the stage deploys it) and send to SchedulerDeadLetterQueue.
	SchedulerRole awsiam.Role
	// SchedulerDeadLetterQueue receives schedule invocations that failed.
	SchedulerDeadLetterQueue awssqs.Queue
	// StepRunnerARN and TriggerARN are the ARNs of the functions of those
	// names (created later by the functions stack); TriggerARN is empty when
	// the stage does not deploy the trigger.
	StepRunnerARN string
	TriggerARN    string
}

// NewOrchestrationStack creates the orchestration stack.
func NewOrchestrationStack(scope constructs.Construct, id string, props *OrchestrationStackProps) *OrchestrationStack {
	cfg := props.Config
	stack := awscdk.NewStack(scope, &id, &props.StackProps)
	s := &OrchestrationStack{
		Stack:         stack,
		StepRunnerARN: functionARN(stack, cfg.Name(StepRunner)),
	}
	if slices.Contains(props.Functions, TriggerFn) {
		s.TriggerARN = functionARN(stack, cfg.Name(TriggerFn))
	}
	account := stack.Account()

	s.EventBus = awsevents.NewEventBus(stack, jsii.String("Bus"), &awsevents.EventBusProps{
		EventBusName: jsii.String(cfg.Name("")),
	})

	s.StateMachineLogGroup = awslogs.NewLogGroup(stack, jsii.String("StateMachineLogs"), &awslogs.LogGroupProps{
		// The vendedlogs prefix keeps the log-group resource policy small
		// however many state machines log here.
		LogGroupName:  jsii.String("/aws/vendedlogs/states/" + cfg.Name("")),
		Retention:     retention(cfg),
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})

	sourceAccount := &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": account}}
	s.ExecutionRole = awsiam.NewRole(stack, jsii.String("StateMachineRole"), &awsiam.RoleProps{
		Description: jsii.String("Turbocat state machines: invoke the steprunner only"),
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("states.amazonaws.com"), &awsiam.ServicePrincipalOpts{Conditions: sourceAccount}),
	})
	// Compiled machines invoke a published version of the steprunner
	// (TURBOCAT_STEPRUNNER_ARN is version-qualified), so a run finishes on
	// the code it started with. The unqualified ARN stays allowed for the
	// runs started by machines published before versions were pinned.
	s.ExecutionRole.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("InvokeStepRunner"),
		Actions:   jsii.Strings("lambda:InvokeFunction"),
		Resources: jsii.Strings(s.StepRunnerARN, s.StepRunnerARN+":*"),
	}))
	s.ExecutionRole.AddToPolicy(xrayStatement())
	s.ExecutionRole.AddToPolicy(logDeliveryStatement())
	suppress(s.ExecutionRole, "AwsSolutions-IAM5",
		"X-Ray segment upload and CloudWatch Logs vended-log delivery APIs do not support resource-level permissions (Resource \"*\" is required by AWS); steprunner versions/aliases are covered by <arn>:*.",
		"Resource::*", nagARN(cfg.Name(StepRunner))+":*")

	s.SchedulerDeadLetterQueue = newDeadLetterQueue(stack, "SchedulerDeadLetterQueue", cfg.Name("scheduler-dlq"))
	s.ScheduleGroup = awsscheduler.NewScheduleGroup(stack, jsii.String("ScheduleGroup"), &awsscheduler.ScheduleGroupProps{
		ScheduleGroupName: jsii.String(cfg.Name("")),
		RemovalPolicy:     awscdk.RemovalPolicy_DESTROY,
	})
	description := "Turbocat schedules: no function to invoke in this stage; may write the dead-letter queue only"
	if s.TriggerARN != "" {
		description = "Turbocat schedules: invoke the trigger function only"
	}
	s.SchedulerRole = awsiam.NewRole(stack, jsii.String("SchedulerRole"), &awsiam.RoleProps{
		Description: jsii.String(description),
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("scheduler.amazonaws.com"), &awsiam.ServicePrincipalOpts{Conditions: sourceAccount}),
	})
	if s.TriggerARN != "" {
		s.SchedulerRole.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("InvokeTrigger"),
			Actions:   jsii.Strings("lambda:InvokeFunction"),
			Resources: jsii.Strings(s.TriggerARN, s.TriggerARN+":*"),
		}))
	}
	s.SchedulerDeadLetterQueue.GrantSendMessages(s.SchedulerRole)
	if s.TriggerARN != "" {
		suppress(s.SchedulerRole, "AwsSolutions-IAM5", "Covers the trigger function's versions and aliases (<arn>:*) only.", nagARN(cfg.Name(TriggerFn))+":*")
	}
	return s
}

// functionARN is the ARN of the Lambda function called name in the stack's
// account and region.
func functionARN(stack awscdk.Stack, name string) string {
	return *stack.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("lambda"),
		Resource:     jsii.String("function"),
		ResourceName: jsii.String(name),
		ArnFormat:    awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})
}

// nagARN is how cdk-nag prints the ARN of the function called name in
// findings, prefixed for appliesTo.
func nagARN(name string) string {
	return "Resource::arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:" + name
}

// stateMachineARN is the ARN pattern of the stage's state machines (with
// their versions and aliases) in the stack's account and region.
func stateMachineARN(stack awscdk.Stack, cfg settings.Config) string {
	return *stack.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("states"),
		Resource:     jsii.String("stateMachine"),
		ResourceName: jsii.String(cfg.StateMachinePrefix() + "*"),
		ArnFormat:    awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})
}

// executionARN is the ARN pattern of executions of the stage's state
// machines.
func executionARN(stack awscdk.Stack, cfg settings.Config) string {
	return *stack.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("states"),
		Resource:     jsii.String("execution"),
		ResourceName: jsii.String(cfg.StateMachinePrefix() + "*:*"),
		ArnFormat:    awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})
}

func xrayStatement() awsiam.PolicyStatement {
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("XRay"),
		Actions:   jsii.Strings("xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"),
		Resources: jsii.Strings("*"),
	})
}

// logDeliveryStatement allows configuring vended-log delivery of state
// machines; these APIs accept only Resource "*".
func logDeliveryStatement() awsiam.PolicyStatement {
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("StateMachineLogDelivery"),
		Actions: jsii.Strings(
			"logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
			"logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
			"logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
		),
		Resources: jsii.Strings("*"),
	})
}

// newDeadLetterQueue creates an encrypted, TLS-only queue that keeps
// messages 14 days.
func newDeadLetterQueue(scope constructs.Construct, id, name string) awssqs.Queue {
	q := awssqs.NewQueue(scope, jsii.String(id), &awssqs.QueueProps{
		QueueName:       jsii.String(name),
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	suppress(q, "AwsSolutions-SQS3", "This queue is itself a dead-letter queue; its depth is alarmed in the operations stack.")
	return q
}
