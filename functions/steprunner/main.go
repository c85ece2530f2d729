// Command steprunner is the AWS Lambda function that every Task state of a
// compiled workflow invokes: it runs one step's agent and records the result
// in Postgres.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/turbocat/turbocat/internal/app"
	"github.com/turbocat/turbocat/internal/executor/codeexec"
)

func main() {
	codeexec.MaybeRunWorker() // code agents run in worker processes of this binary
	handler, err := app.LambdaStepRunner(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "steprunner: start:", err)
		os.Exit(1)
	}
	lambda.Start(handler)
}
