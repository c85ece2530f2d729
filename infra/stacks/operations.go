package stacks

import (
	"sort"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/turbocat/turbocat/infra/settings"
)

// OperationsStackProps configures NewOperationsStack.
type OperationsStackProps struct {
	awscdk.StackProps
	Config        settings.Config
	Orchestration *OrchestrationStack
	Api           *ApiStack
	Migrations    *MigrationsStack
	Functions     *FunctionsStack
}

// OperationsStack holds the alarm topic, the alarms and the dashboard.
type OperationsStack struct {
	awscdk.Stack
	Topic     awssns.Topic
	Alarms    []awscloudwatch.Alarm
	Dashboard awscloudwatch.Dashboard
}

// StepRunnerInfrastructureErrors is the metric the step runner writes (in
// Embedded Metric Format) for every invocation that failed for a reason
// other than the step's own error (lambdafn.InfrastructureErrorsMetric).
const StepRunnerInfrastructureErrors = "turbocat_steprunner_infrastructure_errors_total"

// MetricsNamespace is the CloudWatch namespace of the stage's own metrics.
func MetricsNamespace(cfg settings.Config) string { return "Turbocat/" + cfg.Stage }

// NewOperationsStack creates the operations stack.
func NewOperationsStack(scope constructs.Construct, id string, props *OperationsStackProps) *OperationsStack {
	cfg := props.Config
	stack := awscdk.NewStack(scope, &id, &props.StackProps)
	s := &OperationsStack{Stack: stack}

	// CloudWatch cannot publish to a topic encrypted with the AWS-managed
	// SNS key, so the topic has its own key that CloudWatch may use.
	key := awskms.NewKey(stack, jsii.String("AlarmTopicKey"), &awskms.KeyProps{
		Description:       jsii.String("Turbocat " + cfg.Stage + ": alarm topic"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_DESTROY,
	})
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarms"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources:  jsii.Strings("*"),
	}), nil)
	s.Topic = awssns.NewTopic(stack, jsii.String("Alarms"), &awssns.TopicProps{
		TopicName:   jsii.String(cfg.Name("alarms")),
		DisplayName: jsii.String("Turbocat " + cfg.Stage + " alarms"),
		MasterKey:   key,
		EnforceSSL:  jsii.Bool(true),
	})
	if cfg.AlarmEmail != "" {
		s.Topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(cfg.AlarmEmail), nil))
	}
	action := awscloudwatchactions.NewSnsAction(s.Topic)
	five := awscdk.Duration_Minutes(jsii.Number(5))

	add := func(id, description string, metric awscloudwatch.IMetric, threshold float64, periods int) awscloudwatch.Alarm {
		a := awscloudwatch.NewAlarm(stack, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmName:          jsii.String(cfg.Name(id)),
			AlarmDescription:   jsii.String(description),
			Metric:             metric,
			Threshold:          jsii.Number(threshold),
			EvaluationPeriods:  jsii.Number(float64(periods)),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(action)
		a.AddOkAction(action)
		s.Alarms = append(s.Alarms, a)
		return a
	}

	// API 5xx rate in percent of requests.
	api := props.Api.HttpApi
	stageDims := &map[string]*string{"ApiId": api.ApiId(), "Stage": jsii.String("$default")}
	serverErrors := awscloudwatch.NewMetric(&awscloudwatch.MetricProps{Namespace: jsii.String("AWS/ApiGateway"), MetricName: jsii.String("5xx"), DimensionsMap: stageDims, Statistic: jsii.String("Sum"), Period: five})
	requests := awscloudwatch.NewMetric(&awscloudwatch.MetricProps{Namespace: jsii.String("AWS/ApiGateway"), MetricName: jsii.String("Count"), DimensionsMap: stageDims, Statistic: jsii.String("Sum"), Period: five})
	latency := awscloudwatch.NewMetric(&awscloudwatch.MetricProps{Namespace: jsii.String("AWS/ApiGateway"), MetricName: jsii.String("Latency"), DimensionsMap: stageDims, Statistic: jsii.String("p99"), Period: five})
	errorRate := awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression:   jsii.String("IF(requests > 0, 100 * errors / requests, 0)"),
		UsingMetrics: &map[string]awscloudwatch.IMetric{"errors": serverErrors, "requests": requests},
		Label:        jsii.String("API 5xx %"),
		Period:       five,
	})
	add("Api5xxRate", "More than 5% of API requests answered 5xx for 10 minutes", errorRate, 5, 2)

	// Lambda errors and throttles, per function.
	fns := map[string]awslambda.Function{Migrate: props.Migrations.Function}
	for n, f := range props.Functions.Functions {
		fns[n] = f
	}
	names := make([]string, 0, len(fns))
	for n := range fns {
		names = append(names, n)
	}
	sort.Strings(names)
	var errorMetrics, throttleMetrics, durationMetrics []awscloudwatch.IMetric
	for _, n := range names {
		fn := fns[n]
		errs := fn.MetricErrors(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum"), Label: jsii.String(n)})
		thr := fn.MetricThrottles(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum"), Label: jsii.String(n)})
		if n == StepRunner {
			// A failing step is a Lambda error too (its error name is what
			// Retry and Catch match): alarm on the step runner's own
			// count of infrastructure errors instead.
			infra := awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
				Namespace: jsii.String(MetricsNamespace(cfg)), MetricName: jsii.String(StepRunnerInfrastructureErrors),
				Statistic: jsii.String("Sum"), Period: five, Label: jsii.String("steprunner infrastructure errors"),
			})
			add(construct(n)+"Errors", "Function "+cfg.Name(n)+" failed 5 or more times in 5 minutes for a reason other than a step's own error (database, timeout, bug)", infra, 5, 1)
		} else {
			add(construct(n)+"Errors", "Function "+cfg.Name(n)+" failed 5 or more invocations in 5 minutes", errs, 5, 1)
		}
		add(construct(n)+"Throttles", "Function "+cfg.Name(n)+" was throttled", thr, 1, 1)
		errorMetrics = append(errorMetrics, errs)
		throttleMetrics = append(throttleMetrics, thr)
		durationMetrics = append(durationMetrics, fn.MetricDuration(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("p99"), Label: jsii.String(n)}))
	}

	// Failed and timed-out executions: every one matches the reconciler's
	// rule, so the rule's MatchedEvents counts them across all Turbocat
	// state machines, whatever their (run-time) names.
	failed := awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:     jsii.String("AWS/Events"),
		MetricName:    jsii.String("MatchedEvents"),
		DimensionsMap: &map[string]*string{"RuleName": props.Functions.FailedExecutionsRule.RuleName()},
		Statistic:     jsii.String("Sum"),
		Period:        five,
		Label:         jsii.String("failed or timed-out executions"),
	})
	add("ExecutionsFailed", "Workflow executions failed or timed out in 5 minutes", failed, float64(cfg.ExecutionFailureThreshold), 1)

	// Dead-letter queue depth.
	queues := map[string]awssqs.Queue{"scheduler": props.Orchestration.SchedulerDeadLetterQueue}
	for n, q := range props.Functions.DeadLetterQueues {
		queues[n] = q
	}
	qnames := make([]string, 0, len(queues))
	for n := range queues {
		qnames = append(qnames, n)
	}
	sort.Strings(qnames)
	var dlqMetrics []awscloudwatch.IMetric
	for _, n := range qnames {
		m := queues[n].MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum"), Label: jsii.String(n)})
		add(construct(n)+"DeadLetters", "Dead-letter queue "+cfg.Name(n+"-dlq")+" holds messages: asynchronous invocations were lost", m, 1, 1)
		dlqMetrics = append(dlqMetrics, m)
	}

	graph := func(title string, left []awscloudwatch.IMetric) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String(title), Left: &left, Width: jsii.Number(12)})
	}
	s.Dashboard = awscloudwatch.NewDashboard(stack, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		// Dashboards are global: the region keeps a stage deployed in two
		// regions from sharing one.
		DashboardName: jsii.String(cfg.Name("") + "-" + *stack.Region()),
		Widgets: &[]*[]awscloudwatch.IWidget{
			{graph("API requests and 5xx", []awscloudwatch.IMetric{requests, serverErrors}), graph("API 5xx % and p99 latency (ms)", []awscloudwatch.IMetric{errorRate, latency})},
			{graph("Lambda errors", errorMetrics), graph("Lambda throttles", throttleMetrics)},
			{graph("Lambda p99 duration (ms)", durationMetrics), graph("Failed executions and dead letters", append([]awscloudwatch.IMetric{failed}, dlqMetrics...))},
		},
	})
	awscdk.NewCfnOutput(stack, jsii.String("AlarmTopicArn"), &awscdk.CfnOutputProps{Value: s.Topic.TopicArn()})
	return s
}
