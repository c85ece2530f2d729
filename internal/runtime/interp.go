package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/turbocat/turbocat/internal/asl"
)

// execution is the in-memory state of one execution.
type execution struct {
	mu      sync.Mutex
	rec     *Execution
	events  []*HistoryEvent
	pending []*HistoryEvent // emitted, not journaled yet
	spare   []*HistoryEvent // reused pending buffer
	slab    []HistoryEvent  // events are carved from chunks to save allocations
	jmu     sync.Mutex      // orders journal writes
	nextID  int64
	done    chan struct{}
	cancel  context.CancelCauseFunc
	loaded  bool // loaded from the journal; events not in memory yet
	resumed bool
}

// run interprets one execution.
type run struct {
	r        *Runtime
	ex       *execution
	prog     *program
	input    any
	replay   map[string][]*HistoryEvent // by thread, nil for a fresh start
	base     map[string]any             // $$.Execution and $$.StateMachine; see baseContext
	baseOnce sync.Once
	jctx     context.Context // for journal writes: never canceled
}

type thread struct {
	key  string
	seq  int
	last int64
	// unjournaledFailure: the last Task attempt failed calling a
	// replay-safe function, whose call was not journaled (see ReplaySafe).
	unjournaledFailure bool
}

// errAborted marks a state interrupted by cancellation.
var errAborted = &stateErr{Error: "__aborted"}

type execTimeout struct{}

func (execTimeout) Error() string { return "execution timed out" }

func (r *Runtime) launch(ex *execution, prog *program, input any, replay []*HistoryEvent) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ex.mu.Lock()
	ex.cancel = cancel
	if n := len(ex.events); n > 0 {
		ex.nextID = ex.events[n-1].ID
	}
	ex.mu.Unlock()
	ru := &run{r: r, ex: ex, prog: prog, input: input, jctx: context.Background()}
	if replay != nil {
		ru.replay = map[string][]*HistoryEvent{}
		for _, e := range replay {
			ru.replay[e.Thread] = append(ru.replay[e.Thread], e)
		}
	}
	r.wg.Add(1)
	r.goExec(func() {
		defer r.wg.Done()
		defer cancel(nil)
		ru.main(ctx)
	})
}

// inlineMapConcurrency is how many iterations an inline Map runs at once
// when MaxConcurrency is 0 (unlimited): AWS runs up to 40.
const inlineMapConcurrency = 40

// workerIdle is how long an execution worker waits for new work.
const workerIdle = 30 * time.Second

// goExec runs f on an idle worker goroutine, or a new one. Reusing workers
// keeps their already-grown stacks: interpreting a state needs a deeper
// stack than a new goroutine starts with.
func (r *Runtime) goExec(f func()) {
	select {
	case r.work <- f:
	default:
		go r.worker(f)
	}
}

func (r *Runtime) worker(f func()) {
	t := time.NewTimer(workerIdle)
	defer t.Stop()
	for {
		f()
		t.Reset(workerIdle)
		select {
		case f = <-r.work:
		case <-t.C:
			return
		case <-r.quit:
			return
		}
	}
}

// baseContext returns $$.Execution and $$.StateMachine, built on first use.
func (ru *run) baseContext() map[string]any {
	ru.baseOnce.Do(func() {
		ex := ru.ex
		ru.base = map[string]any{
			"Execution": map[string]any{
				"Id": ex.rec.ExecutionArn, "Input": ru.input, "Name": ex.rec.Name, "RoleArn": ex.rec.RoleArn,
				"StartTime": fmtTime(ex.rec.StartDate), "RedriveCount": json.Number("0"),
			},
			"StateMachine": map[string]any{"Id": ex.rec.StateMachineArn, "Name": smName(ex.rec.StateMachineArn)},
		}
	})
	return ru.base
}

func smName(arn string) string {
	parts := strings.Split(arn, ":")
	if len(parts) >= 7 {
		return parts[6]
	}
	return arn
}

