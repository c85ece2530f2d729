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
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/runtime"
	"github.com/turbocat/turbocat/internal/runtime/sfnapi"
)

func apiCode(t *testing.T, err error) string {
	t.Helper()
	var ae smithy.APIError
	require.True(t, errors.As(err, &ae), "want an API error, got %v", err)
	return ae.ErrorCode()
}

func clientWith(url, key, secret string) *sfn.Client {
	return sfn.New(sfn.Options{Region: "us-east-1", BaseEndpoint: aws.String(url),
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(key, secret, ""))})
}

func TestAuthRequiresValidCredentials(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	_, err := clientWith(b.srv.URL, testCreds.AccessKeyID, "not-the-secret").ListStateMachines(ctx, &sfn.ListStateMachinesInput{})
	require.Equal(t, "InvalidSignatureException", apiCode(t, err), "a wrong secret fails the signature")
	_, err = clientWith(b.srv.URL, "AKIDOTHER", testCreds.SecretAccessKey).ListStateMachines(ctx, &sfn.ListStateMachinesInput{})
	require.Equal(t, "UnrecognizedClientException", apiCode(t, err), "an unknown access key is not recognised")
	_, err = clientWith(b.srv.URL, testCreds.AccessKeyID, testCreds.SecretAccessKey).ListStateMachines(ctx, &sfn.ListStateMachinesInput{})
	require.NoError(t, err)

	raw := func(authz string, date string) (int, string) {
		req, err := http.NewRequest(http.MethodPost, b.srv.URL, strings.NewReader(`{}`))
		require.NoError(t, err)
		req.Header.Set("X-Amz-Target", "AWSStepFunctions.ListStateMachines")
		req.Header.Set("Content-Type", "application/x-amz-json-1.0")
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		if date != "" {
			req.Header.Set("X-Amz-Date", date)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var body map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
		code, _ := body["__type"].(string)
		return resp.StatusCode, code
	}
	status, code := raw("", "")
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "UnrecognizedClientException", code, "a request without credentials is refused")
	status, code = raw("Bearer wrong", "")
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "UnrecognizedClientException", code)
	status, _ = raw("Bearer "+testCreds.Token, "")
	require.Equal(t, http.StatusOK, status, "the bearer token is accepted")
	old := time.Now().Add(-time.Hour).UTC().Format("20060102T150405Z")
	status, code = raw("AWS4-HMAC-SHA256 Credential="+testCreds.AccessKeyID+"/"+old[:8]+"/us-east-1/states/aws4_request, SignedHeaders=host;x-amz-date, Signature=00", old)
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "InvalidSignatureException", code, "a stale signature is refused")

	// An endpoint without configured credentials refuses everything.
	rt, err := runtime.New(ctx, runtime.Options{})
	require.NoError(t, err)
	t.Cleanup(rt.Close)
	open := httptest.NewServer(sfnapi.NewHandler(rt, nil))
	t.Cleanup(open.Close)
	_, err = clientWith(open.URL, "AKID", "secret").ListStateMachines(ctx, &sfn.ListStateMachinesInput{})
	require.Equal(t, "UnrecognizedClientException", apiCode(t, err))
}

