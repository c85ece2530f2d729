package tracing

import (
	"context"
	"strconv"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// InstrumentAWS adds a subsegment per AWS SDK v2 call (namespace "aws",
// with the operation, region and request id) to an aws.Config's API
// options, and passes the trace on in the X-Amzn-Trace-Id header. It does
// nothing unless tracing is enabled.
func InstrumentAWS(apiOptions *[]func(*middleware.Stack) error) {
	if !enabled.Load() {
		return
	}
	*apiOptions = append(*apiOptions, func(st *middleware.Stack) error {
		// In Finalize, before the retry loop: one subsegment per call,
		// whatever the number of attempts, with the service metadata the
		// Initialize step has put in ctx.
		return st.Finalize.Add(middleware.FinalizeMiddlewareFunc("TurbocatXRay", awsCall), middleware.Before)
	})
}

func awsCall(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	s := begin(ctx, awsmiddleware.GetServiceID(ctx))
	if s == nil {
		return next.HandleFinalize(ctx, in)
	}
	s.Namespace = "aws"
	s.AWS = map[string]string{"operation": awsmiddleware.GetOperationName(ctx), "region": awsmiddleware.GetRegion(ctx)}
	if req, ok := in.Request.(*smithyhttp.Request); ok {
		req.Header.Set("X-Amzn-Trace-Id", Span{s: s}.Header())
	}
	out, md, err := next.HandleFinalize(context.WithValue(ctx, spanKey{}, s), in)
	if id, ok := awsmiddleware.GetRequestIDMetadata(md); ok {
		s.AWS["request_id"] = id
	}
	if res, ok := awsmiddleware.GetRawResponse(md).(*smithyhttp.Response); ok {
		s.AWS["http_status"] = strconv.Itoa(res.StatusCode)
	}
	Span{s: s}.End(err)
	return out, md, err
}
