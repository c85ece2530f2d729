package runtime_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/runtime"
)

const childDef = `{"StartAt":"Work","States":{
	"Work":{"Type":"Choice","Choices":[{"And":[{"Variable":"$.fail","IsPresent":true},{"Variable":"$.fail","BooleanEquals":true}],"Next":"Boom"}],"Default":"Done"},
	"Done":{"Type":"Pass","Parameters":{"doubled.$":"States.MathAdd($.n, $.n)"},"End":true},
	"Boom":{"Type":"Fail","Error":"Child.Failed","Cause":"asked to fail"}}}`

func parentDef(resource string, extra string) string {
	return `{"StartAt":"Call","States":{"Call":{"Type":"Task","Resource":"` + resource + `",
		"Parameters":{"StateMachineArn":"arn:aws:states:us-east-1:123456789012:stateMachine:child","Input.$":"$"},` + extra + `"End":true}}}`
}

func TestStartExecutionSync2ReturnsParsedOutput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.machine(t, "child", childDef)
	arn := b.machine(t, "parent", parentDef("arn:aws:states:::states:startExecution.sync:2", `"ResultSelector":{"out.$":"$.Output","status.$":"$.Status","in.$":"$.Input"},`))
	ex := b.run(t, arn, "p1", `{"n":21}`)
	require.Equal(t, runtime.StatusSucceeded, ex.Status, "%s %s", ex.Error, ex.Cause)
	require.JSONEq(t, `{"out":{"doubled":42},"status":"SUCCEEDED","in":{"n":21}}`, string(ex.Output))
	children := b.rt.ListExecutions(context.Background(), runtime.ListExecutionsInput{StateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:child"})
	require.Len(t, children, 1, "one child execution")
}

func TestStartExecutionSyncReturnsOutputAsString(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.machine(t, "child", childDef)
	arn := b.machine(t, "parent", parentDef("arn:aws:states:::states:startExecution.sync", `"ResultSelector":{"out.$":"$.Output"},`))
	ex := b.run(t, arn, "p1", `{"n":1}`)
	require.Equal(t, runtime.StatusSucceeded, ex.Status)
	require.JSONEq(t, `{"out":"{\"doubled\":2}"}`, string(ex.Output))
}

func TestStartExecutionFireAndForget(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.machine(t, "child", childDef)
	arn := b.machine(t, "parent", parentDef("arn:aws:states:::states:startExecution", ""))
	ex := b.run(t, arn, "p1", `{"n":1}`)
	require.Equal(t, runtime.StatusSucceeded, ex.Status)
	var out struct {
		ExecutionArn string
		StartDate    json.Number
	}
	require.NoError(t, json.Unmarshal(ex.Output, &out))
	require.Contains(t, out.ExecutionArn, ":execution:child:p1-")
	require.NotEmpty(t, out.StartDate)
	child, err := b.rt.Wait(context.Background(), out.ExecutionArn)
	require.NoError(t, err)
	require.Equal(t, runtime.StatusSucceeded, child.Status)
}

func TestStartExecutionSyncChildFailure(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.machine(t, "child", childDef)
	def := `{"StartAt":"Call","States":{
		"Call":{"Type":"Task","Resource":"arn:aws:states:::states:startExecution.sync:2",
			"Parameters":{"StateMachineArn":"arn:aws:states:us-east-1:123456789012:stateMachine:child","Input":{"fail":true}},
			"Catch":[{"ErrorEquals":["States.TaskFailed"],"ResultPath":"$.err","Next":"Handled"}],"End":true},
		"Handled":{"Type":"Pass","End":true}}}`
	parent := b.machine(t, "parent2", def)
	ex := b.run(t, parent, "p1", `{}`)
	require.Equal(t, runtime.StatusSucceeded, ex.Status)
	var out struct{ Err struct{ Error, Cause string } }
	require.NoError(t, json.Unmarshal(ex.Output, &out))
	require.Equal(t, "States.TaskFailed", out.Err.Error)
	var cause map[string]any
	require.NoError(t, json.Unmarshal([]byte(out.Err.Cause), &cause), "the cause is the child's description")
	require.Equal(t, "FAILED", cause["Status"])
	require.Equal(t, "Child.Failed", cause["Error"])
	require.Equal(t, "asked to fail", cause["Cause"])
}

func TestStoppingParentStopsSyncChild(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tokens := make(chan string, 1)
	b.rt.RegisterFunction("wait", sendTokens(tokens))
	b.machine(t, "slowchild", `{"StartAt":"W","States":{"W":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
		"Parameters":{"FunctionName":"wait","Payload":{"Token.$":"$$.Task.Token"}},"End":true}}}`)
	parent := b.machine(t, "parent", `{"StartAt":"Call","States":{"Call":{"Type":"Task","Resource":"arn:aws:states:::states:startExecution.sync:2",
		"Parameters":{"StateMachineArn":"arn:aws:states:us-east-1:123456789012:stateMachine:slowchild"},"End":true}}}`)
	ctx := context.Background()
	s, err := b.rt.StartExecution(ctx, runtime.StartInput{StateMachineArn: parent, Name: "p1"})
	require.NoError(t, err)
	<-tokens // the child waits for its task token
	children := b.rt.ListExecutions(ctx, runtime.ListExecutionsInput{StateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:slowchild"})
	require.Len(t, children, 1)
	_, err = b.rt.StopExecution(ctx, s.ExecutionArn, "Stop", "enough")
	require.NoError(t, err)
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	child, err := b.rt.Wait(wctx, children[0].ExecutionArn)
	require.NoError(t, err)
	require.Equal(t, runtime.StatusAborted, child.Status, "the .sync child stops with its parent")
}

// startExecution.waitForTaskToken starts the child and waits until someone
// (here the child's own task) returns the parent's token.
func TestStartExecutionWaitForTaskToken(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.rt.RegisterFunction("reply", func(ctx context.Context, p json.RawMessage) (json.RawMessage, error) {
		var in struct {
			Token string
			N     int
		}
		if err := json.Unmarshal(p, &in); err != nil {
			return nil, err
		}
		out, _ := json.Marshal(map[string]int{"answer": in.N * 2})
		return json.RawMessage(`{}`), b.rt.SendTaskSuccess(ctx, in.Token, string(out))
	})
	b.machine(t, "replier", `{"StartAt":"R","States":{"R":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:reply","End":true}}}`)
	parent := b.machine(t, "parent", `{"StartAt":"Call","States":{"Call":{"Type":"Task","Resource":"arn:aws:states:::states:startExecution.waitForTaskToken",
		"Parameters":{"StateMachineArn":"arn:aws:states:us-east-1:123456789012:stateMachine:replier","Input":{"Token.$":"$$.Task.Token","N.$":"$.n"}},
		"ResultPath":"$.reply","End":true}}}`)
	ex := b.run(t, parent, "p1", `{"n":21}`)
	require.Equal(t, runtime.StatusSucceeded, ex.Status, "%s %s", ex.Error, ex.Cause)
	require.JSONEq(t, `{"n":21,"reply":{"answer":42}}`, string(ex.Output), "the token's result, not the child's description")
	children := b.rt.ListExecutions(ctx, runtime.ListExecutionsInput{StateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:replier"})
	require.Len(t, children, 1)
}

func TestActivityWorkerCompletesTask(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	act, err := b.rt.CreateActivity(ctx, "approve", map[string]string{"team": "ops"})
	require.NoError(t, err)
	again, err := b.rt.CreateActivity(ctx, "approve", nil)
	require.NoError(t, err)
	require.Equal(t, act.Arn, again.Arn, "creating an activity again returns it")
	arn := b.machine(t, "withactivity", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"`+act.Arn+`","TimeoutSeconds":300,"End":true}}}`)
	s, err := b.rt.StartExecution(ctx, runtime.StartInput{StateMachineArn: arn, Name: "e1", Input: `{"order":7}`})
	require.NoError(t, err)
	token, input, err := b.rt.GetActivityTask(ctx, act.Arn, "worker-1")
	require.NoError(t, err)
	require.JSONEq(t, `{"order":7}`, input)
	require.NoError(t, b.rt.SendTaskSuccess(ctx, token, `{"approved":true}`))
	ex, err := b.rt.Wait(ctx, s.ExecutionArn)
	require.NoError(t, err)
	require.Equal(t, runtime.StatusSucceeded, ex.Status)
	require.JSONEq(t, `{"approved":true}`, string(ex.Output))
	types := eventTypes(t, b.rt, s.ExecutionArn)
	require.Equal(t, []string{"ExecutionStarted", "TaskStateEntered", "ActivityScheduled", "ActivityStarted", "ActivitySucceeded", "TaskStateExited", "ExecutionSucceeded"}, types)
	tags, err := b.rt.ListTagsForResource(ctx, act.Arn)
	require.NoError(t, err)
	require.Equal(t, []runtime.Tag{{Key: "team", Value: "ops"}}, tags)
}