func TestSDKValidateStateMachineDefinition(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	ok, err := b.client.ValidateStateMachineDefinition(ctx, &sfn.ValidateStateMachineDefinitionInput{
		Definition: aws.String(`{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","Output":"{% $states.input %}","End":true}}}`)})
	require.NoError(t, err)
	require.Equal(t, types.ValidateStateMachineDefinitionResultCodeOk, ok.Result)
	require.Empty(t, ok.Diagnostics)

	bad, err := b.client.ValidateStateMachineDefinition(ctx, &sfn.ValidateStateMachineDefinitionInput{
		Definition: aws.String(`{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"a":1},"Next":"Nowhere"}}}`)})
	require.NoError(t, err)
	require.Equal(t, types.ValidateStateMachineDefinitionResultCodeFail, bad.Result)
	locs := map[string]string{}
	for _, d := range bad.Diagnostics {
		require.Equal(t, types.ValidateStateMachineDefinitionSeverityError, d.Severity)
		locs[aws.ToString(d.Location)] = aws.ToString(d.Code)
	}
	require.Equal(t, "INVALID_QUERY_LANGUAGE_FIELD", locs["/States/A/Parameters"])
	require.Equal(t, "MISSING_TRANSITION_TARGET", locs["/States/A/Next"])

	one, err := b.client.ValidateStateMachineDefinition(ctx, &sfn.ValidateStateMachineDefinitionInput{MaxResults: 1,
		Definition: aws.String(`{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"a":1},"Next":"Nowhere"}}}`)})
	require.NoError(t, err)
	require.Len(t, one.Diagnostics, 1)
	require.True(t, aws.ToBool(one.Truncated))

	express, err := b.client.ValidateStateMachineDefinition(ctx, &sfn.ValidateStateMachineDefinitionInput{Type: types.StateMachineTypeExpress,
		Definition: aws.String(definition)})
	require.NoError(t, err)
	require.Equal(t, types.ValidateStateMachineDefinitionResultCodeFail, express.Result, "Express machines cannot wait for task tokens")
	require.Equal(t, "/States/Approve/Resource", aws.ToString(express.Diagnostics[0].Location))

	notJSON, err := b.client.ValidateStateMachineDefinition(ctx, &sfn.ValidateStateMachineDefinitionInput{Definition: aws.String(`{"StartAt":`)})
	require.NoError(t, err)
	require.Equal(t, "INVALID_JSON_DESCRIPTION", aws.ToString(notJSON.Diagnostics[0].Code))
}

func TestSDKTestState(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	out, err := b.client.TestState(ctx, &sfn.TestStateInput{
		Definition:      aws.String(`{"QueryLanguage":"JSONata","Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Arguments":{"FunctionName":"f","Payload":"{% $states.input %}"},"Output":"{% $states.result.Payload.total * $rate %}","Next":"Done"}`),
		Input:           aws.String(`{"n":1}`),
		Variables:       aws.String(`{"rate":2}`),
		InspectionLevel: types.InspectionLevelDebug,
		Mock:            &types.MockInput{Result: aws.String(`{"Payload":{"total":21}}`)},
	}, noHostPrefix)
	require.NoError(t, err)
	require.Equal(t, types.TestExecutionStatusSucceeded, out.Status)
	require.Equal(t, "42", aws.ToString(out.Output))
	require.Equal(t, "Done", aws.ToString(out.NextState))
	require.JSONEq(t, `{"FunctionName":"f","Payload":{"n":1}}`, aws.ToString(out.InspectionData.AfterArguments))
	require.JSONEq(t, `{"Payload":{"total":21}}`, aws.ToString(out.InspectionData.Result))

	caught, err := b.client.TestState(ctx, &sfn.TestStateInput{
		Definition: aws.String(`{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","Catch":[{"ErrorEquals":["States.ALL"],"Next":"H"}],"End":true}`),
		Mock:       &types.MockInput{ErrorOutput: &types.MockErrorOutput{Error: aws.String("Boom"), Cause: aws.String("c")}},
	}, noHostPrefix)
	require.NoError(t, err)
	require.Equal(t, types.TestExecutionStatusCaughtError, caught.Status)
	require.Equal(t, "H", aws.ToString(caught.NextState))
	require.Equal(t, "Boom", aws.ToString(caught.Error))
}

