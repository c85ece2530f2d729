package runtime_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/runtime"
)

type bundle struct {
	rt    *runtime.Runtime
	clock *runtime.FakeClock
	j     *runtime.MemoryJournal
}

func setup(t *testing.T, opts ...func(*runtime.Options)) *bundle {
	t.Helper()
	clock := runtime.NewFakeClock(caseStart)
	j := runtime.NewMemoryJournal()
	o := runtime.Options{Clock: clock, Journal: j, Rand: rand.New(rand.NewPCG(1, 2))}
	for _, f := range opts {
		f(&o)
	}
	rt, err := runtime.New(context.Background(), o)
	require.NoError(t, err)
	t.Cleanup(rt.Close)
	return &bundle{rt: rt, clock: clock, j: j}
}

func (b *bundle) machine(t *testing.T, name, def string) string {
	t.Helper()
	out, err := b.rt.CreateStateMachine(context.Background(), runtime.CreateStateMachineInput{Name: name, Definition: def})
	require.NoError(t, err)
	return out.StateMachineArn
}

func (b *bundle) run(t *testing.T, smArn, name, input string) *runtime.Execution {
	t.Helper()
	start, err := b.rt.StartExecution(context.Background(), runtime.StartInput{StateMachineArn: smArn, Name: name, Input: input})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ex, err := b.rt.Wait(ctx, start.ExecutionArn)
	require.NoError(t, err)
	return ex
}

func eventTypes(t *testing.T, rt *runtime.Runtime, arn string) []string {
	t.Helper()
	hist, err := rt.GetExecutionHistory(context.Background(), arn)
	require.NoError(t, err)
	out := make([]string, len(hist))
	for i, e := range hist {
		out[i] = e.Type
	}
	return out
}

func TestRetryBackoffOnFakeClock(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var attempts atomic.Int32
	b.rt.RegisterFunction("flaky", func(context.Context, json.RawMessage) (json.RawMessage, error) {
		attempts.Add(1)
		return nil, &runtime.TaskError{Name: "Lambda.ServiceException", Cause: "down"}
	})
	arn := b.machine(t, "retry", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
		"Parameters":{"FunctionName":"flaky","Payload.$":"$"},
		"Retry":[{"ErrorEquals":["Lambda.ServiceException"],"IntervalSeconds":2,"MaxAttempts":6,"BackoffRate":2}],"End":true}}}`)
	ex := b.run(t, arn, "r1", `{}`)
	require.Equal(t, runtime.StatusFailed, ex.Status)
	require.Equal(t, "Lambda.ServiceException", ex.Error)
	require.EqualValues(t, 7, attempts.Load(), "1 attempt + 6 retries")
	want := []time.Duration{2, 4, 8, 16, 32, 64}
	for i := range want {
		want[i] *= time.Second
	}
	require.Equal(t, want, b.clock.Sleeps())
}

func TestRetryMaxDelayAndJitter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		retry string
		check func(t *testing.T, sleeps []time.Duration)
	}{
		{"max delay caps", `{"ErrorEquals":["E"],"IntervalSeconds":3,"MaxAttempts":5,"BackoffRate":3,"MaxDelaySeconds":20}`, func(t *testing.T, s []time.Duration) {
			require.Equal(t, []time.Duration{3 * time.Second, 9 * time.Second, 20 * time.Second, 20 * time.Second, 20 * time.Second}, s)
		}},
		{"full jitter stays under the backoff", `{"ErrorEquals":["E"],"IntervalSeconds":10,"MaxAttempts":8,"BackoffRate":2,"MaxDelaySeconds":60,"JitterStrategy":"FULL"}`, func(t *testing.T, s []time.Duration) {
			require.Len(t, s, 8)
			distinct := map[time.Duration]bool{}
			for i, d := range s {
				ceiling := min(10*time.Second<<i, 60*time.Second)
				require.GreaterOrEqual(t, d, time.Duration(0))
				require.LessOrEqual(t, d, ceiling, "retry %d", i)
				distinct[d] = true
			}
			require.Greater(t, len(distinct), 4, "jitter spreads the delays")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.rt.RegisterFunction("f", func(context.Context, json.RawMessage) (json.RawMessage, error) {
				return nil, &runtime.TaskError{Name: "E", Cause: "x"}
			})
			arn := b.machine(t, "m", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","Retry":[`+tc.retry+`],"End":true}}}`)
			ex := b.run(t, arn, "x", `{}`)
			require.Equal(t, runtime.StatusFailed, ex.Status)
			tc.check(t, b.clock.Sleeps())
		})
	}
}

