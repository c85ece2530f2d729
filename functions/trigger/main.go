// Command trigger is the AWS Lambda function that starts deployment runs:
// signed webhooks (POST /hooks/{id} behind API Gateway) and EventBridge
// Scheduler fires.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/turbocat/turbocat/internal/lambdafn"
	"github.com/turbocat/turbocat/internal/lambdafn/secretskey"
	"github.com/turbocat/turbocat/internal/lambdafn/stepfunctions"
)

// The components below must equal this function's row of internal/awsperm,
// from which its IAM role is built.
func main() {
	handler, err := lambdafn.Trigger(context.Background(), secretskey.SecretsKey(), stepfunctions.StepFunctions(), stepfunctions.EngineRoutes())
	if err != nil {
		fmt.Fprintln(os.Stderr, "trigger: start:", err)
		os.Exit(1)
	}
	lambda.Start(handler)
}
