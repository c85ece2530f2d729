package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/turbocat/turbocat/infra/settings"
)

// suppress records a cdk-nag suppression with its reason on construct and
// its children. appliesTo narrows it to findings such as
// "Resource::*" or "Policy::arn:<AWS::Partition>:iam::aws:policy/...".
func suppress(construct any, id, reason string, appliesTo ...any) {
	s := &cdknag.NagPackSuppression{Id: jsii.String(id), Reason: jsii.String(reason)}
	if len(appliesTo) > 0 {
		a := append([]any(nil), appliesTo...)
		s.AppliesTo = &a
	}
	cdknag.NagSuppressions_AddResourceSuppressions(construct, &[]*cdknag.NagPackSuppression{s}, jsii.Bool(true))
}

// nagRegex is an appliesTo entry matching findings by regular expression
// (for logical ids CDK generates).
func nagRegex(re string) any {
	return map[string]any{"regex": "/" + re + "/"}
}

// retention converts the configured days to a CloudWatch Logs retention.
// settings.Config.Validate guarantees the value is one CloudWatch accepts.
func retention(cfg settings.Config) awslogs.RetentionDays {
	if r, ok := retentionByDays[cfg.LogRetentionDays]; ok {
		return r
	}
	return awslogs.RetentionDays_ONE_MONTH
}

var retentionByDays = map[int]awslogs.RetentionDays{
	1:    awslogs.RetentionDays_ONE_DAY,
	3:    awslogs.RetentionDays_THREE_DAYS,
	5:    awslogs.RetentionDays_FIVE_DAYS,
	7:    awslogs.RetentionDays_ONE_WEEK,
	14:   awslogs.RetentionDays_TWO_WEEKS,
	30:   awslogs.RetentionDays_ONE_MONTH,
	60:   awslogs.RetentionDays_TWO_MONTHS,
	90:   awslogs.RetentionDays_THREE_MONTHS,
	120:  awslogs.RetentionDays_FOUR_MONTHS,
	150:  awslogs.RetentionDays_FIVE_MONTHS,
	180:  awslogs.RetentionDays_SIX_MONTHS,
	365:  awslogs.RetentionDays_ONE_YEAR,
	400:  awslogs.RetentionDays_THIRTEEN_MONTHS,
	545:  awslogs.RetentionDays_EIGHTEEN_MONTHS,
	731:  awslogs.RetentionDays_TWO_YEARS,
	1096: awslogs.RetentionDays_THREE_YEARS,
	1827: awslogs.RetentionDays_FIVE_YEARS,
	2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS,
	2922: awslogs.RetentionDays_EIGHT_YEARS,
	3288: awslogs.RetentionDays_NINE_YEARS,
	3653: awslogs.RetentionDays_TEN_YEARS,
}