func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func (ru *run) main(ctx context.Context) {
	r, ex := ru.r, ru.ex
	root := &thread{}
	// A resumed execution may have no journaled event yet (its first
	// events were not journaled before the crash): it starts over.
	if len(ru.replay) == 0 {
		ru.emit(ctx, root, HistoryEvent{Type: EvExecutionStarted, Input: ru.input, HasInput: true, EventDetails: &EventDetails{Resource: ex.rec.RoleArn}})
	}
	if ru.replay == nil {
		r.notify(ex)
	}
	if ru.prog.timeout > 0 {
		remaining := ex.rec.StartDate.Add(ru.prog.timeout).Sub(r.clock.Now())
		go func() {
			select {
			case <-r.clock.After(remaining):
				ex.cancelWith(execTimeout{})
			case <-ctx.Done():
			}
		}()
	}
	out, serr := ru.runGraph(ctx, root, ru.prog.root, ru.input)
	cause := context.Cause(ctx)
	if errors.Is(cause, errClosing) {
		ru.flush() // events a replay-safe Task deferred
		return     // leave RUNNING for Resume
	}
	final := &HistoryEvent{EventDetails: &EventDetails{}}
	var status string
	var stop *stopRequest
	switch {
	case errors.As(cause, &stop):
		status, final.Type, final.Error, final.Cause = StatusAborted, EvExecutionAborted, stop.err, stop.cause
	case errors.Is(cause, execTimeout{}):
		status, final.Type, final.Error, final.Cause = StatusTimedOut, EvExecutionTimedOut, ErrTimeout, "The execution timed out."
	case serr != nil:
		status, final.Type, final.Error, final.Cause = StatusFailed, EvExecutionFailed, serr.Error, serr.Cause
	default:
		status, final.Type, final.Output, final.HasOutput = StatusSucceeded, EvExecutionSucceeded, out, true
	}
	ru.emit(context.WithoutCancel(ctx), root, *final)
	ru.flush()
	ex.mu.Lock()
	ex.rec.Status = status
	ex.rec.StopDate = r.clock.Now()
	ex.rec.Error, ex.rec.Cause = final.Error, final.Cause
	if status == StatusSucceeded {
		b, err := encodeJSON(out)
		if err != nil {
			b = []byte("null")
		}
		ex.rec.Output = b
	}
	rec := *ex.rec
	ex.mu.Unlock()
	if err := r.journal.SaveExecution(context.WithoutCancel(ctx), &rec); err != nil {
		r.log.Error("journal execution end", slog.String("execution_arn", rec.ExecutionArn), slog.Any("error", err))
	}
	ru.dropTokens()
	close(ex.done)
	r.notify(ex)
	r.noteClosed(rec.ExecutionArn)
}

func (ex *execution) cancelWith(cause error) {
	ex.mu.Lock()
	c := ex.cancel
	ex.mu.Unlock()
	if c != nil {
		c(cause)
	}
}

func (r *Runtime) notify(ex *execution) {
	if r.onStatus == nil {
		return
	}
	ex.mu.Lock()
	rec := *ex.rec
	ex.mu.Unlock()
	d := StatusChangeDetail{ExecutionArn: rec.ExecutionArn, StateMachineArn: rec.StateMachineArn, Name: rec.Name,
		Status: rec.Status, StartDate: rec.StartDate.UnixMilli(), Input: string(rec.Input)}
	if !rec.StopDate.IsZero() {
		ms := rec.StopDate.UnixMilli()
		d.StopDate = &ms
	}
	if rec.Output != nil {
		s := string(rec.Output)
		d.Output = &s
	}
	if rec.Error != "" {
		d.Error = &rec.Error
	}
	if rec.Cause != "" {
		d.Cause = &rec.Cause
	}
	r.onStatus(StatusChangeEvent{Version: "0", ID: newUUID(), DetailType: "Step Functions Execution Status Change",
		Source: "aws.states", Account: r.account, Time: r.clock.Now().UTC(), Region: r.region,
		Resources: []string{rec.ExecutionArn}, Detail: d})
}

