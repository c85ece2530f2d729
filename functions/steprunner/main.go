// Command steprunner is the AWS Lambda function that every Task state of a
// compiled workflow invokes: it runs one step's agent and records the result
// in Postgres.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/turbocat/turbocat/internal/app/executors"
	"github.com/turbocat/turbocat/internal/lambdafn"
	"github.com/turbocat/turbocat/internal/lambdafn/secretskey"
)

// The components below must equal this function's row of internal/awsperm,
// from which its IAM role is built.
func main() {
	handler, err := lambdafn.StepRunner(context.Background(), secretskey.SecretsReader(), lambdafn.Models(), lambdafn.RunsAgents(executors.New))
	if err != nil {
		fmt.Fprintln(os.Stderr, "steprunner: start:", err)
		os.Exit(1)
	}
	lambda.Start(handler)
}
