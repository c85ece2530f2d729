// Command apikeys is the AWS Lambda function that serves /api/v1/api-keys
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
	handler, err := app.LambdaAPI(context.Background(), httpapi.GroupAPIKeys)
	if err != nil {
		fmt.Fprintln(os.Stderr, "apikeys: start:", err)
		os.Exit(1)
	}
	lambda.Start(handler)
}
