// Command reconciler is the AWS Lambda function that brings an execution in
// line when Step Functions ends it by itself (timeout, abort, unhandled
// failure), from the "Step Functions Execution Status Change" event.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/turbocat/turbocat/internal/lambdafn"
	"github.com/turbocat/turbocat/internal/lambdafn/eventbus"
	"github.com/turbocat/turbocat/internal/lambdafn/stepfunctions"
)

// The components below must equal this function's row of internal/awsperm,
// from which its IAM role is built.
func main() {
	handler, err := lambdafn.Reconciler(context.Background(), eventbus.EventBus(), stepfunctions.StepFunctions())
	if err != nil {
		fmt.Fprintln(os.Stderr, "reconciler: start:", err)
		os.Exit(1)
	}
	lambda.Start(handler)
}
