package sfnapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/runtime"
	"github.com/turbocat/turbocat/internal/runtime/sfnapi"
)

// testCreds are the credentials the test endpoint accepts.
var testCreds = sfnapi.Credentials{AccessKeyID: "AKIDLOCAL", SecretAccessKey: "local-secret-key-for-tests", Token: "local-bearer-token-for-tests"}

type bundle struct {
	rt     *runtime.Runtime
	client *sfn.Client
	tokens chan string
	srv    *httptest.Server
}

func setup(t *testing.T) *bundle {
	t.Helper()
	rt, err := runtime.New(context.Background(), runtime.Options{})
	require.NoError(t, err)
	t.Cleanup(rt.Close)
	tokens := make(chan string, 4)
	rt.RegisterFunction("notify", func(_ context.Context, p json.RawMessage) (json.RawMessage, error) {
		var in struct{ Token string }
		if err := json.Unmarshal(p, &in); err != nil {
			return nil, err
		}
		tokens <- in.Token
		return json.RawMessage(`{}`), nil
	})
	srv := httptest.NewServer(sfnapi.NewHandler(rt, nil, sfnapi.WithCredentials(testCreds)))
	t.Cleanup(srv.Close)
	client := sfn.New(sfn.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(testCreds.AccessKeyID, testCreds.SecretAccessKey, "")),
	})
	return &bundle{rt: rt, client: client, tokens: tokens, srv: srv}
}

const definition = `{"StartAt":"Approve","States":{
	"Approve":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
		"Parameters":{"FunctionName":"notify","Payload":{"Token.$":"$$.Task.Token","order.$":"$.order"}},
		"ResultPath":"$.approval","Next":"Done"},
	"Done":{"Type":"Succeed"}}}`

func TestSDKCreateStartTokenHistory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)

	created, err := b.client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name: aws.String("orders"), Definition: aws.String(definition), RoleArn: aws.String("arn:aws:iam::123456789012:role/local"),
	})
	require.NoError(t, err)
	require.Equal(t, "arn:aws:states:us-east-1:123456789012:stateMachine:orders", aws.ToString(created.StateMachineArn))
	require.NotNil(t, created.CreationDate)

	started, err := b.client.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: created.StateMachineArn, Name: aws.String("order-42"), Input: aws.String(`{"order":42}`),
	})
	require.NoError(t, err)
	require.Equal(t, "arn:aws:states:us-east-1:123456789012:execution:orders:order-42", aws.ToString(started.ExecutionArn))

	token := <-b.tokens
	_, err = b.client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(`{"approved":true}`)})
	require.NoError(t, err)

	var desc *sfn.DescribeExecutionOutput
	require.Eventually(t, func() bool {
		desc, err = b.client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: started.ExecutionArn})
		return err == nil && desc.Status != types.ExecutionStatusRunning
	}, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, types.ExecutionStatusSucceeded, desc.Status)
	require.JSONEq(t, `{"order":42,"approval":{"approved":true}}`, aws.ToString(desc.Output))
	require.NotNil(t, desc.StopDate)

	hist, err := b.client.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: started.ExecutionArn})
	require.NoError(t, err)
	var got []types.HistoryEventType
	for _, e := range hist.Events {
		got = append(got, e.Type)
	}
	require.Equal(t, []types.HistoryEventType{
		types.HistoryEventTypeExecutionStarted, types.HistoryEventTypeTaskStateEntered, types.HistoryEventTypeTaskScheduled,
		types.HistoryEventTypeTaskStarted, types.HistoryEventTypeTaskSubmitted, types.HistoryEventTypeTaskSucceeded,
		types.HistoryEventTypeTaskStateExited, types.HistoryEventTypeSucceedStateEntered, types.HistoryEventTypeSucceedStateExited,
		types.HistoryEventTypeExecutionSucceeded,
	}, got)
	require.Equal(t, "Approve", aws.ToString(hist.Events[1].StateEnteredEventDetails.Name))
	require.JSONEq(t, `{"order":42}`, aws.ToString(hist.Events[0].ExecutionStartedEventDetails.Input))
	require.Equal(t, "lambda", aws.ToString(hist.Events[2].TaskScheduledEventDetails.ResourceType))
	require.JSONEq(t, `{"approved":true}`, aws.ToString(hist.Events[5].TaskSucceededEventDetails.Output))

	page, err := b.client.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: started.ExecutionArn, MaxResults: 4, ReverseOrder: true})
	require.NoError(t, err)
	require.Len(t, page.Events, 4)
	require.Equal(t, types.HistoryEventTypeExecutionSucceeded, page.Events[0].Type)
	require.NotNil(t, page.NextToken)
}

func TestSDKErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	_, err := b.client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String("arn:aws:states:us-east-1:123456789012:execution:x:y")})
	var notFound *types.ExecutionDoesNotExist
	require.True(t, errors.As(err, &notFound), "got %v", err)

	_, err = b.client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("bad"), Definition: aws.String(`{"StartAt":"Nope","States":{"A":{"Type":"Succeed"}}}`), RoleArn: aws.String("r")})
	var invalid *types.InvalidDefinition
	require.True(t, errors.As(err, &invalid), "got %v", err)
	require.Contains(t, invalid.ErrorMessage(), "Nope")

	created, err := b.client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("m"), Definition: aws.String(definition), RoleArn: aws.String("r")})
	require.NoError(t, err)
	_, err = b.client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: created.StateMachineArn, Name: aws.String("n"), Input: aws.String(`{"order":1}`)})
	require.NoError(t, err)
	<-b.tokens
	_, err = b.client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: created.StateMachineArn, Name: aws.String("n"), Input: aws.String(`{"order":2}`)})
	var exists *types.ExecutionAlreadyExists
	require.True(t, errors.As(err, &exists), "got %v", err)

	_, err = b.client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String("nope"), Output: aws.String(`{}`)})
	var badToken *types.InvalidToken
	require.True(t, errors.As(err, &badToken), "a token this runtime did not issue is InvalidToken; got %v", err)
}

func TestSDKVersionsAliasesSync(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	created, err := b.client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("pass"), RoleArn: aws.String("r"), Publish: true,
		Type: types.StateMachineTypeExpress, Definition: aws.String(`{"StartAt":"P","States":{"P":{"Type":"Pass","Result":"v1","End":true}}}`)})
	require.NoError(t, err)
	require.NotNil(t, created.StateMachineVersionArn)
	alias, err := b.client.CreateStateMachineAlias(ctx, &sfn.CreateStateMachineAliasInput{Name: aws.String("live"),
		RoutingConfiguration: []types.RoutingConfigurationListItem{{StateMachineVersionArn: created.StateMachineVersionArn, Weight: 100}}})
	require.NoError(t, err)
	desc, err := b.client.DescribeStateMachineAlias(ctx, &sfn.DescribeStateMachineAliasInput{StateMachineAliasArn: alias.StateMachineAliasArn})
	require.NoError(t, err)
	require.Equal(t, int32(100), desc.RoutingConfiguration[0].Weight)
	versions, err := b.client.ListStateMachineVersions(ctx, &sfn.ListStateMachineVersionsInput{StateMachineArn: created.StateMachineArn})
	require.NoError(t, err)
	require.Len(t, versions.StateMachineVersions, 1)

	// StartSyncExecution uses the "sync-" host prefix on AWS; a client of
	// a local endpoint turns it off (the prefix is signed, so it cannot be
	// stripped on the way).
	out, err := b.client.StartSyncExecution(ctx,
		&sfn.StartSyncExecutionInput{StateMachineArn: alias.StateMachineAliasArn, Input: aws.String(`{}`)}, noHostPrefix)
	require.NoError(t, err)
	require.Equal(t, types.SyncExecutionStatusSucceeded, out.Status)
	require.JSONEq(t, `"v1"`, aws.ToString(out.Output))
}

func TestRawProtocolErrors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	req, err := http.NewRequest(http.MethodPost, b.srv.URL, strings.NewReader(`{}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+testCreds.Token)
	req.Header.Set("X-Amz-Target", "AWSStepFunctions.Nope")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	var body map[string]string
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	require.Equal(t, "UnknownOperationException", body["__type"])

	req, err = http.NewRequest(http.MethodPost, b.srv.URL, strings.NewReader(`{"name":"s","definition":"{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Pass\",\"End\":true}}}","roleArn":"r","type":"EXPRESS"}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+testCreds.Token)
	req.Header.Set("X-Amz-Target", "AWSStepFunctions.CreateStateMachine")
	resp2, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp2.Body.Close()
	require.Equal(t, http.StatusOK, resp2.StatusCode)
	require.Equal(t, "application/x-amz-json-1.0", resp2.Header.Get("Content-Type"))

	req, err = http.NewRequest(http.MethodPost, b.srv.URL, strings.NewReader(`{"stateMachineArn":"arn:aws:states:us-east-1:123456789012:stateMachine:s","input":"{\"k\":1}"}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+testCreds.Token)
	req.Header.Set("X-Amz-Target", "AWSStepFunctions.StartSyncExecution")
	resp3, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp3.Body.Close()
	var sync map[string]any
	require.NoError(t, json.NewDecoder(resp3.Body).Decode(&sync))
	require.Equal(t, "SUCCEEDED", sync["status"])
	require.JSONEq(t, `{"k":1}`, sync["output"].(string))
}

// noHostPrefix turns off the SDK's endpoint host prefix ("sync-" for
// StartSyncExecution and TestState), which a local endpoint cannot serve.
func noHostPrefix(o *sfn.Options) {
	o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc("NoHostPrefix",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				return next.HandleInitialize(smithyhttp.DisableEndpointHostPrefix(ctx, true), in)
			}), middleware.Before)
	})
}
