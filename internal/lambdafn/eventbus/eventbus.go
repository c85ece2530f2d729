// Package eventbus is the event-bus component of the Lambda wiring: the
// event outbox dispatched to the stage's EventBridge bus.
package eventbus

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/turbocat/turbocat/internal/awsevents"
	"github.com/turbocat/turbocat/internal/awsperm"
	"github.com/turbocat/turbocat/internal/lambdafn"
)

// EventBus dispatches the event outbox to TURBOCAT_EVENT_BUS_NAME, where
// the deliverer picks the events up (the reconciler drains the outbox on
// its schedule; other functions only write to it).
func EventBus() lambdafn.Option {
	return lambdafn.NewOption(awsperm.EventBus, func(ctx context.Context, f *lambdafn.Function) error {
		bus, err := lambdafn.RequireEnv(awsperm.EventBus, "TURBOCAT_EVENT_BUS_NAME")
		if err != nil {
			return err
		}
		cfg, err := f.AWS(ctx)
		if err != nil {
			return err
		}
		f.App.Outbox.Publisher = &awsevents.Bus{Client: eventbridge.NewFromConfig(cfg), BusName: bus, Logger: f.App.Logger}
		return nil
	})
}