func TestStatesALLScope(t *testing.T) {
	t.Parallel()
	big := `"` + strings.Repeat("x", runtime.MaxPayloadBytes) + `"`
	tests := []struct {
		name       string
		fn         runtime.Function
		timeout    string
		wantCaught bool
		wantError  string
	}{
		{"task error", func(context.Context, json.RawMessage) (json.RawMessage, error) {
			return nil, &runtime.TaskError{Name: "Custom", Cause: "c"}
		}, "", true, "Custom"},
		{"plain Go error is States.TaskFailed", func(context.Context, json.RawMessage) (json.RawMessage, error) {
			return nil, context.DeadlineExceeded
		}, "", true, "States.TaskFailed"},
		{"timeout", nil, `,"TimeoutSeconds":5`, true, "States.Timeout"},
		{"data limit is not caught by States.ALL", func(context.Context, json.RawMessage) (json.RawMessage, error) {
			return json.RawMessage(big), nil
		}, "", false, "States.DataLimitExceeded"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			fn := tc.fn
			if fn == nil {
				fn = func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
					_ = b.clock.Sleep(ctx, time.Minute)
					return json.RawMessage(`"late"`), nil
				}
			}
			b.rt.RegisterFunction("f", fn)
			arn := b.machine(t, "m", `{"StartAt":"T","States":{
				"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f"`+tc.timeout+`,
					"Catch":[{"ErrorEquals":["States.ALL"],"Next":"H"}],"End":true},
				"H":{"Type":"Pass","End":true}}}`)
			ex := b.run(t, arn, "x", `{}`)
			if tc.wantCaught {
				require.Equal(t, runtime.StatusSucceeded, ex.Status)
				var out map[string]string
				require.NoError(t, json.Unmarshal(ex.Output, &out))
				require.Equal(t, tc.wantError, out["Error"])
			} else {
				require.Equal(t, runtime.StatusFailed, ex.Status)
				require.Equal(t, tc.wantError, ex.Error)
			}
		})
	}
}

func TestStatesRuntimeIsNotCaught(t *testing.T) {
	t.Parallel()
	b := setup(t)
	arn := b.machine(t, "m", `{"StartAt":"T","States":{
		"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","InputPath":"$.missing",
			"Catch":[{"ErrorEquals":["States.Runtime"],"Next":"H"},{"ErrorEquals":["States.ALL"],"Next":"H"}],"End":true},
		"H":{"Type":"Pass","End":true}}}`)
	ex := b.run(t, arn, "x", `{}`)
	require.Equal(t, runtime.StatusFailed, ex.Status)
	require.Equal(t, "States.Runtime", ex.Error)
}

func TestLambdaInvokeHistoryAndWrapper(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.rt.RegisterFunction("step", func(_ context.Context, p json.RawMessage) (json.RawMessage, error) {
		var in map[string]any
		require.NoError(t, json.Unmarshal(p, &in))
		return json.Marshal(map[string]any{"seen": in["executionId"]})
	})
	arn := b.machine(t, "m", `{"StartAt":"Step","States":{"Step":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
		"Parameters":{"FunctionName":"arn:aws:lambda:us-east-1:123456789012:function:step:live","Payload":{"executionId.$":"$.executionId"}},
		"ResultSelector":{"seen.$":"$.Payload.seen","code.$":"$.StatusCode"},"End":true}}}`)
	ex := b.run(t, arn, "x", `{"executionId":"e-1"}`)
	require.Equal(t, runtime.StatusSucceeded, ex.Status)
	require.JSONEq(t, `{"seen":"e-1","code":200}`, string(ex.Output))
	require.Equal(t, []string{"ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSucceeded", "TaskStateExited", "ExecutionSucceeded"},
		eventTypes(t, b.rt, ex.ExecutionArn))
}

