package stacks

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"

	"github.com/turbocat/turbocat/infra/settings"
	"github.com/turbocat/turbocat/internal/awsperm"
)

// grantComponents gives role exactly the grants of the components function
// name wires (internal/awsperm), one statement per grant, each on the
// stage's own resources. Nothing else is granted here: the role's own log
// group and X-Ray upload come with the function (newGoFunction).
func grantComponents(role awsiam.Role, name string, env functionEnv) {
	grants, err := awsperm.FunctionGrants(name)
	if err != nil {
		panic(fmt.Sprintf("grant %s: %v", name, err)) // FunctionNames and the table are tested to agree
	}
	stack := awscdk.Stack_Of(role)
	var wild []string
	for i, g := range grants {
		resources := resourceARNs(stack, env, g.Resource)
		props := &awsiam.PolicyStatementProps{
			Sid:       jsii.String(fmt.Sprintf("%s%d", construct(string(g.Resource)), i)),
			Actions:   jsii.Strings(g.Actions...),
			Resources: jsii.Strings(resources...),
		}
		if g.PassedToService != "" {
			props.Conditions = &map[string]any{"StringEquals": map[string]any{"iam:PassedToService": g.PassedToService}}
		}
		role.AddToPolicy(awsiam.NewPolicyStatement(props))
		for _, r := range resources {
			if strings.Contains(r, "*") {
				wild = append(wild, "Resource::"+nagResource(r))
			}
		}
	}
	wild = append(wild, "Resource::*") // X-Ray upload, with the function
	var appliesTo []any
	for _, w := range dedupe(wild) {
		appliesTo = append(appliesTo, w)
	}
	suppress(role, "AwsSolutions-IAM5",
		"Wildcards are scoped to the stage: its state machines (turbocat-<stage>_*, with their versions, aliases and executions), the schedules of its group, Bedrock foundation models and inference profiles; X-Ray upload, vended-log delivery and ListStateMachines accept only Resource \"*\". Function: "+name,
		appliesTo...)
}

// resourceARNs turns a symbolic resource of the table into the stage's
// ARNs.
func resourceARNs(stack awscdk.Stack, env functionEnv, r awsperm.Resource) []string {
	cfg, o, d := env.cfg, env.orchestration, env.data
	format := func(service, resource, name string, sep awscdk.ArnFormat) string {
		return *stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String(service), Resource: jsii.String(resource),
			ResourceName: jsii.String(name), ArnFormat: sep})
	}
	switch r {
	case awsperm.ResDatabaseSecret:
		arn := *d.DatabaseSecret.SecretArn()
		if cfg.DataMode == settings.DataExternal && !completeSecretARN.MatchString(cfg.DatabaseSecretARN) {
			arn += "-??????" // a partial ARN: any suffix Secrets Manager added
		}
		return []string{arn}
	case awsperm.ResJWTSecret:
		return []string{*d.JWTSecret.SecretArn()}
	case awsperm.ResSecretsKey:
		return []string{*d.SecretsKey.KeyArn()}
	case awsperm.ResEventBus:
		return []string{*o.EventBus.EventBusArn()}
	case awsperm.ResStateMachines:
		return []string{stateMachineARN(stack, cfg)}
	case awsperm.ResExecutions:
		return []string{executionARN(stack, cfg)}
	case awsperm.ResStateMachineRole:
		return []string{*o.ExecutionRole.RoleArn()}
	case awsperm.ResSchedules:
		return []string{format("scheduler", "schedule", cfg.Name("")+"/*", awscdk.ArnFormat_SLASH_RESOURCE_NAME)}
	case awsperm.ResSchedulerRole:
		return []string{*o.SchedulerRole.RoleArn()}
	case awsperm.ResModels:
		return []string{
			"arn:" + *stack.Partition() + ":bedrock:*::foundation-model/*",
			format("bedrock", "inference-profile", "*", awscdk.ArnFormat_SLASH_RESOURCE_NAME),
		}
	case awsperm.ResStepRunnerVersions:
		return []string{functionARN(stack, cfg.Name(StepRunner)) + ":*"}
	case awsperm.ResAny:
		return []string{"*"}
	}
	panic("unknown resource " + string(r))
}

var tokenRE = regexp.MustCompile(`\$\{Token\[AWS\.(\w+)\.\d+\]\}`)

// nagResource is how cdk-nag prints a resource in findings: pseudo
// parameters as <AWS::Name>.
func nagResource(r string) string {
	return tokenRE.ReplaceAllString(r, "<AWS::$1>")
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
