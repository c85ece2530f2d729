// Command executions is the AWS Lambda function that serves /api/v1/executions
// behind API Gateway (HTTP API, payload format 2.0).
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/turbocat/turbocat/internal/app"
	"github.com/turbocat/turbocat/internal/httpapi"
)

func main() {
	handler, err := app.LambdaAPI(context.Background(), httpapi.GroupExecutions)
	if err != nil {
		fmt.Fprintln(os.Stderr, "executions: start:", err)
		os.Exit(1)
	}
	lambda.Start(handler)
}