func TestLambdaArnHistoryAndFunctionError(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.rt.RegisterFunction("f", func(context.Context, json.RawMessage) (json.RawMessage, error) {
		return nil, &runtime.TaskError{Name: "Api.Http5xx", Cause: "upstream 503"}
	})
	arn := b.machine(t, "m", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","End":true}}}`)
	ex := b.run(t, arn, "x", `{}`)
	require.Equal(t, runtime.StatusFailed, ex.Status)
	require.Equal(t, "Api.Http5xx", ex.Error)
	require.Equal(t, "upstream 503", ex.Cause)
	require.Equal(t, []string{"ExecutionStarted", "TaskStateEntered", "LambdaFunctionScheduled", "LambdaFunctionStarted", "LambdaFunctionFailed", "ExecutionFailed"},
		eventTypes(t, b.rt, ex.ExecutionArn))
}

func TestUnknownResourceFailsClearly(t *testing.T) {
	t.Parallel()
	b := setup(t)
	arn := b.machine(t, "m", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::dynamodb:putItem","End":true}}}`)
	ex := b.run(t, arn, "x", `{}`)
	require.Equal(t, runtime.StatusFailed, ex.Status)
	require.Equal(t, "States.TaskFailed", ex.Error)
	require.Contains(t, ex.Cause, "arn:aws:states:::dynamodb:putItem")
}

// tokenCatcher registers a function that records the task tokens it sees.
func tokenCatcher(b *bundle, name string) <-chan string {
	ch := make(chan string, 16)
	b.rt.RegisterFunction(name, sendTokens(ch))
	return ch
}

const tokenMachine = `{"StartAt":"Wait4","States":{"Wait4":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
	"Parameters":{"FunctionName":"notify","Payload":{"Token.$":"$$.Task.Token"}},%s"ResultPath":"$.approval","End":true}}}`

func TestTaskTokenSuccessAndFailure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	tokens := tokenCatcher(b, "notify")
	arn := b.machine(t, "m", strings.Replace(tokenMachine, "%s", "", 1))

	s1, err := b.rt.StartExecution(ctx, runtime.StartInput{StateMachineArn: arn, Name: "ok", Input: `{"id":1}`})
	require.NoError(t, err)
	tok := <-tokens
	require.NoError(t, b.rt.SendTaskSuccess(ctx, tok, `{"approved":true}`))
	ex, err := b.rt.Wait(ctx, s1.ExecutionArn)
	require.NoError(t, err)
	require.Equal(t, runtime.StatusSucceeded, ex.Status)
	require.JSONEq(t, `{"id":1,"approval":{"approved":true}}`, string(ex.Output))
	require.Equal(t, []string{"ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskSucceeded", "TaskStateExited", "ExecutionSucceeded"},
		eventTypes(t, b.rt, ex.ExecutionArn))
	require.Equal(t, runtime.CodeTaskDoesNotExist, runtime.ErrorCode(b.rt.SendTaskSuccess(ctx, tok, `{}`)), "a used token is gone")

	s2, err := b.rt.StartExecution(ctx, runtime.StartInput{StateMachineArn: arn, Name: "no", Input: `{}`})
	require.NoError(t, err)
	tok = <-tokens
	require.Equal(t, runtime.CodeInvalidOutput, runtime.ErrorCode(b.rt.SendTaskSuccess(ctx, tok, `{bad`)))
	require.NoError(t, b.rt.SendTaskFailure(ctx, tok, "Rejected", "said no"))
	ex, err = b.rt.Wait(ctx, s2.ExecutionArn)
	require.NoError(t, err)
	require.Equal(t, runtime.StatusFailed, ex.Status)
	require.Equal(t, "Rejected", ex.Error)
	require.Equal(t, "said no", ex.Cause)
}

func TestTaskTokenHeartbeat(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	tokens := tokenCatcher(b, "notify")
	arn := b.machine(t, "m", strings.Replace(tokenMachine, "%s", `"HeartbeatSeconds":10,`, 1))
	s, err := b.rt.StartExecution(ctx, runtime.StartInput{StateMachineArn: arn, Name: "hb", Input: `{}`})
	require.NoError(t, err)
	tok := <-tokens
	waitTimers(t, b.clock, 1)
	b.clock.Advance(8 * time.Second)
	require.NoError(t, b.rt.SendTaskHeartbeat(ctx, tok))
	waitTimers(t, b.clock, 2)        // the first timer and the one re-armed by the heartbeat
	b.clock.Advance(8 * time.Second) // 16 s after start, 8 s after the heartbeat
	d, err := b.rt.DescribeExecution(ctx, s.ExecutionArn)
	require.NoError(t, err)
	require.Equal(t, runtime.StatusRunning, d.Status, "a heartbeat keeps the task alive")
	b.clock.Advance(3 * time.Second)
	ex, err := b.rt.Wait(ctx, s.ExecutionArn)
	require.NoError(t, err)
	require.Equal(t, runtime.StatusFailed, ex.Status)
	require.Equal(t, "States.HeartbeatTimeout", ex.Error)
	require.Contains(t, eventTypes(t, b.rt, s.ExecutionArn), "TaskTimedOut")
}

// waitTimers waits until at least n fake timers are pending (the runtime
// has armed them), without asserting on timing.
func waitTimers(t *testing.T, c *runtime.FakeClock, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return c.PendingTimers() >= n }, 5*time.Second, time.Millisecond)
}

