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
