package runtime_test

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/runtime"
)

// A redrive restarts a failed execution at the state that failed: the
// states before it do not run again, and in a failed Map only the failed
// iteration runs again.
func TestRedriveRestartsFromFailedState(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	var prep, items atomic.Int32
	var broken atomic.Bool
	broken.Store(true)
	b.rt.RegisterFunction("prep", func(_ context.Context, p json.RawMessage) (json.RawMessage, error) {
		prep.Add(1)
		return p, nil
	})
	b.rt.RegisterFunction("item", func(_ context.Context, p json.RawMessage) (json.RawMessage, error) {
		items.Add(1)
		if string(p) == "2" && broken.Load() {
			return nil, &runtime.TaskError{Name: "Item.Broken", Cause: "item 2"}
		}
		return p, nil
	})
	arn := b.machine(t, "redrive", `{"StartAt":"Prep","States":{
		"Prep":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:prep","Next":"Each"},
		"Each":{"Type":"Map","ItemsPath":"$.items","MaxConcurrency":1,"ItemProcessor":{"StartAt":"Item","States":{
			"Item":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:item","End":true}}},"End":true}}}`)
	ex := b.run(t, arn, "e1", `{"items":[1,2,3]}`)
	require.Equal(t, runtime.StatusFailed, ex.Status)
	require.Equal(t, "Item.Broken", ex.Error)
	require.EqualValues(t, 1, prep.Load())
	require.EqualValues(t, 2, items.Load(), "items 1 and 2 ran; the failure cancelled item 3")
	st, why := b.rt.RedriveStatus(ex)
	require.Equal(t, "REDRIVABLE", st, why)

	broken.Store(false)
	at, err := b.rt.RedriveExecution(ctx, ex.ExecutionArn)
	require.NoError(t, err)
	require.False(t, at.IsZero())
	done, err := b.rt.Wait(ctx, ex.ExecutionArn)
	require.NoError(t, err)
	require.Equal(t, runtime.StatusSucceeded, done.Status, "%s %s", done.Error, done.Cause)
	require.JSONEq(t, `[1,2,3]`, string(done.Output))
	require.Equal(t, 1, done.RedriveCount)
	require.EqualValues(t, 1, prep.Load(), "the state that succeeded is not run again")
	require.EqualValues(t, 4, items.Load(), "only items 2 and 3 ran again")
	types := eventTypes(t, b.rt, ex.ExecutionArn)
	require.Contains(t, types, "ExecutionFailed", "the history keeps what happened before the redrive")
	require.Contains(t, types, "ExecutionRedriven")
	require.Equal(t, "ExecutionSucceeded", types[len(types)-1])

	_, err = b.rt.RedriveExecution(ctx, ex.ExecutionArn)
	require.Equal(t, runtime.CodeExecutionNotRedrivable, runtime.ErrorCode(err), "a succeeded execution cannot be redriven")
}

func TestRedriveRules(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	_, err := b.rt.RedriveExecution(ctx, "not-an-arn")
	require.Equal(t, runtime.CodeInvalidArn, runtime.ErrorCode(err))
	_, err = b.rt.RedriveExecution(ctx, "arn:aws:states:us-east-1:123456789012:execution:none:e")
	require.Equal(t, runtime.CodeExecutionDoesNotExist, runtime.ErrorCode(err))
	arn := b.machine(t, "fails", `{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"E"}}}`)
	ex := b.run(t, arn, "e1", `{}`)
	require.Equal(t, runtime.StatusFailed, ex.Status)
	b.clock.Advance(15 * 24 * 3600e9)
	_, err = b.rt.RedriveExecution(ctx, ex.ExecutionArn)
	require.Equal(t, runtime.CodeExecutionNotRedrivable, runtime.ErrorCode(err), "after 14 days an execution cannot be redriven")
	require.Contains(t, err.Error(), "14 days")
}

