// Command templates is the AWS Lambda function that serves /api/v1/templates
// behind API Gateway (HTTP API, payload format 2.0).
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/turbocat/turbocat/internal/lambdafn"
)

// The components below must equal this function's row of internal/awsperm,
// from which its IAM role is built.
func main() {
	handler, err := lambdafn.API(context.Background(), "templates", lambdafn.JWT())
	if err != nil {
		fmt.Fprintln(os.Stderr, "templates: start:", err)
		os.Exit(1)
	}
	lambda.Start(handler)
}