func TestStartExecutionNameIdempotency(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	tokens := tokenCatcher(b, "notify")
	arn := b.machine(t, "m", strings.Replace(tokenMachine, "%s", "", 1))
	first, err := b.rt.StartExecution(ctx, runtime.StartInput{StateMachineArn: arn, Name: "exec-1", Input: `{"a":1,"b":2}`})
	require.NoError(t, err)
	tok := <-tokens

	again, err := b.rt.StartExecution(ctx, runtime.StartInput{StateMachineArn: arn, Name: "exec-1", Input: `{"b":2, "a":1}`})
	require.NoError(t, err, "same name and input while running is the same execution")
	require.Equal(t, first.ExecutionArn, again.ExecutionArn)
	require.Equal(t, first.StartDate, again.StartDate)

	_, err = b.rt.StartExecution(ctx, runtime.StartInput{StateMachineArn: arn, Name: "exec-1", Input: `{"a":2}`})
	require.Equal(t, runtime.CodeExecutionAlreadyExists, runtime.ErrorCode(err), "different input")

	require.NoError(t, b.rt.SendTaskSuccess(ctx, tok, `{}`))
	_, err = b.rt.Wait(ctx, first.ExecutionArn)
	require.NoError(t, err)
	_, err = b.rt.StartExecution(ctx, runtime.StartInput{StateMachineArn: arn, Name: "exec-1", Input: `{"a":1,"b":2}`})
	require.Equal(t, runtime.CodeExecutionAlreadyExists, runtime.ErrorCode(err), "closed execution name")
	require.Len(t, b.rt.ListExecutions(ctx, runtime.ListExecutionsInput{StateMachineArn: arn}), 1)
}

func TestStopExecution(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	tokens := tokenCatcher(b, "notify")
	arn := b.machine(t, "m", strings.Replace(tokenMachine, "%s", "", 1))
	s, err := b.rt.StartExecution(ctx, runtime.StartInput{StateMachineArn: arn, Name: "stop-me"})
	require.NoError(t, err)
	tok := <-tokens
	_, err = b.rt.StopExecution(ctx, s.ExecutionArn, "Operator", "manual stop")
	require.NoError(t, err)
	ex, err := b.rt.DescribeExecution(ctx, s.ExecutionArn)
	require.NoError(t, err)
	require.Equal(t, runtime.StatusAborted, ex.Status)
	require.Equal(t, "Operator", ex.Error)
	require.False(t, ex.StopDate.IsZero())
	types := eventTypes(t, b.rt, s.ExecutionArn)
	require.Equal(t, "ExecutionAborted", types[len(types)-1])
	require.Equal(t, runtime.CodeTaskDoesNotExist, runtime.ErrorCode(b.rt.SendTaskSuccess(ctx, tok, `{}`)))
}

