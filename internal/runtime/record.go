package runtime

import (
	"context"
	"log/slog"
	"time"
)

// emit appends an event to the history; flush journals it. Events are
// journaled in batches at durability points: before a task is invoked,
// after it succeeds, before a wait or a retry backoff, and at the end.
//
// A run that records no history (see run.recording) builds no events: the
// returned event is a per-thread scratch copy, valid until the thread's
// next event of the same kind (a state's entered event survives the
// events its state emits).
func (ru *run) emit(th *thread, e HistoryEvent) *HistoryEvent {
	if e.Timestamp.IsZero() {
		e.Timestamp = ru.r.clock.Now()
	}
	if !ru.recording {
		slot := &th.scratch[1]
		if isEntered(e.Type) {
			slot = &th.scratch[0]
		}
		*slot = e
		return slot
	}
	e.Thread = th.key
	if e.Seq == 0 {
		e.Seq = th.seq
	}
	ex := ru.ex
	ex.mu.Lock()
	ex.nextID++
	e.ID = ex.nextID
	if th.last > 0 {
		e.PreviousEventID = th.last
	} else {
		e.PreviousEventID = e.ID - 1
	}
	if len(ex.slab) == cap(ex.slab) {
		ex.slab = make([]HistoryEvent, 0, min(64, max(8, 2*cap(ex.slab))))
	}
	ex.slab = append(ex.slab, e)
	ev := &ex.slab[len(ex.slab)-1]
	ex.events = append(ex.events, ev)
	if ru.ex.durable {
		ex.pending = append(ex.pending, ev)
	}
	ex.mu.Unlock()
	th.last = ev.ID
	return ev
}

// replayed reports whether the thread's history before a restart holds an
// event of type typ.
func (ru *run) replayed(thread, typ string) bool {
	for _, e := range ru.replay[thread] {
		if e.Type == typ {
			return true
		}
	}
	return false
}

// Deferred journaling of replay-safe Task successes (see ReplaySafe): the
// pending events are journaled once the oldest is deferFlushFor old or
// there are deferFlushMax of them.
const (
	deferFlushFor = 250 * time.Millisecond
	deferFlushMax = 256
)

// flushIfDue journals the pending events if they are due (see
// deferFlushFor).
func (ru *run) flushIfDue() {
	ex := ru.ex
	ex.mu.Lock()
	n := len(ex.pending)
	due := n >= deferFlushMax || (n > 0 && ru.r.clock.Now().Sub(ex.pending[0].Timestamp) >= deferFlushFor)
	ex.mu.Unlock()
	if due {
		ru.flush()
	}
}

// flush journals the pending events.
func (ru *run) flush() {
	ru.journalPending(func(ctx context.Context, batch []*HistoryEvent) error {
		return ru.r.journal.AppendEvents(ctx, ru.ex.rec.ExecutionArn, batch)
	}, "journal events", false)
}

// end journals the pending events and the execution's terminal record:
// in one write where the journal is an EndJournal.
func (ru *run) end(rec *Execution) {
	ej, ok := ru.r.journal.(EndJournal)
	if !ok {
		ru.flush()
		ru.saveRecord(rec)
		return
	}
	ru.journalPending(func(ctx context.Context, batch []*HistoryEvent) error {
		return ej.EndExecution(ctx, rec, batch)
	}, "journal execution end", true)
}

// journalPending takes the pending events and writes them with write,
// retried until it succeeds (the execution does not go on until its events
// are journaled: a failed write is retried, never dropped). Without
// pending events write runs only if always.
func (ru *run) journalPending(write func(context.Context, []*HistoryEvent) error, what string, always bool) {
	ex := ru.ex
	ex.jmu.Lock()
	defer ex.jmu.Unlock()
	ex.mu.Lock()
	batch := ex.pending
	ex.pending = ex.spare[:0]
	ex.spare = nil
	ex.mu.Unlock()
	if len(batch) == 0 && !always {
		return
	}
	ru.r.retryJournal(ru.jctx, what, ex.rec.ExecutionArn, func(ctx context.Context) error {
		return write(ctx, batch)
	})
	clear(batch)
	ex.mu.Lock()
	ex.spare = batch[:0]
	ex.mu.Unlock()
}

// saveRecord journals the execution's terminal record, retrying until the
// journal takes it (or the runtime closes).
func (ru *run) saveRecord(rec *Execution) {
	ru.r.retryJournal(ru.jctx, "journal execution end", rec.ExecutionArn, func(ctx context.Context) error {
		return ru.r.journal.SaveExecution(ctx, rec)
	})
}

// Journal retry backoff: the first retry after journalRetryMin, doubling
// up to journalRetryMax.
const (
	journalRetryMin = 10 * time.Millisecond
	journalRetryMax = 5 * time.Second
)

// retryJournal runs write until it succeeds, waiting between attempts, so
// an execution never gets ahead of its journal and no event is dropped.
// Each attempt runs with a context that is not canceled (a write under way
// completes); it stops retrying only when stop ends (the runtime closing),
// and then reports false: the execution stays RUNNING in the journal, and
// a new runtime resumes it from what was written.
func (r *Runtime) retryJournal(stop context.Context, what, arn string, write func(context.Context) error) bool {
	delay := journalRetryMin
	for attempt := 1; ; attempt++ {
		err := write(context.Background())
		if err == nil {
			if attempt > 1 {
				r.log.Info(what+" recovered", slog.String("execution_arn", arn), slog.Int("attempts", attempt))
			}
			return true
		}
		r.log.Error(what+" failed; the execution waits and retries", slog.String("execution_arn", arn), slog.Int("attempt", attempt),
			slog.Duration("retry_in", delay), slog.Any("error", err))
		if stop.Err() != nil || r.clock.Sleep(stop, delay) != nil {
			r.log.Warn(what+" abandoned: the runtime is closing", slog.String("execution_arn", arn))
			return false
		}
		delay = min(2*delay, journalRetryMax)
	}
}
