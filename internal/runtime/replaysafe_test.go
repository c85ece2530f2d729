package runtime_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/runtime"
)

// crashJournal is a MemoryJournal that counts event batches and, once
// crashed, drops every write: what a SIGKILLed process never got to write.
type crashJournal struct {
	*runtime.MemoryJournal
	batches atomic.Int32
	crashed atomic.Bool
}

func (j *crashJournal) AppendEvents(ctx context.Context, arn string, evs []*runtime.HistoryEvent) error {
	if j.crashed.Load() {
		return nil
	}
	j.batches.Add(1)
	// Store copies, as a database does: later changes to an event in
	// memory do not reach the journal.
	copies := make([]*runtime.HistoryEvent, len(evs))
	for i, e := range evs {
		b, err := runtime.EncodeEvent(e)
		if err != nil {
			return err
		}
		if copies[i], err = runtime.DecodeEvent(b); err != nil {
			return err
		}
	}
	return j.MemoryJournal.AppendEvents(ctx, arn, copies)
}

func (j *crashJournal) SaveExecution(ctx context.Context, e *runtime.Execution) error {
	if j.crashed.Load() {
		return nil
	}
	return j.MemoryJournal.SaveExecution(ctx, e)
}

// chain is n Lambda tasks T0..Tn-1, each called with {"step": name}.
func chain(n int) string {
	var b strings.Builder
	b.WriteString(`{"StartAt":"T0","States":{`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"T%d":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"step","Payload":{"step":"T%d"}},"ResultPath":"$.last",`, i, i)
		if i == n-1 {
			b.WriteString(`"End":true}`)
		} else {
			fmt.Fprintf(&b, `"Next":"T%d"}`, i+1)
		}
	}
	b.WriteString(`}}`)
	return b.String()
}

// recordFn is a replay-safe function in the step runner's manner: the first
// completed call of a step records its result, later calls answer from it.
type recordFn struct {
	mu      sync.Mutex
	done    map[string]json.RawMessage
	effects map[string]int // completed first runs per step
	calls   map[string]int
	block   string        // a step whose first call blocks until canceled
	blocked chan struct{} // closed when it is called
}

func newRecordFn() *recordFn {
	return &recordFn{done: map[string]json.RawMessage{}, effects: map[string]int{}, calls: map[string]int{}, blocked: make(chan struct{})}
}

func (f *recordFn) call(ctx context.Context, p json.RawMessage) (json.RawMessage, error) {
	var in struct{ Step string }
	if err := json.Unmarshal(p, &in); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.calls[in.Step]++
	if out, ok := f.done[in.Step]; ok {
		f.mu.Unlock()
		return out, nil
	}
	block := in.Step == f.block
	if block {
		f.block = ""
	}
	f.mu.Unlock()
	if block {
		close(f.blocked)
		<-ctx.Done()
		return nil, ctx.Err()
	}
	out := json.RawMessage(fmt.Sprintf(`{"ran":%q}`, in.Step))
	f.mu.Lock()
	f.done[in.Step] = out
	f.effects[in.Step]++
	f.mu.Unlock()
	return out, nil
}

func TestReplaySafeTasksJournalLess(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	batches := map[bool]int32{}
	var histories [2][]string
	for i, safe := range []bool{false, true} {
		j := &crashJournal{MemoryJournal: runtime.NewMemoryJournal()}
		rt, err := runtime.New(ctx, runtime.Options{Clock: runtime.NewFakeClock(caseStart), Journal: j})
		require.NoError(t, err)
		t.Cleanup(rt.Close)
		var opts []runtime.FunctionOption
		if safe {
			opts = append(opts, runtime.ReplaySafe())
		}
		rt.RegisterFunction("step", newRecordFn().call, opts...)
		b := &bundle{rt: rt}
		ex := b.run(t, b.machine(t, "chain", chain(10)), "e", `{}`)
		require.Equal(t, runtime.StatusSucceeded, ex.Status)
		require.JSONEq(t, `{"last":{"ExecutedVersion":"$LATEST","Payload":{"ran":"T9"}}}`, onlyPayload(t, ex.Output))
		batches[safe] = j.batches.Load()
		histories[i] = eventTypes(t, rt, ex.ExecutionArn)
		evs, err := j.LoadEvents(ctx, ex.ExecutionArn)
		require.NoError(t, err)
		require.Len(t, evs, len(histories[i]), "the whole history is journaled in the end")
	}
	require.Equal(t, histories[0], histories[1], "the same history")
	require.EqualValues(t, 21, batches[false], "before and after every task, and at the end")
	require.EqualValues(t, 1, batches[true], "a replay-safe chain is journaled at the end (the fake clock does not move)")
}

// onlyPayload drops the per-call metadata of lambda:invoke results.
func onlyPayload(t *testing.T, out json.RawMessage) string {
	t.Helper()
	var v struct {
		Last struct {
			ExecutedVersion string
			Payload         json.RawMessage
		} `json:"last"`
	}
	require.NoError(t, json.Unmarshal(out, &v))
	b, err := json.Marshal(map[string]any{"last": map[string]any{"ExecutedVersion": v.Last.ExecutedVersion, "Payload": v.Last.Payload}})
	require.NoError(t, err)
	return string(b)
}

// TestReplaySafeResumeAfterCrash: the process dies with none of the run's
// events journaled; the resumed run calls the completed tasks again, they
// answer from their record, and every step's effect happened once.
func TestReplaySafeResumeAfterCrash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := runtime.NewFakeClock(caseStart)
	j := &crashJournal{MemoryJournal: runtime.NewMemoryJournal()}
	fn := newRecordFn()
	fn.block = "T4"
	rt1, err := runtime.New(ctx, runtime.Options{Clock: clock, Journal: j})
	require.NoError(t, err)
	rt1.RegisterFunction("step", fn.call, runtime.ReplaySafe())
	created, err := rt1.CreateStateMachine(ctx, runtime.CreateStateMachineInput{Name: "chain", Definition: chain(6)})
	require.NoError(t, err)
	s, err := rt1.StartExecution(ctx, runtime.StartInput{StateMachineArn: created.StateMachineArn, Name: "e1", Input: `{}`})
	require.NoError(t, err)
	<-fn.blocked
	j.crashed.Store(true) // SIGKILL: nothing more reaches the journal
	rt1.Close()
	evs, err := j.LoadEvents(ctx, s.ExecutionArn)
	require.NoError(t, err)
	require.Empty(t, evs, "the completed tasks were not journaled yet")
	j.crashed.Store(false)

	rt2, err := runtime.New(ctx, runtime.Options{Clock: clock, Journal: j})
	require.NoError(t, err)
	t.Cleanup(rt2.Close)
	rt2.RegisterFunction("step", fn.call, runtime.ReplaySafe())
	require.NoError(t, rt2.Resume(ctx))
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ex, err := rt2.Wait(wctx, s.ExecutionArn)
	require.NoError(t, err)
	require.Equal(t, runtime.StatusSucceeded, ex.Status)
	fn.mu.Lock()
	defer fn.mu.Unlock()
	for i := range 6 {
		k := fmt.Sprintf("T%d", i)
		require.Equal(t, 1, fn.effects[k], "%s ran once", k)
	}
	require.Equal(t, 2, fn.calls["T0"], "a completed task was called again and answered from its record")
	types := eventTypes(t, rt2, s.ExecutionArn)
	require.Equal(t, 1, count(types, "ExecutionStarted"))
	require.Equal(t, 6, count(types, "TaskStateEntered"))
	require.Equal(t, "ExecutionSucceeded", types[len(types)-1])
}

// TestReplaySafeFailureJournaledAtOnce: a failed call of a replay-safe
// function would run again if called again, so its failure is journaled
// before the next state acts on it.
func TestReplaySafeFailureJournaledAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	j := &crashJournal{MemoryJournal: runtime.NewMemoryJournal()}
	rt, err := runtime.New(ctx, runtime.Options{Clock: runtime.NewFakeClock(caseStart), Journal: j})
	require.NoError(t, err)
	t.Cleanup(rt.Close)
	var arn atomic.Value
	var failedJournaled atomic.Bool
	rt.RegisterFunction("step", func(_ context.Context, p json.RawMessage) (json.RawMessage, error) {
		if strings.Contains(string(p), "T0") {
			return nil, &runtime.TaskError{Name: "Boom", Cause: "failed"}
		}
		evs, err := j.LoadEvents(ctx, arn.Load().(string))
		if err != nil {
			return nil, err
		}
		for _, e := range evs {
			if e.Type == runtime.EvLambdaFailed || e.Type == runtime.EvTaskFailed {
				failedJournaled.Store(true)
			}
		}
		return json.RawMessage(`{}`), nil
	}, runtime.ReplaySafe())
	def := `{"StartAt":"T0","States":{
		"T0":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"step","Payload":{"step":"T0"}},
			"Catch":[{"ErrorEquals":["States.ALL"],"Next":"T1"}],"End":true},
		"T1":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"step","Payload":{"step":"T1"}},"End":true}}}`
	created, err := rt.CreateStateMachine(ctx, runtime.CreateStateMachineInput{Name: "catch", Definition: def})
	require.NoError(t, err)
	name := "e1"
	arn.Store(strings.Replace(created.StateMachineArn, ":stateMachine:", ":execution:", 1) + ":" + name)
	s, err := rt.StartExecution(ctx, runtime.StartInput{StateMachineArn: created.StateMachineArn, Name: name, Input: `{}`})
	require.NoError(t, err)
	require.Equal(t, arn.Load(), s.ExecutionArn)
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ex, err := rt.Wait(wctx, s.ExecutionArn)
	require.NoError(t, err)
	require.Equal(t, runtime.StatusSucceeded, ex.Status)
	require.True(t, failedJournaled.Load(), "T0's failure was journaled before T1 ran")
}

// TestReplaySafeRetryDeadlineJournaled: a failed replay-safe call that is
// retried is journaled with the time its retry is due, so a resumed run
// waits for the rest of the backoff only.
func TestReplaySafeRetryDeadlineJournaled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := runtime.NewFakeClock(caseStart)
	j := &crashJournal{MemoryJournal: runtime.NewMemoryJournal()}
	rt, err := runtime.New(ctx, runtime.Options{Clock: clock, Journal: j})
	require.NoError(t, err)
	t.Cleanup(rt.Close)
	var calls atomic.Int32
	rt.RegisterFunction("step", func(context.Context, json.RawMessage) (json.RawMessage, error) {
		if calls.Add(1) == 1 {
			return nil, &runtime.TaskError{Name: "Boom", Cause: "failed"}
		}
		return json.RawMessage(`{}`), nil
	}, runtime.ReplaySafe())
	def := `{"StartAt":"T0","States":{
		"T0":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"step","Payload":{}},
			"Retry":[{"ErrorEquals":["Boom"],"IntervalSeconds":10,"MaxAttempts":1}],"End":true}}}`
	created, err := rt.CreateStateMachine(ctx, runtime.CreateStateMachineInput{Name: "retry", Definition: def})
	require.NoError(t, err)
	s, err := rt.StartExecution(ctx, runtime.StartInput{StateMachineArn: created.StateMachineArn, Name: "e1", Input: `{}`})
	require.NoError(t, err)
	// The fake clock's Sleep returns at once; the journal keeps what was
	// written, as a database does.
	var failed *runtime.HistoryEvent
	require.Eventually(t, func() bool {
		evs, err := j.LoadEvents(ctx, s.ExecutionArn)
		require.NoError(t, err)
		for _, e := range evs {
			if e.Type == runtime.EvTaskFailed {
				failed = e
			}
		}
		return failed != nil
	}, 5*time.Second, time.Millisecond)
	require.NotNil(t, failed.EventDetails)
	require.Equal(t, caseStart.Add(10*time.Second), failed.EventDetails.Deadline, "the journaled failure says when the retry is due")
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ex, err := rt.Wait(wctx, s.ExecutionArn)
	require.NoError(t, err)
	require.Equal(t, runtime.StatusSucceeded, ex.Status)
	require.EqualValues(t, 2, calls.Load())
}
