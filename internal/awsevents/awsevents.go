// Package awsevents publishes Turbocat's lifecycle events to an Amazon
// EventBridge bus (source "turbocat", detail-type the event type), where a
// rule invokes the deliverer function; it is the AWS side of the in-process
// event bus `turbocat dev` uses.
package awsevents

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/turbocat/turbocat/internal/turbocat"
)

// Source is the EventBridge source of Turbocat's events.
const Source = "turbocat"

// Detail is an event's form on the bus: the event plus the user it belongs
// to, which the deliverer needs to find the webhooks (and never sends).
type Detail struct {
	ID     string          `json:"id"`
	Type   string          `json:"type"`
	Time   string          `json:"time"`
	UserID string          `json:"userId"`
	Data   json.RawMessage `json:"data"`
}

// API is the part of the EventBridge client the bus uses.
type API interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// Bus implements turbocat.EventPublisher on EventBridge.
type Bus struct {
	Client  API
	BusName string
	Logger  *slog.Logger
}

// Publish implements turbocat.EventPublisher: it puts the event on the bus,
// where a rule invokes the deliverer. An error leaves the event in the
// outbox for another attempt.
func (b *Bus) Publish(ctx context.Context, e turbocat.Event) error {
	data, err := json.Marshal(e.Data)
	if err != nil {
		return fmt.Errorf("encode event data: %w", err)
	}
	detail, err := json.Marshal(Detail{ID: e.ID, Type: e.Type, Time: e.Time.Format("2006-01-02T15:04:05.000Z07:00"), UserID: e.UserID, Data: data})
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	out, err := b.Client.PutEvents(context.WithoutCancel(ctx), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		EventBusName: aws.String(b.BusName), Source: aws.String(Source), DetailType: aws.String(e.Type),
		Detail: aws.String(string(detail)), Time: aws.Time(e.Time),
	}}})
	if err != nil {
		return fmt.Errorf("put event: %w", err)
	}
	if out.FailedEntryCount > 0 && len(out.Entries) > 0 {
		return fmt.Errorf("put event: %s: %s", aws.ToString(out.Entries[0].ErrorCode), aws.ToString(out.Entries[0].ErrorMessage))
	}
	return nil
}

// Decode turns a bus event's detail back into the event.
func Decode(detail json.RawMessage) (turbocat.Event, error) {
	var d Detail
	if err := json.Unmarshal(detail, &d); err != nil {
		return turbocat.Event{}, fmt.Errorf("decode event detail: %w", err)
	}
	if d.ID == "" || d.Type == "" || d.UserID == "" {
		return turbocat.Event{}, fmt.Errorf("decode event detail: id, type and userId are required")
	}
	e := turbocat.Event{ID: d.ID, Type: d.Type, UserID: d.UserID, Data: d.Data}
	if err := e.Time.UnmarshalText([]byte(d.Time)); err != nil {
		return turbocat.Event{}, fmt.Errorf("decode event time: %w", err)
	}
	return e, nil
}
