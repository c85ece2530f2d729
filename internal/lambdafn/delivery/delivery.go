// Package delivery is the deliverer function's entry point: Turbocat events
// from the EventBridge bus in, signed webhook deliveries out. It is apart
// from lambdafn so that only the deliverer links the bus's event decoding.
package delivery

import (
	"context"
	"fmt"

	"github.com/aws/aws-lambda-go/events"

	"github.com/turbocat/turbocat/internal/app"
	"github.com/turbocat/turbocat/internal/awsevents"
	"github.com/turbocat/turbocat/internal/lambdafn"
)

// DelivererHandler is the Lambda entry point of the deliverer: Turbocat
// events from the EventBridge bus in, signed webhook deliveries out.
type DelivererHandler func(context.Context, events.CloudWatchEvent) error

// Deliverer builds the deliverer function.
func Deliverer(ctx context.Context, opts ...lambdafn.Option) (DelivererHandler, error) {
	f, err := lambdafn.Build(ctx, "deliverer", opts...)
	if err != nil {
		return nil, err
	}
	return DelivererLambda(f.App), nil
}

// DelivererLambda delivers one bus event to the webhooks subscribed to it.
// A redelivered event reuses its delivery records and skips the webhooks it
// already reached.
func DelivererLambda(a *app.App) DelivererHandler {
	return func(ctx context.Context, ev events.CloudWatchEvent) error {
		if ev.Source != awsevents.Source {
			return fmt.Errorf("deliverer: unexpected event source %q", ev.Source)
		}
		e, err := awsevents.Decode(ev.Detail)
		if err != nil {
			return fmt.Errorf("deliverer: %w", err)
		}
		return a.Webhooks.DeliverAll(ctx, e)
	}
}
