package runtime

import (
	"context"
	"fmt"
	"time"
)

// Redrive limits, as Step Functions applies them.
const (
	maxRedrives   = 1000
	redriveWindow = 14 * 24 * time.Hour
)

// redrivable reports whether an execution can be redriven, and if not why.
func (r *Runtime) redrivable(rec *Execution, typ string) (bool, string) {
	switch {
	case typ == "EXPRESS":
		return false, "Express executions cannot be redriven"
	case rec.Status == StatusRunning:
		return false, "Execution is RUNNING and cannot be redriven"
	case rec.Status == StatusSucceeded:
		return false, "Execution is SUCCEEDED and cannot be redriven"
	case rec.RedriveCount >= maxRedrives:
		return false, fmt.Sprintf("Execution has been redriven %d times, the maximum", maxRedrives)
	case r.clock.Now().Sub(rec.StopDate) > redriveWindow:
		return false, "Execution stopped more than 14 days ago and cannot be redriven"
	}
	return true, ""
}

// RedriveStatus returns REDRIVABLE or NOT_REDRIVABLE and the reason, for
// DescribeExecution.
func (r *Runtime) RedriveStatus(rec *Execution) (string, string) {
	typ := "STANDARD"
	r.mu.Lock()
	if sm, ok := r.machines[rec.StateMachineArn]; ok {
		typ = sm.Type
	}
	r.mu.Unlock()
	if ok, why := r.redrivable(rec, typ); !ok {
		return "NOT_REDRIVABLE", why
	}
	return "REDRIVABLE", ""
}

// RedriveExecution restarts a FAILED, TIMED_OUT or ABORTED Standard
// execution from its unsuccessful states: states that succeeded are not
// run again (nor the branches or iterations of the failed Parallel or Map
// that succeeded), the failed ones run afresh with their retry counts
// reset. The history gains an ExecutionRedriven event and keeps the
// events before it. Errors: InvalidArn, ExecutionDoesNotExist,
// ExecutionNotRedrivable.
func (r *Runtime) RedriveExecution(ctx context.Context, arn string) (time.Time, error) {
	old, err := r.lookup(ctx, arn)
	if err != nil {
		return time.Time{}, err
	}
	old.mu.Lock()
	rec := *old.rec
	old.mu.Unlock()
	r.mu.Lock()
	sm, ok := r.machines[rec.StateMachineArn]
	typ := "STANDARD"
	if ok {
		typ = sm.Type
	}
	r.mu.Unlock()
	if ok, why := r.redrivable(&rec, typ); !ok {
		return time.Time{}, apiErr(CodeExecutionNotRedrivable, "Execution Not Redrivable: '%s'", why)
	}
	events, err := r.GetExecutionHistory(ctx, arn)
	if err != nil {
		return time.Time{}, err
	}
	if len(events) >= MaxHistoryEvents-1 {
		return time.Time{}, apiErr(CodeExecutionNotRedrivable, "Execution Not Redrivable: 'the execution history holds %d events, the maximum'", len(events))
	}
	prog, err := r.program(rec.Definition)
	if err != nil {
		return time.Time{}, apiErr(CodeExecutionNotRedrivable, "Execution Not Redrivable: '%v'", err)
	}
	inVal, err := decodeJSON(rec.Input)
	if err != nil {
		return time.Time{}, fmt.Errorf("redrive %s: decode input: %w", arn, err)
	}

	now := r.clock.Now()
	rec.Status, rec.StopDate, rec.Output, rec.Error, rec.Cause = StatusRunning, time.Time{}, nil, "", ""
	rec.RedriveCount++
	rec.RedriveDate = now
	ex := &execution{rec: &rec, done: make(chan struct{}), recording: true, durable: r.durable, events: events}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return time.Time{}, apiErr(CodeValidation, "runtime is closed")
	}
	if cur, ok := r.execs[arn]; ok && cur != old && cur.rec.Status == StatusRunning {
		r.mu.Unlock()
		return time.Time{}, apiErr(CodeExecutionNotRedrivable, "Execution Not Redrivable: 'Execution is RUNNING and cannot be redriven'")
	}
	if _, ok := r.execs[arn]; !ok {
		r.execOrder = append(r.execOrder, arn)
	}
	r.execs[arn] = ex
	r.forgetClosed(arn)
	r.mu.Unlock()
	if err := r.journal.SaveExecution(ctx, &rec); err != nil {
		return time.Time{}, fmt.Errorf("journal execution %s: %w", arn, err)
	}
	r.launch(ex, prog, inVal, redriveReplay(events), true)
	return now, nil
}

// redriveReplay is the history a redrive continues from: without the
// execution's end, and each thread cut at the state it did not finish (so
// that state runs again from its start).
func redriveReplay(events []*HistoryEvent) []*HistoryEvent {
	lastEntered := map[string]int{} // thread → index of an unfinished state's entry
	for i, e := range events {
		switch {
		case isEntered(e.Type):
			lastEntered[e.Thread] = i
		case isExited(e.Type):
			delete(lastEntered, e.Thread)
		}
	}
	out := make([]*HistoryEvent, 0, len(events))
	for i, e := range events {
		switch e.Type {
		case EvExecutionFailed, EvExecutionAborted, EvExecutionTimedOut:
			continue
		}
		if cut, ok := lastEntered[e.Thread]; ok && i > cut {
			continue
		}
		out = append(out, e)
	}
	return out
}