func TestSDKTags(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	created, err := b.client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("tagged"), RoleArn: aws.String("r"),
		Definition: aws.String(`{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`), Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}}})
	require.NoError(t, err)
	_, err = b.client.TagResource(ctx, &sfn.TagResourceInput{ResourceArn: created.StateMachineArn,
		Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("dev")}, {Key: aws.String("team"), Value: aws.String("b")}}})
	require.NoError(t, err)
	list, err := b.client.ListTagsForResource(ctx, &sfn.ListTagsForResourceInput{ResourceArn: created.StateMachineArn})
	require.NoError(t, err)
	require.Equal(t, []types.Tag{{Key: aws.String("env"), Value: aws.String("dev")}, {Key: aws.String("team"), Value: aws.String("b")}}, list.Tags)
	_, err = b.client.UntagResource(ctx, &sfn.UntagResourceInput{ResourceArn: created.StateMachineArn, TagKeys: []string{"env"}})
	require.NoError(t, err)
	list, err = b.client.ListTagsForResource(ctx, &sfn.ListTagsForResourceInput{ResourceArn: created.StateMachineArn})
	require.NoError(t, err)
	require.Len(t, list.Tags, 1)

	many := make([]types.Tag, 51)
	for i := range many {
		many[i] = types.Tag{Key: aws.String(strings.Repeat("k", i+1)), Value: aws.String("v")}
	}
	_, err = b.client.TagResource(ctx, &sfn.TagResourceInput{ResourceArn: created.StateMachineArn, Tags: many})
	var tooMany *types.TooManyTags
	require.True(t, errors.As(err, &tooMany), "got %v", err)
	_, err = b.client.ListTagsForResource(ctx, &sfn.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:states:us-east-1:123456789012:stateMachine:none")})
	var notFound *types.ResourceNotFound
	require.True(t, errors.As(err, &notFound), "got %v", err)
	_, err = b.client.ListTagsForResource(ctx, &sfn.ListTagsForResourceInput{ResourceArn: aws.String("tagged")})
	var invalidArn *types.InvalidArn
	require.True(t, errors.As(err, &invalidArn), "got %v", err)
}

func TestSDKRedriveExecution(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	b.rt.RegisterFunction("flaky", func(_ context.Context, p json.RawMessage) (json.RawMessage, error) {
		var in struct{ RedriveCount int }
		_ = json.Unmarshal(p, &in)
		if in.RedriveCount == 0 {
			return nil, &runtime.TaskError{Name: "First.Try", Cause: "fails before a redrive"}
		}
		return json.RawMessage(`"second try"`), nil
	})
	created, err := b.client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("redrive"), RoleArn: aws.String("r"),
		Definition: aws.String(`{"StartAt":"Work","States":{"Work":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:flaky",
			"Parameters":{"RedriveCount.$":"$$.Execution.RedriveCount"},"End":true}}}`)})
	require.NoError(t, err)
	started, err := b.client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: created.StateMachineArn, Name: aws.String("e1")})
	require.NoError(t, err)
	var desc *sfn.DescribeExecutionOutput
	require.Eventually(t, func() bool {
		desc, err = b.client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: started.ExecutionArn})
		return err == nil && desc.Status != types.ExecutionStatusRunning
	}, 5*time.Second, time.Millisecond)
	require.Equal(t, types.ExecutionStatusFailed, desc.Status)
	require.Equal(t, types.ExecutionRedriveStatusRedrivable, desc.RedriveStatus)

	red, err := b.client.RedriveExecution(ctx, &sfn.RedriveExecutionInput{ExecutionArn: started.ExecutionArn})
	require.NoError(t, err)
	require.NotNil(t, red.RedriveDate)
	require.Eventually(t, func() bool {
		desc, err = b.client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: started.ExecutionArn})
		return err == nil && desc.Status != types.ExecutionStatusRunning
	}, 5*time.Second, time.Millisecond)
	require.Equal(t, types.ExecutionStatusSucceeded, desc.Status, "%s %s", aws.ToString(desc.Error), aws.ToString(desc.Cause))
	require.Equal(t, `"second try"`, aws.ToString(desc.Output))
	require.Equal(t, int32(1), aws.ToInt32(desc.RedriveCount))
	require.NotNil(t, desc.RedriveDate)

	_, err = b.client.RedriveExecution(ctx, &sfn.RedriveExecutionInput{ExecutionArn: started.ExecutionArn})
	var notRedrivable *types.ExecutionNotRedrivable
	require.True(t, errors.As(err, &notRedrivable), "a succeeded execution cannot be redriven; got %v", err)
}