func TestExecutionTimeout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	tokens := tokenCatcher(b, "notify")
	def := strings.Replace(strings.Replace(tokenMachine, "%s", "", 1), `{"StartAt"`, `{"TimeoutSeconds":30,"StartAt"`, 1)
	arn := b.machine(t, "m", def)
	s, err := b.rt.StartExecution(ctx, runtime.StartInput{StateMachineArn: arn, Name: "slow"})
	require.NoError(t, err)
	<-tokens
	waitTimers(t, b.clock, 1)
	b.clock.Advance(31 * time.Second)
	ex, err := b.rt.Wait(ctx, s.ExecutionArn)
	require.NoError(t, err)
	require.Equal(t, runtime.StatusTimedOut, ex.Status)
	types := eventTypes(t, b.rt, s.ExecutionArn)
	require.Equal(t, "ExecutionTimedOut", types[len(types)-1])
}

func TestVersionsAndAliases(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	def := func(v string) string {
		return `{"StartAt":"P","States":{"P":{"Type":"Pass","Result":"` + v + `","End":true}}}`
	}
	created, err := b.rt.CreateStateMachine(ctx, runtime.CreateStateMachineInput{Name: "wf", Definition: def("v1"), Publish: true})
	require.NoError(t, err)
	require.Equal(t, created.StateMachineArn+":1", created.StateMachineVersionArn)
	v2, _, err := b.rt.UpdateStateMachine(ctx, runtime.UpdateStateMachineInput{StateMachineArn: created.StateMachineArn, Definition: def("v2"), Publish: true})
	require.NoError(t, err)
	require.Equal(t, created.StateMachineArn+":2", v2)

	alias, err := b.rt.CreateStateMachineAlias(ctx, runtime.CreateAliasInput{Name: "prod", Routing: []runtime.RoutingEntry{{StateMachineVersionArn: created.StateMachineVersionArn, Weight: 100}}})
	require.NoError(t, err)
	require.Equal(t, created.StateMachineArn+":prod", alias.Arn)

	ex := b.run(t, alias.Arn, "via-alias", `{}`)
	require.JSONEq(t, `"v1"`, string(ex.Output), "alias routes to version 1")
	require.Equal(t, created.StateMachineVersionArn, ex.StateMachineVersionArn)
	require.Equal(t, alias.Arn, ex.StateMachineAliasArn)
	ex = b.run(t, created.StateMachineArn, "latest", `{}`)
	require.JSONEq(t, `"v2"`, string(ex.Output), "the machine ARN runs the latest definition")

	_, err = b.rt.UpdateStateMachineAlias(ctx, alias.Arn, "", []runtime.RoutingEntry{{StateMachineVersionArn: created.StateMachineVersionArn, Weight: 70}, {StateMachineVersionArn: v2, Weight: 30}})
	require.NoError(t, err)
	counts := map[string]int{}
	for i := range 200 {
		ex := b.run(t, alias.Arn, "canary-"+string(rune('a'+i/26))+string(rune('a'+i%26)), `{}`)
		counts[string(ex.Output)]++
	}
	require.InDelta(t, 140, counts[`"v1"`], 30, "about 70%% to v1: %v", counts)
	require.InDelta(t, 60, counts[`"v2"`], 30, "about 30%% to v2: %v", counts)

	require.Equal(t, runtime.CodeConflict, runtime.ErrorCode(b.rt.DeleteStateMachine(ctx, v2)), "a routed version cannot be deleted")
	_, err = b.rt.CreateStateMachineAlias(ctx, runtime.CreateAliasInput{Name: "bad", Routing: []runtime.RoutingEntry{{StateMachineVersionArn: v2, Weight: 50}}})
	require.Equal(t, runtime.CodeValidation, runtime.ErrorCode(err), "weights must sum to 100")
}

func TestCreateStateMachineErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	_, err := b.rt.CreateStateMachine(ctx, runtime.CreateStateMachineInput{Name: "bad", Definition: `{"StartAt":"X","States":{"A":{"Type":"Succeed"}}}`})
	require.Equal(t, runtime.CodeInvalidDefinition, runtime.ErrorCode(err))
	require.Contains(t, err.Error(), `StartAt "X"`)
	def := `{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}`
	b.machine(t, "dup", def)
	_, err = b.rt.CreateStateMachine(ctx, runtime.CreateStateMachineInput{Name: "dup", Definition: def})
	require.NoError(t, err, "same name and definition is idempotent")
	_, err = b.rt.CreateStateMachine(ctx, runtime.CreateStateMachineInput{Name: "dup", Definition: `{"StartAt":"B","States":{"B":{"Type":"Succeed"}}}`})
	require.Equal(t, runtime.CodeStateMachineAlreadyExists, runtime.ErrorCode(err))
	_, err = b.rt.CreateStateMachine(ctx, runtime.CreateStateMachineInput{Name: "vars", Definition: `{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"y.$":"$x"},"End":true}}}`})
	require.Equal(t, runtime.CodeInvalidDefinition, runtime.ErrorCode(err), "reading a variable nothing assigns is rejected")
	require.Contains(t, err.Error(), "$x")
	_, err = b.rt.StartExecution(ctx, runtime.StartInput{StateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:nope"})
	require.Equal(t, runtime.CodeStateMachineDoesNotExist, runtime.ErrorCode(err))
	_, err = b.rt.DescribeExecution(ctx, "arn:aws:states:us-east-1:123456789012:execution:dup:nope")
	require.Equal(t, runtime.CodeExecutionDoesNotExist, runtime.ErrorCode(err))
}

func TestStatusChangeHook(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []runtime.StatusChangeEvent
	b := setup(t, func(o *runtime.Options) {
		o.OnStatusChange = func(e runtime.StatusChangeEvent) {
			mu.Lock()
			got = append(got, e)
			mu.Unlock()
		}
	})
	arn := b.machine(t, "m", `{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Nope","Cause":"because"}}}`)
	ex := b.run(t, arn, "x", `{"k":1}`)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, got, 2)
	require.Equal(t, "RUNNING", got[0].Detail.Status)
	last := got[1]
	require.Equal(t, "Step Functions Execution Status Change", last.DetailType)
	require.Equal(t, "aws.states", last.Source)
	require.Equal(t, "FAILED", last.Detail.Status)
	require.Equal(t, ex.ExecutionArn, last.Detail.ExecutionArn)
	require.Equal(t, "Nope", *last.Detail.Error)
	require.NotNil(t, last.Detail.StopDate)
}

func TestResumeAfterRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := runtime.NewFakeClock(caseStart)
	j := runtime.NewMemoryJournal()
	def := `{"StartAt":"Prep","States":{
		"Prep":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:prep","ResultPath":"$.prep","Next":"Approve"},
		"Approve":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
			"Parameters":{"FunctionName":"notify","Payload":{"Token.$":"$$.Task.Token"}},"ResultPath":"$.approval","Next":"Done"},
		"Done":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:done","End":true}}}`
	var prepCalls, notifyCalls, doneCalls atomic.Int32
	tokens := make(chan string, 4)
	register := func(rt *runtime.Runtime) {
		rt.RegisterFunction("prep", func(context.Context, json.RawMessage) (json.RawMessage, error) {
			prepCalls.Add(1)
			return json.RawMessage(`"prepared"`), nil
		})
		rt.RegisterFunction("notify", func(_ context.Context, p json.RawMessage) (json.RawMessage, error) {
			notifyCalls.Add(1)
			var in struct{ Token string }
			_ = json.Unmarshal(p, &in)
			tokens <- in.Token
			return json.RawMessage(`{}`), nil
		})
		rt.RegisterFunction("done", func(_ context.Context, p json.RawMessage) (json.RawMessage, error) {
			doneCalls.Add(1)
			return p, nil
		})
	}
	rt1, err := runtime.New(ctx, runtime.Options{Clock: clock, Journal: j})
	require.NoError(t, err)
	register(rt1)
	created, err := rt1.CreateStateMachine(ctx, runtime.CreateStateMachineInput{Name: "durable", Definition: def})
	require.NoError(t, err)
	s, err := rt1.StartExecution(ctx, runtime.StartInput{StateMachineArn: created.StateMachineArn, Name: "e1", Input: `{"id":7}`})
	require.NoError(t, err)
	tok := <-tokens
	rt1.Close() // the process "dies" while waiting for the token

	rt2, err := runtime.New(ctx, runtime.Options{Clock: clock, Journal: j})
	require.NoError(t, err)
	t.Cleanup(rt2.Close)
	register(rt2)
	d, err := rt2.DescribeExecution(ctx, s.ExecutionArn)
	require.NoError(t, err)
	require.Equal(t, runtime.StatusRunning, d.Status)
	require.NoError(t, rt2.Resume(ctx))
	require.Eventually(t, func() bool { return rt2.SendTaskSuccess(ctx, tok, `{"ok":true}`) == nil }, 5*time.Second, time.Millisecond,
		"the resumed execution waits on the same token")
	ex, err := rt2.Wait(ctx, s.ExecutionArn)
	require.NoError(t, err)
	require.Equal(t, runtime.StatusSucceeded, ex.Status)
	require.JSONEq(t, `{"id":7,"prep":"prepared","approval":{"ok":true}}`, string(ex.Output))
	require.EqualValues(t, 1, prepCalls.Load(), "a completed task is not run again")
	require.EqualValues(t, 1, notifyCalls.Load(), "a dispatched token task is not dispatched again")
	require.EqualValues(t, 1, doneCalls.Load())
	types := eventTypes(t, rt2, s.ExecutionArn)
	require.Equal(t, 1, count(types, "ExecutionStarted"))
	require.Equal(t, 3, count(types, "TaskStateEntered"))
	require.Equal(t, "ExecutionSucceeded", types[len(types)-1])
	// What the resumed run did is journaled too: a third runtime reads the
	// same history.
	rt3, err := runtime.New(ctx, runtime.Options{Clock: clock, Journal: j})
	require.NoError(t, err)
	t.Cleanup(rt3.Close)
	require.Equal(t, types, eventTypes(t, rt3, s.ExecutionArn))
}

// sendTokens is a function that sends the Token field of its payload to ch
// and returns {}.
func sendTokens(ch chan<- string) runtime.Function {
	return func(_ context.Context, p json.RawMessage) (json.RawMessage, error) {
		var in struct{ Token string }
		if err := json.Unmarshal(p, &in); err != nil {
			return nil, err
		}
		ch <- in.Token
		return json.RawMessage(`{}`), nil
	}
}

func count(s []string, v string) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

func TestHistoryJSONShape(t *testing.T) {
	t.Parallel()
	b := setup(t)
	arn := b.machine(t, "m", `{"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"x":1},"End":true}}}`)
	ex := b.run(t, arn, "x", `{"in":true}`)
	hist, err := b.rt.GetExecutionHistory(context.Background(), ex.ExecutionArn)
	require.NoError(t, err)
	require.Len(t, hist, 4)
	raw, err := json.Marshal(hist)
	require.NoError(t, err)
	var events []map[string]any
	require.NoError(t, json.Unmarshal(raw, &events))
	require.Equal(t, "PassStateEntered", events[1]["type"])
	entered := events[1]["stateEnteredEventDetails"].(map[string]any)
	require.Equal(t, "P", entered["name"])
	require.JSONEq(t, `{"in":true}`, entered["input"].(string))
	exited := events[2]["stateExitedEventDetails"].(map[string]any)
	require.JSONEq(t, `{"x":1}`, exited["output"].(string))
	require.EqualValues(t, 2, events[2]["previousEventId"])
	require.JSONEq(t, `{"x":1}`, events[3]["executionSucceededEventDetails"].(map[string]any)["output"].(string))
}

