// Package enginetest is the conformance suite of turbocat.Engine: one set of
// tests, written once, that every engine implementation runs — the local
// runtime in process, the sfn adapter through the Step Functions wire
// protocol, and the sfn adapter against LocalStack or AWS.
//
// An implementation's test calls Run with a constructor of Harness:
//
//	func TestEngineConformance(t *testing.T) {
//		enginetest.Run(t, func(t *testing.T) *enginetest.Harness { ... })
//	}
package enginetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/turbocat"
)

// Func is an in-process task implementation: it receives the Task's payload
// and returns its result. An error fails the Task.
type Func func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error)

// Harness is one engine under test.
type Harness struct {
	// Engine is the engine under test.
	Engine turbocat.Engine
	// Register makes fn reachable from a Task whose Resource is
	// arn:aws:states:::lambda:invoke with Parameters.FunctionName name.
	// Nil when the engine cannot call in-process functions (LocalStack,
	// AWS): the tests that need one are skipped.
	Register func(name string, fn Func)
	// Timeout bounds each wait for an execution to reach a status
	// (default 20s).
	Timeout time.Duration
	// KnownIssues maps a subtest name (e.g. "StopUnknown") to the reason
	// the engine is known to fail it; that subtest is skipped with the
	// reason. Remove an entry when the engine is fixed.
	KnownIssues map[string]string
}

// Run runs the conformance suite. newHarness is called once per subtest;
// it may return a fresh engine or share one (names are unique per test).
func Run(t *testing.T, newHarness func(t *testing.T) *Harness) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s *suite)
	}{
		{"PublishCreatesVersions", testPublishCreatesVersions},
		{"PublishInvalid", testPublishInvalid},
		{"TaskInvokesFunction", testTaskInvokesFunction},
		{"StartIdempotent", testStartIdempotent},
		{"DescribeRunningThenSucceeded", testDescribeRunningThenSucceeded},
		{"DescribeFailed", testDescribeFailed},
		{"TaskErrorFailsExecution", testTaskErrorFailsExecution},
		{"StopAborts", testStopAborts},
		{"UnknownRefs", testUnknownRefs},
		{"StopUnknown", testStopUnknown},
		{"StartInvalidInput", testStartInvalidInput},
		{"RestartFinishedSameInput", testRestartFinished},
		{"ChoiceRoutes", testChoice},
		{"MapMaxConcurrency", testMapMaxConcurrency},
		{"WaitUntilTimestamp", testWaitTimestamp},
		{"TaskTokenApprove", testTaskTokenApprove},
		{"TaskTokenReject", testTaskTokenReject},
		{"TaskTokenTimeout", testTaskTokenTimeout},
		{"SyncChildExecution", testSyncChild},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			if why, ok := h.KnownIssues[tc.name]; ok {
				t.Skip("known issue of this engine: " + why)
			}
			if h.Timeout == 0 {
				h.Timeout = 20 * time.Second
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*h.Timeout)
			t.Cleanup(cancel)
			tc.fn(t, &suite{h: h, ctx: ctx, id: uniqueID(t)})
		})
	}
}

type suite struct {
	h   *Harness
	ctx context.Context
	id  string
}

// name is a machine, execution or function name unique to this test.
func (s *suite) name(kind string) string { return "tc-" + kind + "-" + s.id }

func (s *suite) needFunctions(t *testing.T) {
	t.Helper()
	if s.h.Register == nil {
		t.Skip("this engine cannot call in-process functions (Harness.Register is nil); the Task tests need them")
	}
}