func TestSDKActivities(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	act, err := b.client.CreateActivity(ctx, &sfn.CreateActivityInput{Name: aws.String("review")})
	require.NoError(t, err)
	desc, err := b.client.DescribeActivity(ctx, &sfn.DescribeActivityInput{ActivityArn: act.ActivityArn})
	require.NoError(t, err)
	require.Equal(t, "review", aws.ToString(desc.Name))
	list, err := b.client.ListActivities(ctx, &sfn.ListActivitiesInput{})
	require.NoError(t, err)
	require.Len(t, list.Activities, 1)

	created, err := b.client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("act"), RoleArn: aws.String("r"),
		Definition: aws.String(`{"StartAt":"Review","States":{"Review":{"Type":"Task","Resource":"` + aws.ToString(act.ActivityArn) + `","End":true}}}`)})
	require.NoError(t, err)
	started, err := b.client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: created.StateMachineArn, Input: aws.String(`{"doc":1}`)})
	require.NoError(t, err)
	task, err := b.client.GetActivityTask(ctx, &sfn.GetActivityTaskInput{ActivityArn: act.ActivityArn, WorkerName: aws.String("w1")})
	require.NoError(t, err)
	require.JSONEq(t, `{"doc":1}`, aws.ToString(task.Input))
	_, err = b.client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: task.TaskToken, Output: aws.String(`{"ok":true}`)})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		d, err := b.client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: started.ExecutionArn})
		return err == nil && d.Status == types.ExecutionStatusSucceeded && aws.ToString(d.Output) == `{"ok":true}`
	}, 5*time.Second, time.Millisecond)
	_, err = b.client.DeleteActivity(ctx, &sfn.DeleteActivityInput{ActivityArn: act.ActivityArn})
	require.NoError(t, err)
	_, err = b.client.DescribeActivity(ctx, &sfn.DescribeActivityInput{ActivityArn: act.ActivityArn})
	var gone *types.ActivityDoesNotExist
	require.True(t, errors.As(err, &gone), "got %v", err)
}

