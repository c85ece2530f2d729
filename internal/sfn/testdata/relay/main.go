// Command relay is the Lambda function the engine conformance suite deploys
// to LocalStack for its Task states: it forwards each invocation's payload
// to the test process (TURBOCAT_RELAY_URL, reached from the Lambda
// container) and answers with its result, or fails with the error the test
// function returned, so the in-process functions of the suite run behind a
// real Lambda invoke.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
)

func main() {
	url := os.Getenv("TURBOCAT_RELAY_URL")
	lambda.Start(func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
		if err != nil {
			return nil, err
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("relay to %s: %w", url, err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			var e struct{ Type, Message string }
			_ = json.Unmarshal(body, &e)
			return nil, messages.InvokeResponse_Error{Type: e.Type, Message: e.Message}
		}
		return body, nil
	})
}
