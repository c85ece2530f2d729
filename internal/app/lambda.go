package app

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/turbocat/turbocat/internal/httpapi"
)

// APIHandler is the Lambda entry point of an API function: API Gateway HTTP
// API (payload format 2.0) in, response out.
type APIHandler func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// LambdaAPI builds, once per cold start, the handler of the API function that
// serves the route group (auth, agents, ...).
func LambdaAPI(ctx context.Context, group string) (APIHandler, error) {
	a, err := lambdaApp(ctx, group, true)
	if err != nil {
		return nil, err
	}
	if group == httpapi.GroupAgents {
		// POST /agents/{id}/test runs agents in this function.
		reg, _, err := NewExecutors(a.Config)
		if err != nil {
			return nil, err
		}
		a.Agents.Runner = a.NewRunner(reg)
	}
	return APIHandlerFor(a, group), nil
}

// APIHandlerFor adapts the app's HTTP handler for the group to Lambda.
func APIHandlerFor(a *App, group string) APIHandler {
	adapter := httpadapter.NewV2(a.Server.Handler(group))
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		// API Gateway's request id becomes ours when the client sent none,
		// so logs, responses and CloudWatch line up.
		if ev.Headers == nil {
			ev.Headers = map[string]string{}
		}
		if _, ok := ev.Headers["x-request-id"]; !ok && ev.RequestContext.RequestID != "" {
			ev.Headers["x-request-id"] = ev.RequestContext.RequestID
		}
		return adapter.ProxyWithContext(ctx, ev)
	}
}
