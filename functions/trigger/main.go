// Command trigger is the AWS Lambda function that starts deployment runs:
// signed webhooks (POST /hooks/{id} behind API Gateway) and EventBridge
// Scheduler fires.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/turbocat/turbocat/internal/app"
)

func main() {
	handler, err := app.LambdaTrigger(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "trigger: start:", err)
		os.Exit(1)
	}
	lambda.Start(handler)
}
