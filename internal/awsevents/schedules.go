package awsevents

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"
)

// SchedulerAPI is the part of the EventBridge Scheduler client Schedules uses.
type SchedulerAPI interface {
	CreateSchedule(ctx context.Context, in *scheduler.CreateScheduleInput, opts ...func(*scheduler.Options)) (*scheduler.CreateScheduleOutput, error)
	UpdateSchedule(ctx context.Context, in *scheduler.UpdateScheduleInput, opts ...func(*scheduler.Options)) (*scheduler.UpdateScheduleOutput, error)
	DeleteSchedule(ctx context.Context, in *scheduler.DeleteScheduleInput, opts ...func(*scheduler.Options)) (*scheduler.DeleteScheduleOutput, error)
}

// Schedules keeps one EventBridge Scheduler schedule per scheduled
// (workflow, environment), invoking the trigger function with
// {deploymentId, scheduledTime}, with a retry policy and a dead-letter queue.
type Schedules struct {
	Client     SchedulerAPI
	Group      string // TURBOCAT_SCHEDULER_GROUP
	RoleArn    string // TURBOCAT_SCHEDULER_ROLE_ARN: may invoke the trigger
	TriggerArn string // TURBOCAT_TRIGGER_ARN
	DLQArn     string // TURBOCAT_SCHEDULER_DLQ_ARN
}

// Name is the schedule name of a (workflow, environment): at most 64
// characters, stable across deployments.
func Name(workflowID, environment string) string {
	h := sha256.Sum256([]byte(workflowID + "/" + environment))
	return "turbocat-" + hex.EncodeToString(h[:20])
}

// Put creates or updates the schedule of a deployment.
func (s *Schedules) Put(ctx context.Context, workflowID, environment, expr, timezone, deploymentID string) error {
	// <aws.scheduler.scheduled-time> is filled in by EventBridge Scheduler.
	input := fmt.Sprintf(`{"deploymentId":%q,"scheduledTime":"<aws.scheduler.scheduled-time>"}`, deploymentID)
	target := &types.Target{Arn: aws.String(s.TriggerArn), RoleArn: aws.String(s.RoleArn), Input: aws.String(input),
		RetryPolicy: &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(10), MaximumEventAgeInSeconds: aws.Int32(3600)}}
	if s.DLQArn != "" {
		target.DeadLetterConfig = &types.DeadLetterConfig{Arn: aws.String(s.DLQArn)}
	}
	name := Name(workflowID, environment)
	desc := fmt.Sprintf("Turbocat workflow %s, environment %s", workflowID, environment)
	window := &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeOff}
	_, err := s.Client.CreateSchedule(ctx, &scheduler.CreateScheduleInput{Name: aws.String(name), GroupName: aws.String(s.Group),
		ScheduleExpression: aws.String(expr), ScheduleExpressionTimezone: aws.String(timezone), Target: target,
		FlexibleTimeWindow: window, Description: aws.String(desc)})
	var conflict *types.ConflictException
	if errors.As(err, &conflict) {
		_, err = s.Client.UpdateSchedule(ctx, &scheduler.UpdateScheduleInput{Name: aws.String(name), GroupName: aws.String(s.Group),
			ScheduleExpression: aws.String(expr), ScheduleExpressionTimezone: aws.String(timezone), Target: target,
			FlexibleTimeWindow: window, Description: aws.String(desc)})
	}
	if err != nil {
		return fmt.Errorf("put schedule %s: %w", name, err)
	}
	return nil
}

// Delete removes the schedule of a (workflow, environment), if any.
func (s *Schedules) Delete(ctx context.Context, workflowID, environment string) error {
	name := Name(workflowID, environment)
	_, err := s.Client.DeleteSchedule(ctx, &scheduler.DeleteScheduleInput{Name: aws.String(name), GroupName: aws.String(s.Group)})
	var missing *types.ResourceNotFoundException
	if err != nil && !errors.As(err, &missing) {
		return fmt.Errorf("delete schedule %s: %w", name, err)
	}
	return nil
}
