// Command migrate is the AWS Lambda function behind the CloudFormation custom
// resource that applies database migrations on every deploy.
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
	handler, err := lambdafn.Migrate(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "migrate: start:", err)
		os.Exit(1)
	}
	lambda.Start(handler)
}
