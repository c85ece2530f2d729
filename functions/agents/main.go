// Command agents is the AWS Lambda function that serves /api/v1/agents
// behind API Gateway (HTTP API, payload format 2.0).
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/turbocat/turbocat/internal/app"
	"github.com/turbocat/turbocat/internal/executor/codeexec"
	"github.com/turbocat/turbocat/internal/httpapi"
)

func main() {
	codeexec.MaybeRunWorker() // test runs of code agents use worker processes of this binary
	handler, err := app.LambdaAPI(context.Background(), httpapi.GroupAgents)
	if err != nil {
		fmt.Fprintln(os.Stderr, "agents: start:", err)
		os.Exit(1)
	}
	lambda.Start(handler)
}
