// Package tracing adds Turbocat's spans to AWS X-Ray in Lambda: a
// subsegment per API request (annotated with the route) and per step run
// (annotated with the execution id, step key and agent type), and X-Ray
// instrumentation of the AWS SDK clients, so a trace follows a run from the
// API function through Step Functions to the steprunner. Outside Lambda
// (turbocat dev, tests) every call is a no-op unless Enable is called.
package tracing

import (
	"context"
	"sync/atomic"

	awsv2 "github.com/aws/aws-xray-sdk-go/instrumentation/awsv2"
	"github.com/aws/aws-xray-sdk-go/strategy/ctxmissing"
	"github.com/aws/aws-xray-sdk-go/xray"
	"github.com/aws/smithy-go/middleware"
)

var enabled atomic.Bool

// Enable turns tracing on (Lambda mains call it). A context without a
// segment is ignored rather than logged.
func Enable() {
	_ = xray.Configure(xray.Config{ContextMissingStrategy: ctxmissing.NewDefaultIgnoreErrorStrategy()})
	enabled.Store(true)
}

// Enabled reports whether tracing is on.
func Enabled() bool { return enabled.Load() }

// Span is an open subsegment; End closes it, recording err.
type Span struct{ seg *xray.Segment }

// Start opens a subsegment called name with annotations (searchable in the
// X-Ray console). It returns ctx unchanged and an inert span when tracing is
// off or ctx carries no segment.
func Start(ctx context.Context, name string, annotations map[string]string) (context.Context, Span) {
	if !enabled.Load() || xray.GetSegment(ctx) == nil {
		return ctx, Span{}
	}
	ctx, seg := xray.BeginSubsegment(ctx, name)
	if seg == nil {
		return ctx, Span{}
	}
	for k, v := range annotations {
		_ = seg.AddAnnotation(k, v)
	}
	return ctx, Span{seg: seg}
}

// Annotate adds an annotation to the span.
func (s Span) Annotate(key, value string) {
	if s.seg != nil {
		_ = s.seg.AddAnnotation(key, value)
	}
}

// End closes the span.
func (s Span) End(err error) {
	if s.seg != nil {
		s.seg.Close(err)
	}
}

// InstrumentAWS adds X-Ray tracing to an AWS SDK v2 config's clients.
func InstrumentAWS(apiOptions *[]func(*middleware.Stack) error) {
	if enabled.Load() {
		awsv2.AWSV2Instrumentor(apiOptions)
	}
}