func TestTestStateTaskWithMockAndInspection(t *testing.T) {
	t.Parallel()
	b := setup(t)
	out, err := b.rt.TestState(context.Background(), runtime.TestStateInput{
		Definition: `{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","InputPath":"$.order",
			"Parameters":{"id.$":"$.id"},"ResultSelector":{"total.$":"$.sum"},"ResultPath":"$.res","Next":"After"}`,
		Input:           `{"order":{"id":7}}`,
		InspectionLevel: "DEBUG",
		Mock:            &runtime.TestStateMock{Result: `{"sum":42}`},
	})
	require.NoError(t, err)
	require.Equal(t, "SUCCEEDED", out.Status)
	require.Equal(t, "After", out.NextState)
	require.JSONEq(t, `{"order":{"id":7},"res":{"total":42}}`, out.Output, "ResultPath places the result in the raw input")
	ins := out.Inspection
	require.NotNil(t, ins)
	require.JSONEq(t, `{"order":{"id":7}}`, ins.Input)
	require.JSONEq(t, `{"id":7}`, ins.AfterInputPath)
	require.JSONEq(t, `{"id":7}`, ins.AfterParameters)
	require.JSONEq(t, `{"sum":42}`, ins.Result)
	require.JSONEq(t, `{"total":42}`, ins.AfterResultSelector)
	require.JSONEq(t, `{"order":{"id":7},"res":{"total":42}}`, ins.AfterResultPath)
}

func TestTestStateRetriableCaughtAndFailed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	def := `{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f",
		"Retry":[{"ErrorEquals":["Flaky"],"MaxAttempts":2,"IntervalSeconds":3}],
		"Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.err","Next":"Handler"}],"End":true}`
	out, err := b.rt.TestState(ctx, runtime.TestStateInput{Definition: def, InspectionLevel: "DEBUG", Mock: &runtime.TestStateMock{Error: "Flaky", Cause: "try again"}})
	require.NoError(t, err)
	require.Equal(t, "RETRIABLE", out.Status)
	require.Equal(t, "Flaky", out.Error)
	require.Equal(t, 0, *out.Inspection.ErrorDetails.RetryIndex)
	require.Equal(t, 3, *out.Inspection.ErrorDetails.RetryBackoffIntervalSeconds)

	out, err = b.rt.TestState(ctx, runtime.TestStateInput{Definition: def, RetrierRetryCount: 2, Mock: &runtime.TestStateMock{Error: "Flaky", Cause: "again"}})
	require.NoError(t, err)
	require.Equal(t, "CAUGHT_ERROR", out.Status, "retries used up: the Catch takes the error")
	require.Equal(t, "Handler", out.NextState)
	require.JSONEq(t, `{"err":{"Error":"Flaky","Cause":"again"}}`, out.Output)

	out, err = b.rt.TestState(ctx, runtime.TestStateInput{Definition: `{"Type":"Fail","Error":"Bad","Cause":"why"}`})
	require.NoError(t, err)
	require.Equal(t, "FAILED", out.Status)
	require.Equal(t, "Bad", out.Error)
}

func TestTestStateJSONataWithVariablesAndStateName(t *testing.T) {
	t.Parallel()
	b := setup(t)
	out, err := b.rt.TestState(context.Background(), runtime.TestStateInput{
		Definition: `{"QueryLanguage":"JSONata","Type":"Pass","Output":"{% $states.input.n * $factor %}","Assign":{"seen":true},"End":true}`,
		Input:      `{"n":4}`, Variables: `{"factor":10}`, InspectionLevel: "DEBUG",
	})
	require.NoError(t, err)
	require.Equal(t, "SUCCEEDED", out.Status)
	require.Equal(t, "40", out.Output)
	require.JSONEq(t, `{"factor":10,"seen":true}`, out.Inspection.Variables)

	machine := `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Choice","Choices":[{"Variable":"$.x","NumericGreaterThan":1,"Next":"A"}],"Default":"C"},"C":{"Type":"Succeed"}}}`
	out, err = b.rt.TestState(context.Background(), runtime.TestStateInput{Definition: machine, StateName: "B", Input: `{"x":5}`})
	require.NoError(t, err)
	require.Equal(t, "A", out.NextState)
	require.Nil(t, out.Inspection, "INFO returns no inspection data")

	_, err = b.rt.TestState(context.Background(), runtime.TestStateInput{Definition: machine, StateName: "Nope"})
	require.Equal(t, runtime.CodeValidation, runtime.ErrorCode(err))
}
