// Command workflows is the AWS Lambda function that serves /api/v1/workflows
// behind API Gateway (HTTP API, payload format 2.0).
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/turbocat/turbocat/internal/lambdafn"
	"github.com/turbocat/turbocat/internal/lambdafn/schedules"
	"github.com/turbocat/turbocat/internal/lambdafn/secretskey"
	"github.com/turbocat/turbocat/internal/lambdafn/stepfunctions"
)

// The components below must equal this function's row of internal/awsperm,
// from which its IAM role is built.
func main() {
	handler, err := lambdafn.API(context.Background(), "workflows", lambdafn.JWT(), secretskey.SecretsKey(), stepfunctions.StepFunctions(), stepfunctions.EngineRoutes(), schedules.Schedules())
	if err != nil {
		fmt.Fprintln(os.Stderr, "workflows: start:", err)
		os.Exit(1)
	}
	lambda.Start(handler)
}
