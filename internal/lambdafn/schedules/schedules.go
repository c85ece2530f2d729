// Package schedules is the schedules component of the Lambda wiring:
// EventBridge Scheduler schedules kept in step with deployments.
package schedules

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/scheduler"

	"github.com/turbocat/turbocat/internal/awsevents"
	"github.com/turbocat/turbocat/internal/awsperm"
	"github.com/turbocat/turbocat/internal/lambdafn"
)

// Schedules keeps one EventBridge Scheduler schedule per scheduled
// deployment, in TURBOCAT_SCHEDULER_GROUP, invoking TURBOCAT_TRIGGER_ARN as
// TURBOCAT_SCHEDULER_ROLE_ARN, with TURBOCAT_SCHEDULER_DLQ_ARN.
func Schedules() lambdafn.Option {
	return lambdafn.NewOption(awsperm.Schedules, func(ctx context.Context, f *lambdafn.Function) error {
		c := f.App.Config
		for _, v := range []struct{ name, val string }{
			{"TURBOCAT_SCHEDULER_GROUP", c.SchedulerGroup}, {"TURBOCAT_SCHEDULER_ROLE_ARN", c.SchedulerRole},
			{"TURBOCAT_TRIGGER_ARN", c.TriggerARN},
		} {
			if v.val == "" {
				return fmt.Errorf("%s: required by the %s component (the CDK app sets it)", v.name, awsperm.Schedules)
			}
		}
		cfg, err := f.AWS(ctx)
		if err != nil {
			return err
		}
		f.App.Deployments.Schedules = &awsevents.Schedules{Client: scheduler.NewFromConfig(cfg), Group: c.SchedulerGroup,
			RoleArn: c.SchedulerRole, TriggerArn: c.TriggerARN, DLQArn: c.SchedulerDLQ}
		return nil
	})
}
