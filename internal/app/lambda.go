package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/turbocat/turbocat/internal/config"
)

// APIHandler is the Lambda entry point of an API function: API Gateway HTTP
// API (payload format 2.0) in, response out.
type APIHandler func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// LambdaAPI builds, once per cold start, the handler of the API function that
// serves the route group (auth, agents, ...).
func LambdaAPI(ctx context.Context, group string) (APIHandler, error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, err
	}
	if err := resolveAWSSecrets(ctx, cfg); err != nil {
		return nil, err
	}
	if err := cfg.Validate(true); err != nil {
		return nil, err
	}
	logger := NewLogger(cfg, os.Stdout).With("function", group)
	a, err := New(ctx, cfg, logger)
	if err != nil {
		return nil, err
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

// resolveAWSSecrets fills secrets given by ARN. Reading them needs the AWS
// SDK's Secrets Manager client, which arrives with the AWS adapters; until
// then a set ARN without the value is a clear configuration error.
func resolveAWSSecrets(_ context.Context, cfg *config.Config) error {
	if cfg.JWTSecretARN != "" && len(cfg.JWTSecret) == 0 {
		return fmt.Errorf("TURBOCAT_JWT_SECRET_ARN is set but reading Secrets Manager is not built in yet; set TURBOCAT_JWT_SECRET")
	}
	if os.Getenv("DATABASE_SECRET_ARN") != "" && os.Getenv("DATABASE_URL") == "" {
		return fmt.Errorf("DATABASE_SECRET_ARN is set but reading Secrets Manager is not built in yet; set DATABASE_URL")
	}
	slog.Debug("aws secrets resolved")
	return nil
}
