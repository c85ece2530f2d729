package runtime_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/runtime"
)

// flakyJournal fails its writes while down is set.
type flakyJournal struct {
	*runtime.MemoryJournal
	mu       sync.Mutex
	down     bool
	failures int
}

var errJournalDown = errors.New("journal unavailable")

func (j *flakyJournal) setDown(down bool) {
	j.mu.Lock()
	j.down = down
	j.mu.Unlock()
}

func (j *flakyJournal) fail() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.down {
		j.failures++
		return errJournalDown
	}
	return nil
}

func (j *flakyJournal) AppendEvents(ctx context.Context, arn string, events []*runtime.HistoryEvent) error {
	if err := j.fail(); err != nil {
		return err
	}
	return j.MemoryJournal.AppendEvents(ctx, arn, events)
}

func (j *flakyJournal) SaveExecution(ctx context.Context, e *runtime.Execution) error {
	if e.Status != runtime.StatusRunning {
		if err := j.fail(); err != nil {
			return err
		}
	}
	return j.MemoryJournal.SaveExecution(ctx, e)
}

// A journal that fails stops the execution where it is; when the journal
// comes back the execution goes on, and the journaled history has every
// event, in order, without a gap.
func TestJournalFailureHoldsExecutionUntilRecovery(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	j := &flakyJournal{MemoryJournal: runtime.NewMemoryJournal()}
	clock := runtime.NewFakeClock(caseStart)
	rt, err := runtime.New(ctx, runtime.Options{Journal: j, Clock: clock})
	require.NoError(t, err)
	t.Cleanup(rt.Close)
	calls := make(chan struct{}, 10)
	release := make(chan struct{})
	rt.RegisterFunction("step", func(_ context.Context, p json.RawMessage) (json.RawMessage, error) {
		calls <- struct{}{}
		<-release
		return p, nil
	})
	sm, err := rt.CreateStateMachine(ctx, runtime.CreateStateMachineInput{Name: "m", Definition: `{"StartAt":"A","States":{
		"A":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:step","Next":"B"},
		"B":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:step","End":true}}}`})
	require.NoError(t, err)
	s, err := rt.StartExecution(ctx, runtime.StartInput{StateMachineArn: sm.StateMachineArn, Name: "e1", Input: `{"k":1}`})
	require.NoError(t, err)
	<-calls               // A is running
	j.setDown(true)       // the journal goes down
	release <- struct{}{} // A succeeds; its events cannot be written
	require.Eventually(t, func() bool {
		j.mu.Lock()
		defer j.mu.Unlock()
		return j.failures >= 3
	}, 5e9, 1e6, "the runtime retries the write")
	select {
	case <-calls:
		t.Fatal("state B started while the events of A were not journaled")
	default:
	}
	j.setDown(false) // the journal is back
	<-calls          // B runs
	release <- struct{}{}
	ex, err := rt.Wait(ctx, s.ExecutionArn)
	require.NoError(t, err)
	require.Equal(t, runtime.StatusSucceeded, ex.Status)

	journaled, err := j.MemoryJournal.LoadEvents(ctx, s.ExecutionArn)
	require.NoError(t, err)
	mem, err := rt.GetExecutionHistory(ctx, s.ExecutionArn)
	require.NoError(t, err)
	require.Len(t, journaled, len(mem), "every event reached the journal")
	for i, e := range journaled {
		require.EqualValues(t, i+1, e.ID, "no gap in the journaled history")
		require.Equal(t, mem[i].Type, e.Type)
	}
	rec, err := j.MemoryJournal.LoadExecution(ctx, s.ExecutionArn)
	require.NoError(t, err)
	require.Equal(t, runtime.StatusSucceeded, rec.Status, "the terminal record was written after the outage")
}