// emit appends an event to the history; flush journals it. Events are
// journaled in batches at durability points: before a task is invoked,
// after it succeeds, before a wait or a retry backoff, and at the end.
func (ru *run) emit(_ context.Context, th *thread, e HistoryEvent) *HistoryEvent {
	if e.Timestamp.IsZero() {
		e.Timestamp = ru.r.clock.Now()
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
	if ru.r.durable {
		ex.pending = append(ex.pending, ev)
	}
	ex.mu.Unlock()
	th.last = ev.ID
	return ev
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
	ex := ru.ex
	ex.jmu.Lock()
	defer ex.jmu.Unlock()
	ex.mu.Lock()
	batch := ex.pending
	ex.pending = ex.spare[:0]
	ex.spare = nil
	ex.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	if err := ru.r.journal.AppendEvents(ru.jctx, ex.rec.ExecutionArn, batch); err != nil {
		ru.r.log.Error("journal events", slog.String("execution_arn", ex.rec.ExecutionArn), slog.Int("events", len(batch)), slog.Any("error", err))
	}
	clear(batch)
	ex.mu.Lock()
	ex.spare = batch[:0]
	ex.mu.Unlock()
}

func isEntered(t string) bool { return strings.HasSuffix(t, "StateEntered") }
func isExited(t string) bool  { return strings.HasSuffix(t, "StateExited") }

// runGraph runs states from g.startAt until one ends the thread.
func (ru *run) runGraph(ctx context.Context, th *thread, g *graph, input any) (any, *stateErr) {
	name, in := g.startAt, input
	var resume *HistoryEvent
	if ru.replay != nil {
		evs := ru.replay[th.key]
		if len(evs) > 0 {
			th.last = evs[len(evs)-1].ID
		}
		for i := len(evs) - 1; i >= 0; i-- {
			e := evs[i]
			if isExited(e.Type) {
				if e.Next == "" {
					return e.Output, nil
				}
				name, in, th.seq = e.Next, e.Output, e.Seq
				break
			}
			if isEntered(e.Type) {
				name, in, th.seq, resume = e.Name, e.Input, e.Seq-1, e
				break
			}
		}
	}
	var at time.Time // timestamp shared by a state's exit and the next entry
	for {
		if ctx.Err() != nil {
			return nil, errAborted
		}
		cs, ok := g.states[name]
		if !ok {
			return nil, &stateErr{Error: ErrRuntime, Cause: fmt.Sprintf("state %q does not exist", name)}
		}
		th.seq++
		entered := resume
		if entered == nil {
			e := HistoryEvent{Type: cs.enteredTyp, Name: name, Input: in, HasInput: true, Timestamp: at}
			if cs.st.Type == asl.TypeWait {
				e.EventDetails = &EventDetails{Deadline: ru.waitDeadline(cs, in)}
			}
			entered = ru.emit(ctx, th, e)
		}
		out, next, serr := ru.exec(ctx, th, cs, in, entered, resume != nil)
		resume = nil
		if serr != nil {
			return nil, serr
		}
		at = ru.r.clock.Now()
		ru.emit(ctx, th, HistoryEvent{Type: cs.exitedTyp, Name: name, Output: out, HasOutput: true, Next: next, Timestamp: at})
		if next == "" {
			return out, nil
		}
		name, in = next, out
	}
}

func (ru *run) ctxObject(cs *cstate, entered *HistoryEvent, retry int, token string, item *[2]any) map[string]any {
	m := make(map[string]any, 5)
	for k, v := range ru.baseContext() {
		m[k] = v
	}
	m["State"] = map[string]any{"EnteredTime": fmtTime(entered.Timestamp), "Name": cs.name, "RetryCount": json.Number(fmt.Sprint(retry))}
	if token != "" {
		m["Task"] = map[string]any{"Token": token}
	}
	if item != nil {
		m["Map"] = map[string]any{"Item": map[string]any{"Index": item[0], "Value": item[1]}}
	}
	return m
}

func (cs *cstate) applyInput(in any) (any, *stateErr) {
	if cs.inputNull {
		return map[string]any{}, nil
	}
	if cs.inputPath == nil {
		return in, nil
	}
	v, err := cs.inputPath.eval(in)
	if err != nil {
		return nil, &stateErr{Error: ErrRuntime, Cause: fmt.Sprintf("Invalid path '%s' : No results for path: $['%s']", cs.inputPath.src, strings.TrimPrefix(cs.inputPath.src, "$."))}
	}
	return v, nil
}

func (cs *cstate) applyOutput(out any) (any, *stateErr) {
	if cs.outputNull {
		return map[string]any{}, nil
	}
	if cs.outputPath == nil {
		return out, nil
	}
	v, err := cs.outputPath.eval(out)
	if err != nil {
		return nil, &stateErr{Error: ErrRuntime, Cause: fmt.Sprintf("Invalid path '%s' : No results for path: $['%s']", cs.outputPath.src, strings.TrimPrefix(cs.outputPath.src, "$."))}
	}
	return v, nil
}

func applyResultPath(p *jsonPath, null bool, rawIn, result any) (any, *stateErr) {
	if null {
		return rawIn, nil
	}
	if p == nil || len(p.segs) == 0 {
		return result, nil
	}
	v, err := setPath(rawIn, p, result)
	if err != nil {
		return nil, &stateErr{Error: ErrResultPathMatch, Cause: err.Error()}
	}
	return v, nil
}

// finish applies ResultSelector, ResultPath and OutputPath to a result.
func (ru *run) finish(cs *cstate, rawIn, result any, ctxObj func() map[string]any) (any, *stateErr) {
	if cs.resultSelector != nil {
		var serr *stateErr
		if result, serr = cs.resultSelector.eval(result, ctxObj()); serr != nil {
			return nil, serr
		}
	}
	out, serr := applyResultPath(cs.resultPath, cs.resultNull, rawIn, result)
	if serr != nil {
		return nil, serr
	}
	return cs.applyOutput(out)
}

// exec runs one state and returns its output and next state ("" to end).
func (ru *run) exec(ctx context.Context, th *thread, cs *cstate, in any, entered *HistoryEvent, resuming bool) (any, string, *stateErr) {
	st := cs.st
	ctxFn := func() map[string]any { return ru.ctxObject(cs, entered, 0, "", nil) }
	next := st.Next
	switch st.Type {
	case asl.TypePass:
		eff, serr := cs.applyInput(in)
		if serr != nil {
			return nil, "", serr
		}
		if cs.params != nil {
			if eff, serr = cs.params.eval(eff, ctxFn()); serr != nil {
				return nil, "", serr
			}
		}
		result := eff
		if cs.hasResult {
			result = cs.result
		}
		out, serr := applyResultPath(cs.resultPath, cs.resultNull, in, result)
		if serr != nil {
			return nil, "", serr
		}
		out, serr = cs.applyOutput(out)
		return out, next, serr
	case asl.TypeSucceed:
		eff, serr := cs.applyInput(in)
		if serr != nil {
			return nil, "", serr
		}
		out, serr := cs.applyOutput(eff)
		return out, "", serr
	case asl.TypeFail:
		e := &stateErr{Error: st.Error, Cause: st.Cause}
		for _, x := range []struct {
			expr  *tmpl
			dst   *string
			field string
		}{{cs.errorExpr, &e.Error, "ErrorPath"}, {cs.causeExpr, &e.Cause, "CausePath"}} {
			if x.expr == nil {
				continue
			}
			v, serr := x.expr.eval(in, ctxFn())
			s, ok := v.(string)
			if serr != nil || !ok {
				return nil, "", &stateErr{Error: ErrRuntime, Cause: fmt.Sprintf("%s did not resolve to a string", x.field)}
			}
			*x.dst = s
		}
		return nil, "", e
	case asl.TypeChoice:
		eff, serr := cs.applyInput(in)
		if serr != nil {
			return nil, "", serr
		}
		target := ""
		var cobj map[string]any
		for _, c := range cs.choices {
			if cobj == nil {
				cobj = ctxFn()
			}
			ok, serr := c.eval(eff, cobj)
			if serr != nil {
				return nil, "", serr
			}
			if ok {
				target = c.next
				break
			}
		}
		if target == "" {
			target = st.Default
		}
		if target == "" {
			return nil, "", &stateErr{Error: ErrNoChoiceMatched, Cause: fmt.Sprintf("No Matches! in state %s", cs.name)}
		}
		out, serr := cs.applyOutput(eff)
		return out, target, serr
	case asl.TypeWait:
		eff, serr := cs.applyInput(in)
		if serr != nil {
			return nil, "", serr
		}
		if entered.details().Deadline.IsZero() {
			if _, serr := ru.waitDuration(cs, eff); serr != nil {
				return nil, "", serr
			}
		}
		ru.flush()
		if d := entered.details().Deadline.Sub(ru.r.clock.Now()); d > 0 {
			if err := ru.r.clock.Sleep(ctx, d); err != nil {
				return nil, "", errAborted
			}
		}
		if ctx.Err() != nil {
			return nil, "", errAborted
		}
		out, serr := cs.applyOutput(eff)
		return out, next, serr
	case asl.TypeTask, asl.TypeParallel, asl.TypeMap:
		return ru.withRetry(ctx, th, cs, in, entered, resuming)
	}
	return nil, "", &stateErr{Error: ErrRuntime, Cause: "unsupported state type " + st.Type}
}

func evalRef(p *jsonPath, in any, ctxFn func() map[string]any) (any, error) {
	if p.context {
		return p.eval(ctxFn())
	}
	return p.eval(in)
}

func (ru *run) waitDuration(cs *cstate, eff any) (time.Time, *stateErr) {
	now := ru.r.clock.Now()
	st := cs.st
	switch {
	case st.Seconds != nil:
		return now.Add(time.Duration(*st.Seconds) * time.Second), nil
	case !cs.timestamp.IsZero():
		return cs.timestamp, nil
	case cs.secondsPath != nil:
		v, err := cs.secondsPath.eval(eff)
		f, ok := toFloat(v)
		if err != nil || !ok || f < 0 || f != math.Trunc(f) {
			return time.Time{}, &stateErr{Error: ErrRuntime, Cause: fmt.Sprintf("Invalid path '%s': the SecondsPath value must be a non-negative integer", cs.secondsPath.src)}
		}
		return now.Add(time.Duration(f) * time.Second), nil
	case cs.timestampPath != nil:
		v, err := cs.timestampPath.eval(eff)
		s, ok := v.(string)
		if err == nil && ok {
			if t, ok := parseTimestamp(s); ok {
				return t, nil
			}
		}
		return time.Time{}, &stateErr{Error: ErrRuntime, Cause: fmt.Sprintf("Invalid path '%s': the TimestampPath value must be an RFC 3339 timestamp", cs.timestampPath.src)}
	}
	return now, nil
}

// waitDeadline computes a Wait state's deadline for its entered event; on
// error it returns the zero time and exec reports the error.
func (ru *run) waitDeadline(cs *cstate, in any) time.Time {
	eff, serr := cs.applyInput(in)
	if serr != nil {
		return time.Time{}
	}
	t, serr := ru.waitDuration(cs, eff)
	if serr != nil {
		return time.Time{}
	}
	return t
}

// withRetry runs a Task, Parallel or Map state with its Retry and Catch.
func (ru *run) withRetry(ctx context.Context, th *thread, cs *cstate, in any, entered *HistoryEvent, resuming bool) (any, string, *stateErr) {
	st := cs.st
	counts := make([]int, len(st.Retry))
	attempt := 0
	retries := 0
	var replayed []*HistoryEvent
	if resuming {
		for _, e := range ru.replay[th.key] {
			if e.Seq == th.seq && !isEntered(e.Type) {
				replayed = append(replayed, e)
			}
		}
	}
	for {
		out, serr := ru.attempt(ctx, th, cs, in, entered, attempt, retries, &replayed)
		if serr == nil {
			return out, st.Next, nil
		}
		if serr == errAborted {
			return nil, "", serr
		}
		// A failed replay-safe call is journaled before the state acts on
		// the failure (a retry journals it after marking it, below).
		flushFailure := th.unjournaledFailure
		th.unjournaledFailure = false
		retried := false
		for i, rt := range st.Retry {
			if !serr.matches(rt.ErrorEquals) {
				continue
			}
			if counts[i] < rt.Attempts() {
				delay := ru.r.backoff(rt, counts[i])
				counts[i]++
				retries++
				attempt++
				due := ru.r.clock.Now().Add(delay)
				if len(replayed) > 0 {
					if last := replayed[len(replayed)-1].details(); !last.Deadline.IsZero() {
						due = last.Deadline
					}
				}
				ru.markRetry(th, due)
				ru.flush()
				if d := due.Sub(ru.r.clock.Now()); d > 0 {
					if err := ru.r.clock.Sleep(ctx, d); err != nil {
						return nil, "", errAborted
					}
				}
				retried = true
			}
			break
		}
		if retried {
			continue
		}
		if flushFailure {
			ru.flush()
		}
		for i, c := range st.Catch {
			if !serr.matches(c.ErrorEquals) {
				continue
			}
			errOut := map[string]any{"Error": serr.Error, "Cause": serr.Cause}
			p, null := cs.catchPaths[i], cs.catchNull[i]
			out, perr := applyResultPath(p, null, in, errOut)
			if perr != nil {
				return nil, "", perr
			}
			return out, c.Next, nil
		}
		return nil, "", serr
	}
}

// markRetry records on the thread's last failure event when the retry is
// due, so a resumed run waits for the remaining backoff only.
func (ru *run) markRetry(th *thread, due time.Time) {
	ru.ex.mu.Lock()
	defer ru.ex.mu.Unlock()
	for i := len(ru.ex.events) - 1; i >= 0; i-- {
		e := ru.ex.events[i]
		if e.ID == th.last {
			// Copy: details may be shared between events.
			d := EventDetails{}
			if e.EventDetails != nil {
				d = *e.EventDetails
			}
			d.Deadline = due
			e.EventDetails = &d
			return
		}
	}
}

// backoff returns the delay before retry number n (0-based) of rt.
func (r *Runtime) backoff(rt *asl.Retrier, n int) time.Duration {
	secs := float64(rt.Interval()) * math.Pow(rt.Backoff(), float64(n))
	if rt.MaxDelaySeconds != nil && secs > float64(*rt.MaxDelaySeconds) {
		secs = float64(*rt.MaxDelaySeconds)
	}
	if rt.JitterStrategy == "FULL" {
		r.randMu.Lock()
		secs *= r.rnd.Float64()
		r.randMu.Unlock()
	}
	return time.Duration(secs * float64(time.Second))
}

// attempt runs one attempt of a Task, Parallel or Map state.
func (ru *run) attempt(ctx context.Context, th *thread, cs *cstate, in any, entered *HistoryEvent, attempt, retries int, replayed *[]*HistoryEvent) (any, *stateErr) {
	eff, serr := cs.applyInput(in)
	if serr != nil {
		return nil, serr
	}
	switch cs.st.Type {
	case asl.TypeTask:
		return ru.task(ctx, th, cs, in, eff, entered, retries, replayed)
	case asl.TypeParallel:
		return ru.parallel(ctx, th, cs, in, eff, entered, attempt)
	default:
		return ru.mapState(ctx, th, cs, in, eff, entered, attempt)
	}
}

func (ru *run) parallel(ctx context.Context, th *thread, cs *cstate, rawIn, eff any, entered *HistoryEvent, attempt int) (any, *stateErr) {
	ctxFn := func() map[string]any { return ru.ctxObject(cs, entered, attempt, "", nil) }
	if cs.params != nil {
		var serr *stateErr
		if eff, serr = cs.params.eval(eff, ctxFn()); serr != nil {
			return nil, serr
		}
	}
	prefix := fmt.Sprintf("%s/%d.%d.", th.key, th.seq, attempt)
	if !ru.hasThread(prefix) {
		ru.emit(ctx, th, HistoryEvent{Type: EvParallelStarted})
	}
	outs, serr := ru.fanOut(ctx, len(cs.branches), 0, func(bctx context.Context, i int) (any, *stateErr) {
		bt := &thread{key: fmt.Sprintf("%s%d", prefix, i), last: th.last}
		return ru.runGraph(bctx, bt, cs.branches[i], eff)
	}, nil)
	if serr != nil {
		if serr != errAborted {
			ru.emit(ctx, th, HistoryEvent{Type: EvParallelFailed, EventDetails: &EventDetails{Error: serr.Error, Cause: serr.Cause}})
		}
		return nil, serr
	}
	ru.emit(ctx, th, HistoryEvent{Type: EvParallelSucceeded})
	return ru.finish(cs, rawIn, outs, ctxFn)
}

func (ru *run) hasThread(prefix string) bool {
	if ru.replay == nil {
		return false
	}
	for k := range ru.replay {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// fanOut runs n children with at most limit (0 = unlimited) at a time. The
// first failure cancels the rest and is returned.
func (ru *run) fanOut(ctx context.Context, n, limit int, child func(context.Context, int) (any, *stateErr), onDone func(i int, serr *stateErr)) ([]any, *stateErr) {
	outs := make([]any, n)
	if n == 0 {
		return outs, nil
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if limit <= 0 || limit > n {
		limit = n
	}
	var (
		mu    sync.Mutex
		first *stateErr
		wg    sync.WaitGroup
		sem   = make(chan struct{}, limit)
	)
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		mu.Lock()
		stop := first != nil
		mu.Unlock()
		if stop {
			<-sem
			break
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			out, serr := child(cctx, i)
			if onDone != nil && serr != errAborted {
				onDone(i, serr)
			}
			if serr != nil {
				mu.Lock()
				if first == nil || first == errAborted {
					first = serr
				}
				mu.Unlock()
				if serr != errAborted {
					cancel()
				}
				return
			}
			outs[i] = out
		}(i)
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil, errAborted
	}
	if first != nil {
		return nil, first
	}
	return outs, nil
}

func (ru *run) mapState(ctx context.Context, th *thread, cs *cstate, rawIn, eff any, entered *HistoryEvent, attempt int) (any, *stateErr) {
	ctxFn := func() map[string]any { return ru.ctxObject(cs, entered, attempt, "", nil) }
	itemsVal := eff
	if cs.itemsPath != nil {
		v, err := evalRef(cs.itemsPath, eff, ctxFn)
		if err != nil {
			return nil, &stateErr{Error: ErrRuntime, Cause: fmt.Sprintf("Invalid path '%s': the ItemsPath could not be found in the input", cs.itemsPath.src)}
		}
		itemsVal = v
	}
	items, ok := itemsVal.([]any)
	if !ok {
		return nil, &stateErr{Error: ErrRuntime, Cause: fmt.Sprintf("Map state %s: the ItemsPath must point to a JSON array, got %s", cs.name, mustEncode(itemsVal))}
	}
	prefix := fmt.Sprintf("%s/%d.%d.", th.key, th.seq, attempt)
	if !ru.hasThread(prefix) {
		ru.emit(ctx, th, HistoryEvent{Type: EvMapStarted, EventDetails: &EventDetails{Length: len(items)}})
	}
	limit := 0
	if cs.st.MaxConcurrency != nil {
		limit = *cs.st.MaxConcurrency
	}
	if cs.maxConcPath != nil {
		v, err := evalRef(cs.maxConcPath, eff, ctxFn)
		f, ok := toFloat(v)
		if err != nil || !ok || f < 0 || f != math.Trunc(f) {
			return nil, &stateErr{Error: ErrRuntime, Cause: fmt.Sprintf("Invalid path '%s': MaxConcurrencyPath must resolve to a non-negative integer", cs.maxConcPath.src)}
		}
		limit = int(f)
	}
	if limit == 0 {
		limit = inlineMapConcurrency
	}
	var base map[string]any
	if cs.itemSelector != nil {
		base = ctxFn()
	}
	outs, serr := ru.fanOut(ctx, len(items), limit, func(ictx context.Context, i int) (any, *stateErr) {
		it := &thread{key: fmt.Sprintf("%s%d", prefix, i), last: th.last}
		if len(ru.replay[it.key]) == 0 {
			ru.emit(ictx, it, HistoryEvent{Type: EvMapIterationStarted, Name: cs.name, EventDetails: &EventDetails{Index: i}})
		}
		input := items[i]
		if cs.itemSelector != nil {
			obj := make(map[string]any, len(base)+1)
			for k, v := range base {
				obj[k] = v
			}
			obj["Map"] = map[string]any{"Item": map[string]any{"Index": json.Number(fmt.Sprint(i)), "Value": items[i]}}
			v, serr := cs.itemSelector.eval(eff, obj)
			if serr != nil {
				return nil, serr
			}
			input = v
		}
		out, serr := ru.runGraph(ictx, it, cs.processor, input)
		switch {
		case serr == nil:
			ru.emit(ictx, it, HistoryEvent{Type: EvMapIterationSucceed, Name: cs.name, EventDetails: &EventDetails{Index: i}})
		case serr != errAborted:
			ru.emit(ictx, it, HistoryEvent{Type: EvMapIterationFailed, Name: cs.name, EventDetails: &EventDetails{Index: i}})
		}
		return out, serr
	}, nil)
	if serr != nil {
		if serr != errAborted {
			ru.emit(ctx, th, HistoryEvent{Type: EvMapFailed, EventDetails: &EventDetails{Error: serr.Error, Cause: serr.Cause}})
		}
		return nil, serr
	}
	ru.emit(ctx, th, HistoryEvent{Type: EvMapSucceeded})
	return ru.finish(cs, rawIn, outs, ctxFn)
}