func uniqueID(t *testing.T) string {
	t.Helper()
	b := make([]byte, 5)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// Definitions used by the suite. Only Pass, Wait, Fail and lambda:invoke
// Tasks, which every engine supports.
func failDef(errName, cause string) []byte {
	return fmt.Appendf(nil, `{"StartAt":"F","States":{"F":{"Type":"Fail","Error":%q,"Cause":%q}}}`, errName, cause)
}

func waitDef(seconds int) []byte {
	return fmt.Appendf(nil, `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":%d,"End":true}}}`, seconds)
}

func taskDef(fn string) []byte {
	return fmt.Appendf(nil, `{"StartAt":"Call","States":{"Call":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",`+
		`"Parameters":{"FunctionName":%q,"Payload.$":"$"},"OutputPath":"$.Payload","End":true}}}`, fn)
}

// await polls DescribeExecution until the execution has status.
func (s *suite) await(t *testing.T, ref, status string) *turbocat.EngineExecution {
	t.Helper()
	deadline := time.Now().Add(s.h.Timeout)
	var last *turbocat.EngineExecution
	for {
		x, err := s.h.Engine.DescribeExecution(s.ctx, ref)
		require.NoError(t, err, "describe %s", ref)
		last = x
		if x.Status == status {
			return x
		}
		if x.Status != turbocat.EngineRunning || time.Now().After(deadline) {
			require.Failf(t, "execution did not reach the expected status", "want %s, got %s (error %q, cause %q)", status, x.Status, x.Error, x.Cause)
			return last
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func requireCode(t *testing.T, want turbocat.ErrorCode, err error) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, want, turbocat.ErrorCodeOf(err), "error: %v", err)
	e := turbocat.AsError(err)
	require.NotEmpty(t, e.Message, "a *turbocat.Error needs a message the user can act on")
}

// machineArnOf strips the version or alias qualifier from a version ARN.
func machineArnOf(t *testing.T, versionRef string) string {
	t.Helper()
	i := strings.LastIndex(versionRef, ":")
	require.Positive(t, i, "version reference %q is not an ARN", versionRef)
	return versionRef[:i]
}

func testPublishCreatesVersions(t *testing.T, s *suite) {
	e := s.h.Engine
	name := s.name("m")
	v1, err := e.PublishStateMachine(s.ctx, name, failDef("Turbocat.V", "one"))
	require.NoError(t, err)
	require.Contains(t, v1, ":stateMachine:"+name+":", "a version reference qualifies the machine ARN")

	v2, err := e.PublishStateMachine(s.ctx, name, failDef("Turbocat.V", "two"))
	require.NoError(t, err)
	require.NotEqual(t, v1, v2, "a new definition publishes a new version")
	require.Equal(t, machineArnOf(t, v1), machineArnOf(t, v2), "versions of one machine")

	again, err := e.PublishStateMachine(s.ctx, name, failDef("Turbocat.V", "two"))
	require.NoError(t, err)
	require.Equal(t, v2, again, "publishing an unchanged definition returns the latest version")

	// Each version keeps its own definition.
	for _, c := range []struct{ ref, cause string }{{v1, "one"}, {v2, "two"}} {
		ref, err := e.StartExecution(s.ctx, c.ref, s.name("x-"+c.cause), []byte(`{}`))
		require.NoError(t, err)
		x := s.await(t, ref, turbocat.EngineFailed)
		require.Equal(t, "Turbocat.V", x.Error)
		require.Equal(t, c.cause, x.Cause, "execution of %s runs that version's definition", c.ref)
	}
}

func testPublishInvalid(t *testing.T, s *suite) {
	e := s.h.Engine
	_, err := e.PublishStateMachine(s.ctx, s.name("bad"), []byte(`{"StartAt":"Nowhere","States":{"A":{"Type":"Pass","End":true}}}`))
	requireCode(t, turbocat.EVALIDATION, err)

	_, err = e.PublishStateMachine(s.ctx, s.name("bad2"), []byte(`not json`))
	requireCode(t, turbocat.EVALIDATION, err)

	_, err = e.PublishStateMachine(s.ctx, "bad name "+s.id, waitDef(1))
	requireCode(t, turbocat.EVALIDATION, err)
}

func testTaskInvokesFunction(t *testing.T, s *suite) {
	s.needFunctions(t)
	fn := s.name("fn")
	got := make(chan json.RawMessage, 1)
	s.h.Register(fn, func(_ context.Context, payload json.RawMessage) (json.RawMessage, error) {
		got <- payload
		return json.RawMessage(`{"ok":true}`), nil
	})
	v, err := s.h.Engine.PublishStateMachine(s.ctx, s.name("m"), taskDef(fn))
	require.NoError(t, err)
	ref, err := s.h.Engine.StartExecution(s.ctx, v, s.name("x"), []byte(`{"order":42,"items":["a","b"]}`))
	require.NoError(t, err)
	x := s.await(t, ref, turbocat.EngineSucceeded)
	require.Equal(t, ref, x.Ref)
	require.NotNil(t, x.StoppedAt)
	select {
	case p := <-got:
		require.JSONEq(t, `{"order":42,"items":["a","b"]}`, string(p), "the Task passes the execution input to the function")
	default:
		require.Fail(t, "the registered function was not called")
	}
}

func testStartIdempotent(t *testing.T, s *suite) {
	e := s.h.Engine
	v, err := e.PublishStateMachine(s.ctx, s.name("m"), waitDef(3600))
	require.NoError(t, err)
	name := s.name("x")
	ref1, err := e.StartExecution(s.ctx, v, name, []byte(`{"a":1,"b":2}`))
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.StopExecution(context.Background(), ref1, "", "") })

	ref2, err := e.StartExecution(s.ctx, v, name, []byte(`{"a":1,"b":2}`))
	require.NoError(t, err, "the same name and input again is the same execution")
	require.Equal(t, ref1, ref2)

	_, err = e.StartExecution(s.ctx, v, name, []byte(`{"a":1,"b":3}`))
	requireCode(t, turbocat.ECONFLICT, err)

	x, err := e.DescribeExecution(s.ctx, ref1)
	require.NoError(t, err)
	require.Equal(t, turbocat.EngineRunning, x.Status, "a conflicting start leaves the execution running")
}

