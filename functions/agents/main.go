// Command agents is the AWS Lambda function that serves /api/v1/agents
// behind API Gateway (HTTP API, payload format 2.0).
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/turbocat/turbocat/internal/lambdafn"
	"github.com/turbocat/turbocat/internal/lambdafn/agenttests"
)

// The components below must equal this function's row of internal/awsperm,
// from which its IAM role is built.
func main() {
	handler, err := lambdafn.API(context.Background(), "agents", lambdafn.JWT(), agenttests.AgentTests())
	if err != nil {
		fmt.Fprintln(os.Stderr, "agents: start:", err)
		os.Exit(1)
	}
	lambda.Start(handler)
}
