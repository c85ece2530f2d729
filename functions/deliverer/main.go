// Command deliverer is the AWS Lambda function that delivers Turbocat's
// lifecycle events from the EventBridge bus to the webhooks subscribed to
// them, signed and retried.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/turbocat/turbocat/internal/lambdafn/delivery"
	"github.com/turbocat/turbocat/internal/lambdafn/secretskey"
)

// The components below must equal this function's row of internal/awsperm,
// from which its IAM role is built.
func main() {
	handler, err := delivery.Deliverer(context.Background(), secretskey.SecretsReader())
	if err != nil {
		fmt.Fprintln(os.Stderr, "deliverer: start:", err)
		os.Exit(1)
	}
	lambda.Start(handler)
}