func TestSDKErrorsAsAWSGivesThem(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	std, err := b.client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("std"), RoleArn: aws.String("r"),
		Definition: aws.String(`{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`),
		LoggingConfiguration: &types.LoggingConfiguration{Level: types.LogLevelError, IncludeExecutionData: true,
			Destinations: []types.LogDestination{{CloudWatchLogsLogGroup: &types.CloudWatchLogsLogGroup{LogGroupArn: aws.String("arn:aws:logs:us-east-1:123456789012:log-group:g:*")}}}},
		TracingConfiguration: &types.TracingConfiguration{Enabled: true}})
	require.NoError(t, err)
	desc, err := b.client.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: std.StateMachineArn})
	require.NoError(t, err)
	require.Equal(t, types.LogLevelError, desc.LoggingConfiguration.Level, "logging configuration is stored and returned")
	require.True(t, desc.LoggingConfiguration.IncludeExecutionData)
	require.True(t, desc.TracingConfiguration.Enabled)

	_, err = b.client.StartSyncExecution(ctx, &sfn.StartSyncExecutionInput{StateMachineArn: std.StateMachineArn}, noHostPrefix)
	var notSupported *types.StateMachineTypeNotSupported
	require.True(t, errors.As(err, &notSupported), "StartSyncExecution needs an Express machine; got %v", err)

	_, err = b.client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String("not-an-arn")})
	var invalidArn *types.InvalidArn
	require.True(t, errors.As(err, &invalidArn), "got %v", err)
	_, err = b.client.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String("arn:aws:states:us-east-1:123456789012:activity:x")})
	require.True(t, errors.As(err, &invalidArn), "an activity ARN is not a state machine ARN; got %v", err)

	_, err = b.client.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: std.StateMachineArn, StatusFilter: "DONE"})
	var validationErr *types.ValidationException
	require.True(t, errors.As(err, &validationErr), "got %v", err)

	_, err = b.client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: std.StateMachineArn, Input: aws.String(`{"big":"` + strings.Repeat("x", 256*1024) + `"}`)})
	require.True(t, errors.As(err, &validationErr), "an input above 256 KiB is refused; got %v", err)

	_, err = b.client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("bad"), RoleArn: aws.String("r"),
		Definition: aws.String(`{"StartAt":"P","States":{"P":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","End":true}}}`), Type: types.StateMachineTypeExpress})
	var invalidDef *types.InvalidDefinition
	require.True(t, errors.As(err, &invalidDef), "got %v", err)
	require.Contains(t, invalidDef.ErrorMessage(), "/States/P/Resource")

	// roleArn is required (the SDK checks it too; a raw request shows the
	// endpoint does).
	req, err := http.NewRequest(http.MethodPost, b.srv.URL, strings.NewReader(`{"name":"norole","definition":"{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Pass\",\"End\":true}}}"}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+testCreds.Token)
	req.Header.Set("X-Amz-Target", "AWSStepFunctions.CreateStateMachine")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body map[string]string
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	require.Equal(t, "ValidationException", body["__type"])
	require.Contains(t, body["message"], "roleArn")
}

// The scenario the JSONata work is done by: Assign, Arguments, Output, a
// Choice Condition, a Map over Items and a Catch reading
// $states.errorOutput, through the AWS SDK.
func TestSDKJSONataMachine(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	def := `{"QueryLanguage":"JSONata","StartAt":"Init","States":{
		"Init":{"Type":"Pass","Assign":{"customer":"{% $states.input.customer %}"},"Next":"Price"},
		"Price":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Arguments":{"FunctionName":"notify","Payload":{"Token":"none","items":"{% $states.input.items %}"}},
			"Retry":[{"ErrorEquals":["States.TaskFailed"],"MaxAttempts":1}],
			"Output":"{% $states.input %}","Assign":{"n":"{% $count($states.input.items) %}"},"Next":"Many?"},
		"Many?":{"Type":"Choice","Choices":[{"Condition":"{% $n > 2 %}","Next":"Each"}],"Default":"Each"},
		"Each":{"Type":"Map","Items":"{% $states.input.items %}","ItemSelector":{"item":"{% $states.context.Map.Item.Value %}","who":"{% $customer %}"},
			"ItemProcessor":{"StartAt":"Line","States":{"Line":{"Type":"Pass","Output":"{% $states.input.who & ':' & $string($states.input.item) %}","End":true}}},
			"Assign":{"lines":"{% $states.result %}"},"Next":"Fail?"},
		"Fail?":{"Type":"Fail","Error":"Demo.Failure","Cause":"{% 'lines: ' & $string($count($lines)) %}"}}}`
	wrapped := `{"QueryLanguage":"JSONata","StartAt":"Run","States":{"Run":{"Type":"Parallel","Branches":[` + strings.Replace(strings.Replace(def, `{"QueryLanguage":"JSONata",`, `{`, 1), "\n", "", -1) + `],
		"Catch":[{"ErrorEquals":["States.ALL"],"Output":{"error":"{% $states.errorOutput.Error %}","cause":"{% $states.errorOutput.Cause %}"},"Next":"Done"}],"End":true},
		"Done":{"Type":"Succeed"}}}`
	created, err := b.client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("jsonata"), RoleArn: aws.String("r"), Definition: aws.String(wrapped)})
	require.NoError(t, err)
	started, err := b.client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: created.StateMachineArn, Input: aws.String(`{"customer":"ana","items":[1,2,3]}`)})
	require.NoError(t, err)
	<-b.tokens
	var desc *sfn.DescribeExecutionOutput
	require.Eventually(t, func() bool {
		desc, err = b.client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: started.ExecutionArn})
		return err == nil && desc.Status != types.ExecutionStatusRunning
	}, 5*time.Second, time.Millisecond)
	require.Equal(t, types.ExecutionStatusSucceeded, desc.Status, "%s: %s", aws.ToString(desc.Error), aws.ToString(desc.Cause))
	require.JSONEq(t, `{"error":"Demo.Failure","cause":"lines: 3"}`, aws.ToString(desc.Output))
	hist, err := b.client.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: started.ExecutionArn})
	require.NoError(t, err)
	var assigned map[string]string
	for _, e := range hist.Events {
		if e.StateExitedEventDetails != nil && aws.ToString(e.StateExitedEventDetails.Name) == "Each" {
			assigned = e.StateExitedEventDetails.AssignedVariables
		}
	}
	require.Equal(t, map[string]string{"lines": `["ana:1","ana:2","ana:3"]`}, assigned)
}