func testDescribeRunningThenSucceeded(t *testing.T, s *suite) {
	s.needFunctions(t)
	fn := s.name("fn")
	release := make(chan struct{})
	s.h.Register(fn, func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
		select {
		case <-release:
			return json.RawMessage(`{"done":true}`), nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
	v, err := s.h.Engine.PublishStateMachine(s.ctx, s.name("m"), taskDef(fn))
	require.NoError(t, err)
	name := s.name("x")
	ref, err := s.h.Engine.StartExecution(s.ctx, v, name, nil)
	require.NoError(t, err)

	x, err := s.h.Engine.DescribeExecution(s.ctx, ref)
	require.NoError(t, err)
	require.Equal(t, turbocat.EngineRunning, x.Status)
	require.Equal(t, ref, x.Ref)
	require.Equal(t, name, x.Name)
	require.False(t, x.StartedAt.IsZero(), "a started execution has a start time")
	require.Nil(t, x.StoppedAt, "a running execution has no stop time")

	close(release)
	x = s.await(t, ref, turbocat.EngineSucceeded)
	require.NotNil(t, x.StoppedAt)
	require.False(t, x.StoppedAt.Before(x.StartedAt), "stopped at or after it started")
	require.Empty(t, x.Error)
}

func testDescribeFailed(t *testing.T, s *suite) {
	v, err := s.h.Engine.PublishStateMachine(s.ctx, s.name("m"), failDef("Turbocat.StepFailed", "agent \"fetch\" failed: timeout"))
	require.NoError(t, err)
	ref, err := s.h.Engine.StartExecution(s.ctx, v, s.name("x"), []byte(`{}`))
	require.NoError(t, err)
	x := s.await(t, ref, turbocat.EngineFailed)
	require.Equal(t, "Turbocat.StepFailed", x.Error)
	require.Equal(t, "agent \"fetch\" failed: timeout", x.Cause)
	require.NotNil(t, x.StoppedAt)
}

func testTaskErrorFailsExecution(t *testing.T, s *suite) {
	s.needFunctions(t)
	fn := s.name("fn")
	s.h.Register(fn, func(context.Context, json.RawMessage) (json.RawMessage, error) {
		return nil, errors.New("disk full")
	})
	v, err := s.h.Engine.PublishStateMachine(s.ctx, s.name("m"), taskDef(fn))
	require.NoError(t, err)
	ref, err := s.h.Engine.StartExecution(s.ctx, v, s.name("x"), []byte(`{}`))
	require.NoError(t, err)
	x := s.await(t, ref, turbocat.EngineFailed)
	require.NotEmpty(t, x.Error, "a failed execution names its error")
	require.Contains(t, x.Cause, "disk full", "the function's error reaches the cause")
}

func testStopAborts(t *testing.T, s *suite) {
	e := s.h.Engine
	v, err := e.PublishStateMachine(s.ctx, s.name("m"), waitDef(3600))
	require.NoError(t, err)
	ref, err := e.StartExecution(s.ctx, v, s.name("x"), []byte(`{}`))
	require.NoError(t, err)
	x, err := e.DescribeExecution(s.ctx, ref)
	require.NoError(t, err)
	require.Equal(t, turbocat.EngineRunning, x.Status)

	require.NoError(t, e.StopExecution(s.ctx, ref, "Turbocat.Cancelled", "cancelled by the user"))
	x = s.await(t, ref, turbocat.EngineAborted)
	require.NotNil(t, x.StoppedAt)
	require.Equal(t, "Turbocat.Cancelled", x.Error)
	require.Equal(t, "cancelled by the user", x.Cause)

	require.NoError(t, e.StopExecution(s.ctx, ref, "Turbocat.Again", "again"), "stopping a finished execution is not an error")
	x, err = e.DescribeExecution(s.ctx, ref)
	require.NoError(t, err)
	require.Equal(t, turbocat.EngineAborted, x.Status)
	require.Equal(t, "Turbocat.Cancelled", x.Error, "a finished execution is left as it was")
}

func testUnknownRefs(t *testing.T, s *suite) {
	e := s.h.Engine
	v, err := e.PublishStateMachine(s.ctx, s.name("m"), failDef("A", "b"))
	require.NoError(t, err)
	machine := machineArnOf(t, v)
	prefix := machine[:strings.LastIndex(machine, ":stateMachine:")]

	_, err = e.DescribeExecution(s.ctx, prefix+":execution:"+s.name("m")+":missing")
	requireCode(t, turbocat.ENOTFOUND, err)

	_, err = e.StartExecution(s.ctx, prefix+":stateMachine:"+s.name("missing"), s.name("x"), []byte(`{}`))
	requireCode(t, turbocat.ENOTFOUND, err)

	_, err = e.StartExecution(s.ctx, machine+":99", s.name("x"), []byte(`{}`))
	requireCode(t, turbocat.ENOTFOUND, err)
}

func testStopUnknown(t *testing.T, s *suite) {
	e := s.h.Engine
	v, err := e.PublishStateMachine(s.ctx, s.name("m"), failDef("A", "b"))
	require.NoError(t, err)
	machine := machineArnOf(t, v)
	prefix := machine[:strings.LastIndex(machine, ":stateMachine:")]
	err = e.StopExecution(s.ctx, prefix+":execution:"+s.name("m")+":missing", "", "")
	requireCode(t, turbocat.ENOTFOUND, err)
}

func testStartInvalidInput(t *testing.T, s *suite) {
	e := s.h.Engine
	v, err := e.PublishStateMachine(s.ctx, s.name("m"), failDef("A", "b"))
	require.NoError(t, err)
	_, err = e.StartExecution(s.ctx, v, s.name("x"), []byte(`{"order":`))
	requireCode(t, turbocat.EVALIDATION, err)
}

// testRestartFinished: a start retried after the execution finished (a
// crash between start and recording it) gets the same execution back.
func testRestartFinished(t *testing.T, s *suite) {
	e := s.h.Engine
	v, err := e.PublishStateMachine(s.ctx, s.name("m"), failDef("Turbocat.Done", "finished"))
	require.NoError(t, err)
	name := s.name("x")
	ref, err := e.StartExecution(s.ctx, v, name, []byte(`{"k":"v"}`))
	require.NoError(t, err)
	s.await(t, ref, turbocat.EngineFailed)

	again, err := e.StartExecution(s.ctx, v, name, []byte(`{"k":"v"}`))
	require.NoError(t, err)
	require.Equal(t, ref, again)

	_, err = e.StartExecution(s.ctx, v, name, []byte(`{"k":"other"}`))
	requireCode(t, turbocat.ECONFLICT, err)
}

// The control-flow cases: what compiled workflows use for conditions
// (Choice), for-each (Map), waits (Wait), approvals (task tokens) and
// sub-workflows (states:startExecution.sync:2).

func testChoice(t *testing.T, s *suite) {
	def := []byte(`{"StartAt":"C","States":{
		"C":{"Type":"Choice","Choices":[{"Variable":"$.check.run","BooleanEquals":true,"Next":"Yes"}],"Default":"No"},
		"Yes":{"Type":"Fail","Error":"Took.Yes","Cause":"ran"},
		"No":{"Type":"Fail","Error":"Took.No","Cause":"skipped"}}}`)
	v, err := s.h.Engine.PublishStateMachine(s.ctx, s.name("m"), def)
	require.NoError(t, err)
	for _, c := range []struct{ in, want string }{{`{"check":{"run":true}}`, "Took.Yes"}, {`{"check":{"run":false}}`, "Took.No"}} {
		ref, err := s.h.Engine.StartExecution(s.ctx, v, s.name("x"+c.want[5:]), []byte(c.in))
		require.NoError(t, err)
		x := s.await(t, ref, turbocat.EngineFailed)
		require.Equal(t, c.want, x.Error, "input %s", c.in)
	}
}

func testMapMaxConcurrency(t *testing.T, s *suite) {
	s.needFunctions(t)
	fn := s.name("fn")
	var mu sync.Mutex
	running, peak, calls := 0, 0, map[float64]bool{}
	s.h.Register(fn, func(ctx context.Context, p json.RawMessage) (json.RawMessage, error) {
		var in struct{ Index float64 }
		_ = json.Unmarshal(p, &in)
		mu.Lock()
		running++
		peak = max(peak, running)
		calls[in.Index] = true
		mu.Unlock()
		time.Sleep(60 * time.Millisecond)
		mu.Lock()
		running--
		mu.Unlock()
		return json.RawMessage(`{}`), nil
	})
	def := fmt.Appendf(nil, `{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items","MaxConcurrency":3,
		"ItemSelector":{"index.$":"$$.Map.Item.Value"},
		"ItemProcessor":{"ProcessorConfig":{"Mode":"INLINE"},"StartAt":"Item","States":{"Item":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
			"Parameters":{"FunctionName":%q,"Payload":{"index.$":"$.index"}},"ResultPath":null,"End":true}}},
		"ResultSelector":{"count.$":"States.ArrayLength($)"},"ResultPath":"$.done","End":true}}}`, fn)
	v, err := s.h.Engine.PublishStateMachine(s.ctx, s.name("m"), def)
	require.NoError(t, err)
	ref, err := s.h.Engine.StartExecution(s.ctx, v, s.name("x"), []byte(`{"items":[0,1,2,3,4,5,6,7,8,9]}`))
	require.NoError(t, err)
	s.await(t, ref, turbocat.EngineSucceeded)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, calls, 10, "every item ran once")
	require.LessOrEqual(t, peak, 3, "MaxConcurrency bounds the items in flight")
	require.GreaterOrEqual(t, peak, 2, "items run concurrently")
}

func testWaitTimestamp(t *testing.T, s *suite) {
	def := []byte(`{"StartAt":"W","States":{"W":{"Type":"Wait","TimestampPath":"$.wait.until","Next":"Done"},
		"Done":{"Type":"Fail","Error":"Turbocat.Woke","Cause":"after the wait"}}}`)
	v, err := s.h.Engine.PublishStateMachine(s.ctx, s.name("m"), def)
	require.NoError(t, err)
	until := time.Now().Add(2 * time.Second).UTC().Truncate(time.Second)
	ref, err := s.h.Engine.StartExecution(s.ctx, v, s.name("x"), fmt.Appendf(nil, `{"wait":{"until":%q}}`, until.Format(time.RFC3339)))
	require.NoError(t, err)
	x, err := s.h.Engine.DescribeExecution(s.ctx, ref)
	require.NoError(t, err)
	require.Equal(t, turbocat.EngineRunning, x.Status, "waiting")
	x = s.await(t, ref, turbocat.EngineFailed)
	require.Equal(t, "Turbocat.Woke", x.Error)
	require.False(t, x.StoppedAt.Before(until.Add(-time.Second)), "the Wait lasted until its timestamp (stopped %s, until %s)", x.StoppedAt, until)
}

// tokenMachine publishes a machine whose Task waits for a task token the
// registered function receives, then fails with Turbocat.Approved so the
// test can tell it went on; timeout bounds the wait (0: none).
func (s *suite) tokenMachine(t *testing.T, timeout int) (string, chan string) {
	t.Helper()
	s.needFunctions(t)
	fn := s.name("fn")
	tokens := make(chan string, 4)
	s.h.Register(fn, func(_ context.Context, p json.RawMessage) (json.RawMessage, error) {
		var in struct{ Token string }
		_ = json.Unmarshal(p, &in)
		tokens <- in.Token
		return json.RawMessage(`{}`), nil
	})
	to := ""
	if timeout > 0 {
		to = fmt.Sprintf(`"TimeoutSeconds":%d,`, timeout)
	}
	def := fmt.Appendf(nil, `{"StartAt":"Approval","States":{"Approval":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",%s
		"Parameters":{"FunctionName":%q,"Payload":{"token.$":"$$.Task.Token"}},"ResultPath":"$.decision","Next":"Went on"},
		"Went on":{"Type":"Fail","Error":"Turbocat.Approved","Cause":"the Task went on"}}}`, to, fn)
	v, err := s.h.Engine.PublishStateMachine(s.ctx, s.name("m"), def)
	require.NoError(t, err)
	return v, tokens
}

func (s *suite) token(t *testing.T, tokens chan string) string {
	t.Helper()
	select {
	case tok := <-tokens:
		require.NotEmpty(t, tok)
		return tok
	case <-time.After(s.h.Timeout):
		require.Fail(t, "the Task never passed its token to the function")
		return ""
	}
}

func testTaskTokenApprove(t *testing.T, s *suite) {
	v, tokens := s.tokenMachine(t, 0)
	ref, err := s.h.Engine.StartExecution(s.ctx, v, s.name("x"), []byte(`{}`))
	require.NoError(t, err)
	tok := s.token(t, tokens)
	x, err := s.h.Engine.DescribeExecution(s.ctx, ref)
	require.NoError(t, err)
	require.Equal(t, turbocat.EngineRunning, x.Status, "the Task waits for its token")
	require.NoError(t, s.h.Engine.SendTaskSuccess(s.ctx, tok, []byte(`{"approved":true}`)))
	x = s.await(t, ref, turbocat.EngineFailed)
	require.Equal(t, "Turbocat.Approved", x.Error, "the Task went on")
	requireCode(t, turbocat.ENOTFOUND, s.h.Engine.SendTaskSuccess(s.ctx, tok, []byte(`{}`)))
	requireCode(t, turbocat.EVALIDATION, s.h.Engine.SendTaskSuccess(s.ctx, "not-a-token", []byte(`{}`)))
}

func testTaskTokenReject(t *testing.T, s *suite) {
	v, tokens := s.tokenMachine(t, 0)
	ref, err := s.h.Engine.StartExecution(s.ctx, v, s.name("x"), []byte(`{}`))
	require.NoError(t, err)
	tok := s.token(t, tokens)
	require.NoError(t, s.h.Engine.SendTaskFailure(s.ctx, tok, "Approval.Rejected", "rejected by me: not yet"))
	x := s.await(t, ref, turbocat.EngineFailed)
	require.Equal(t, "Approval.Rejected", x.Error)
	require.Equal(t, "rejected by me: not yet", x.Cause)
}

func testTaskTokenTimeout(t *testing.T, s *suite) {
	v, tokens := s.tokenMachine(t, 1)
	ref, err := s.h.Engine.StartExecution(s.ctx, v, s.name("x"), []byte(`{}`))
	require.NoError(t, err)
	tok := s.token(t, tokens)
	x := s.await(t, ref, turbocat.EngineFailed)
	require.Equal(t, "States.Timeout", x.Error)
	requireCode(t, turbocat.ENOTFOUND, s.h.Engine.SendTaskSuccess(s.ctx, tok, []byte(`{}`)))
}

func testSyncChild(t *testing.T, s *suite) {
	e := s.h.Engine
	child, err := e.PublishStateMachine(s.ctx, s.name("child"), []byte(`{"StartAt":"C","States":{
		"C":{"Type":"Choice","Choices":[{"Variable":"$.fail","BooleanEquals":true,"Next":"Boom"}],"Default":"Ok"},
		"Ok":{"Type":"Pass","Parameters":{"doubled.$":"States.MathAdd($.n, $.n)"},"End":true},
		"Boom":{"Type":"Fail","Error":"Child.Failed","Cause":"asked to fail"}}}`))
	require.NoError(t, err)
	parent, err := e.PublishStateMachine(s.ctx, s.name("parent"), []byte(`{"StartAt":"Child","States":{
		"Child":{"Type":"Task","Resource":"arn:aws:states:::states:startExecution.sync:2",
			"Parameters":{"StateMachineArn.$":"$.child","Name.$":"$.name","Input":{"n.$":"$.n","fail.$":"$.fail"}},
			"ResultSelector":{"doubled.$":"$.Output.doubled","status.$":"$.Status"},"ResultPath":"$.result","Next":"Check"},
		"Check":{"Type":"Choice","Choices":[{"Variable":"$.result.doubled","NumericEquals":42,"Next":"Good"}],"Default":"Bad"},
		"Good":{"Type":"Fail","Error":"Parent.GotOutput","Cause":"42"},
		"Bad":{"Type":"Fail","Error":"Parent.WrongOutput","Cause":"not 42"}}}`))
	require.NoError(t, err)
	in := func(name string, fail bool) []byte {
		return fmt.Appendf(nil, `{"child":%q,"name":%q,"n":21,"fail":%t}`, child, name, fail)
	}
	okName := s.name("kid-ok")
	ref, err := e.StartExecution(s.ctx, parent, s.name("x-ok"), in(okName, false))
	require.NoError(t, err)
	x := s.await(t, ref, turbocat.EngineFailed)
	require.Equal(t, "Parent.GotOutput", x.Error, "the parent waited for its child and read its output (%s)", x.Cause)
	kid, ok := childArn(child, okName)
	require.True(t, ok)
	k, err := e.DescribeExecution(s.ctx, kid)
	require.NoError(t, err)
	require.Equal(t, turbocat.EngineSucceeded, k.Status, "the child ran under the name the parent gave it")

	ref, err = e.StartExecution(s.ctx, parent, s.name("x-bad"), in(s.name("kid-bad"), true))
	require.NoError(t, err)
	x = s.await(t, ref, turbocat.EngineFailed)
	require.Equal(t, "States.TaskFailed", x.Error, "a failed child fails the parent's Task")
	require.Contains(t, x.Cause, "Child.Failed")
}

// childArn is the execution ARN of name started on a version ARN.
func childArn(version, name string) (string, bool) {
	parts := strings.Split(version, ":")
	if len(parts) < 7 {
		return "", false
	}
	return strings.Join(parts[:5], ":") + ":execution:" + parts[6] + ":" + name, true
}