func TestClosedExecutionsEvictedFromMemory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, func(o *runtime.Options) { o.MaxClosedExecutions = 2 })
	arn := b.machine(t, "m", `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`)
	var first *runtime.Execution
	for i := range 4 {
		ex := b.run(t, arn, "e"+string(rune('0'+i)), `{"i":1}`)
		if i == 0 {
			first = ex
		}
	}
	require.Len(t, b.rt.ListExecutions(ctx, runtime.ListExecutionsInput{}), 2, "only the newest closed executions stay in memory")
	old, err := b.rt.DescribeExecution(ctx, first.ExecutionArn)
	require.NoError(t, err, "an evicted execution is still described from the journal")
	require.Equal(t, runtime.StatusSucceeded, old.Status)
	require.Equal(t, []string{"ExecutionStarted", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"}, eventTypes(t, b.rt, first.ExecutionArn))
	_, err = b.rt.StartExecution(ctx, runtime.StartInput{StateMachineArn: arn, Name: "e0", Input: `{"i":1}`})
	require.Equal(t, runtime.CodeExecutionAlreadyExists, runtime.ErrorCode(err), "an evicted name stays taken")
}

func TestResumeInsideParallel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := runtime.NewFakeClock(caseStart)
	j := runtime.NewMemoryJournal()
	def := `{"StartAt":"Both","States":{"Both":{"Type":"Parallel","End":true,"Branches":[
		{"StartAt":"Quick","States":{"Quick":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:quick","End":true}}},
		{"StartAt":"Ask","States":{"Ask":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
			"Parameters":{"FunctionName":"notify","Payload":{"Token.$":"$$.Task.Token"}},"End":true}}}]}}}`
	var quickCalls atomic.Int32
	tokens := make(chan string, 4)
	register := func(rt *runtime.Runtime) {
		rt.RegisterFunction("quick", func(context.Context, json.RawMessage) (json.RawMessage, error) {
			quickCalls.Add(1)
			return json.RawMessage(`"quick"`), nil
		})
		rt.RegisterFunction("notify", sendTokens(tokens))
	}
	rt1, err := runtime.New(ctx, runtime.Options{Clock: clock, Journal: j})
	require.NoError(t, err)
	register(rt1)
	created, err := rt1.CreateStateMachine(ctx, runtime.CreateStateMachineInput{Name: "par", Definition: def})
	require.NoError(t, err)
	s, err := rt1.StartExecution(ctx, runtime.StartInput{StateMachineArn: created.StateMachineArn, Name: "p1"})
	require.NoError(t, err)
	tok := <-tokens
	require.Eventually(t, func() bool { return quickCalls.Load() == 1 }, 5*time.Second, time.Millisecond)
	require.Eventually(t, func() bool {
		evs, _ := j.LoadEvents(ctx, s.ExecutionArn)
		for _, e := range evs {
			if e.Type == runtime.EvLambdaSucceeded {
				return true
			}
		}
		return false
	}, 5*time.Second, time.Millisecond, "the quick branch's result is journaled")
	rt1.Close()

	rt2, err := runtime.New(ctx, runtime.Options{Clock: clock, Journal: j})
	require.NoError(t, err)
	t.Cleanup(rt2.Close)
	register(rt2)
	require.NoError(t, rt2.Resume(ctx))
	require.Eventually(t, func() bool { return rt2.SendTaskSuccess(ctx, tok, `"answer"`) == nil }, 5*time.Second, time.Millisecond)
	ex, err := rt2.Wait(ctx, s.ExecutionArn)
	require.NoError(t, err)
	require.Equal(t, runtime.StatusSucceeded, ex.Status)
	require.JSONEq(t, `["quick","answer"]`, string(ex.Output))
	require.EqualValues(t, 1, quickCalls.Load(), "the finished branch is not re-run")
	types := eventTypes(t, rt2, s.ExecutionArn)
	require.Equal(t, 1, count(types, "ParallelStateStarted"))
	require.Equal(t, 1, count(types, "ParallelStateSucceeded"))
}
