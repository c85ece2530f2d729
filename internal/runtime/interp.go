package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	// recording: the execution keeps a history (every execution except a
	// synchronous Express one); durable: its events are journaled (every
	// STANDARD execution, when the runtime has a journal).
	recording bool
	durable   bool
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
	jctx     context.Context // for journal writes: canceled only when the runtime closes
	// recording is false for executions that keep no history (synchronous
	// Express executions): no events are built, none journaled.
	recording bool
	// redriven: the run continues an execution RedriveExecution restarted.
	redriven bool
	// test is set when the run is a TestState call.
	test *testRun
}

// historyLength is the number of events the execution's history holds.
func (ru *run) historyLength() int64 {
	ru.ex.mu.Lock()
	defer ru.ex.mu.Unlock()
	return ru.ex.nextID
}

type thread struct {
	key  string
	seq  int
	last int64
	// unjournaledFailure: the last Task attempt failed calling a
	// replay-safe function, whose call was not journaled (see ReplaySafe).
	unjournaledFailure bool
	// vars is the thread's variable scope (nil when the program assigns
	// none); assign holds the assignments of the state being run, applied
	// when it exits.
	vars   *varScope
	assign map[string]any
	// scratch stands in for events when the run records no history.
	scratch [2]HistoryEvent
}

// child returns a thread for a Parallel branch or Map iteration.
func (th *thread) child(key string) *thread {
	c := &thread{key: key, last: th.last}
	if th.vars != nil {
		c.vars = newScope(th.vars)
	}
	return c
}

// errAborted marks a state interrupted by cancellation.
var errAborted = &stateErr{Error: "__aborted"}

type execTimeout struct{}

func (execTimeout) Error() string { return "execution timed out" }

// launch runs an execution on a worker: a new one (replay nil), one
// resumed after a restart (replay: its journaled history), or a redriven
// one (redriven; replay: the events of the states that succeeded).
func (r *Runtime) launch(ex *execution, prog *program, input any, replay []*HistoryEvent, redriven bool) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ex.mu.Lock()
	ex.cancel = cancel
	if n := len(ex.events); n > 0 {
		ex.nextID = ex.events[n-1].ID
	}
	ex.mu.Unlock()
	ru := &run{r: r, ex: ex, prog: prog, input: input, jctx: r.closeCtx, recording: ex.recording || redriven, redriven: redriven}
	if replay != nil || redriven {
		ru.replay = map[string][]*HistoryEvent{}
		for _, e := range replay {
			ru.replay[e.Thread] = append(ru.replay[e.Thread], e)
		}
	}
	if redriven {
		ru.emit(&thread{}, HistoryEvent{Type: EvExecutionRedriven, EventDetails: &EventDetails{Index: ex.rec.RedriveCount}})
		ru.flush()
	}
	r.wg.Add(1)
	r.goExec(func() {
		defer r.wg.Done()
		defer cancel(nil)
		ru.main(ctx)
	})
}

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
				"StartTime": fmtTime(ex.rec.StartDate), "RedriveCount": json.Number(fmt.Sprint(ex.rec.RedriveCount)),
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
	if ru.prog.usesVars {
		root.vars = newScope(nil)
	}
	// A resumed execution may have no journaled event yet (its first
	// events were not journaled before the crash): it starts over.
	if len(ru.replay) == 0 {
		ru.emit(root, HistoryEvent{Type: EvExecutionStarted, Input: ru.input, HasInput: true, EventDetails: &EventDetails{Resource: ex.rec.RoleArn}})
	}
	if ru.replay == nil && ru.recording {
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
	ru.emit(root, *final)
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
	ru.end(&rec)
	ru.dropTokens()
	close(ex.done)
	if ru.recording {
		r.notify(ex)
		r.noteClosed(ex)
	}
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

func isEntered(t string) bool { return strings.HasSuffix(t, "StateEntered") }
func isExited(t string) bool  { return strings.HasSuffix(t, "StateExited") }

// MaxHistoryEvents is the number of events an execution's history may
// hold; the execution fails when it would exceed it, as on AWS.
const MaxHistoryEvents = 25000

// runGraph runs states from g.startAt until one ends the thread.
func (ru *run) runGraph(ctx context.Context, th *thread, g *graph, input any) (any, *stateErr) {
	name, in := g.startAt, input
	var resume *HistoryEvent
	if ru.replay != nil {
		evs := ru.replay[th.key]
		if len(evs) > 0 {
			th.last = evs[len(evs)-1].ID
		}
		// Variables assigned before the restart.
		for _, e := range evs {
			if isExited(e.Type) && e.EventDetails != nil && len(e.Assigned) > 0 {
				th.vars.set(e.Assigned)
			}
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
			if cs.st.Type == asl.TypeWait {
				entered = ru.emitWaitEntered(th, cs, name, in, at)
			} else {
				entered = ru.emit(th, HistoryEvent{Type: cs.enteredTyp, Name: name, Input: in, HasInput: true, Timestamp: at})
			}
		}
		th.assign = nil
		out, next, serr := ru.exec(ctx, th, cs, in, entered, resume != nil)
		resume = nil
		if serr != nil {
			return nil, serr
		}
		if ru.recording && ru.historyLength() >= MaxHistoryEvents-1 {
			return nil, &stateErr{Error: ErrRuntime, Cause: fmt.Sprintf("The execution exceeded the limit of %d history events.", MaxHistoryEvents)}
		}
		at = ru.r.clock.Now()
		exited := HistoryEvent{Type: cs.exitedTyp, Name: name, Output: out, HasOutput: true, Next: next, Timestamp: at}
		if th.assign != nil {
			th.vars.set(th.assign)
			exited.EventDetails = &EventDetails{Assigned: th.assign}
			th.assign = nil
		}
		ru.emit(th, exited)
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

// stateEnv is what one state's paths and expressions see: the context
// object (built on first use) and the thread's variables.
type stateEnv struct {
	ru      *run
	cs      *cstate
	th      *thread
	entered *HistoryEvent
	retry   int
	token   string
	item    *[2]any
	ctxObj  map[string]any
}

func (ru *run) env(th *thread, cs *cstate, entered *HistoryEvent) *stateEnv {
	return &stateEnv{ru: ru, cs: cs, th: th, entered: entered}
}

func (e *stateEnv) context() map[string]any {
	if e.ctxObj == nil {
		e.ctxObj = e.ru.ctxObject(e.cs, e.entered, e.retry, e.token, e.item)
	}
	return e.ctxObj
}

func (e *stateEnv) vars() *varScope {
	if e.th == nil {
		return nil
	}
	return e.th.vars
}

func (e *stateEnv) enteredID() int64 {
	if e.entered == nil {
		return 0
	}
	return e.entered.ID
}

// withItem returns a copy of the environment whose context has
// $$.Map.Item set.
func (e *stateEnv) withItem(index int, value any) *stateEnv {
	c := *e
	c.item = &[2]any{json.Number(fmt.Sprint(index)), value}
	c.ctxObj = nil
	return &c
}

func (cs *cstate) applyInput(in any, env *stateEnv) (any, *stateErr) {
	if cs.inputNull {
		return map[string]any{}, nil
	}
	if cs.inputPath == nil {
		return in, nil
	}
	v, err := cs.inputPath.evalIn(in, env)
	if err != nil {
		return nil, &stateErr{Error: ErrRuntime, Cause: fmt.Sprintf("Invalid path '%s' : No results for path: $['%s']", cs.inputPath.src, strings.TrimPrefix(cs.inputPath.src, "$."))}
	}
	return v, nil
}

func (cs *cstate) applyOutput(out any, env *stateEnv) (any, *stateErr) {
	if cs.outputNull {
		return map[string]any{}, nil
	}
	if cs.outputPath == nil {
		return out, nil
	}
	v, err := cs.outputPath.evalIn(out, env)
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

// finish turns a Task, Parallel or Map result into the state's output:
// ResultSelector, Assign, ResultPath and OutputPath in JSONPath states;
// Output and Assign in JSONata states.
func (ru *run) finish(cs *cstate, rawIn, result any, env *stateEnv) (any, *stateErr) {
	if cs.jsonata {
		ru.note("result", result)
		states := env.statesVar(rawIn, "result", result)
		return ru.outputAndAssign(cs.jOutput, cs.assign, result, env, states)
	}
	ru.note("result", result)
	if cs.resultSelector != nil {
		var serr *stateErr
		if result, serr = cs.resultSelector.eval(result, env); serr != nil {
			return nil, serr
		}
		if serr = checkSize(result, cs.name); serr != nil {
			return nil, serr
		}
		ru.note("afterResultSelector", result)
	}
	if cs.assign != nil {
		a, serr := evalAssign(cs.assign, result, env, nil)
		if serr != nil {
			return nil, serr
		}
		env.th.assign = a
	}
	out, serr := applyResultPath(cs.resultPath, cs.resultNull, rawIn, result)
	if serr != nil {
		return nil, serr
	}
	ru.note("afterResultPath", out)
	return cs.applyOutput(out, env)
}

// outputAndAssign evaluates a JSONata state's Output (def when absent) and
// Assign, both against the same $states and variables.
func (ru *run) outputAndAssign(output *jtmpl, assign *assignment, def any, env *stateEnv, states map[string]any) (any, *stateErr) {
	out := def
	if output != nil {
		var serr *stateErr
		if out, serr = output.eval(env, states); serr != nil {
			return nil, serr
		}
		if serr = checkSize(out, env.cs.name); serr != nil {
			return nil, serr
		}
	}
	if assign != nil {
		a, serr := evalAssign(assign, nil, env, states)
		if serr != nil {
			return nil, serr
		}
		env.th.assign = a
	}
	return out, nil
}

// exec runs one state and returns its output and next state ("" to end).
func (ru *run) exec(ctx context.Context, th *thread, cs *cstate, in any, entered *HistoryEvent, resuming bool) (any, string, *stateErr) {
	st := cs.st
	switch st.Type {
	case asl.TypeTask, asl.TypeParallel, asl.TypeMap:
		return ru.withRetry(ctx, th, cs, in, entered, resuming)
	}
	env := ru.env(th, cs, entered)
	if cs.jsonata {
		return ru.execJSONata(ctx, cs, in, entered, env)
	}
	next := st.Next
	switch st.Type {
	case asl.TypePass:
		// The common case, a Pass state without processing, allocates nothing.
		if cs.inputPath == nil && !cs.inputNull && cs.params == nil && !cs.hasResult && cs.resultPath == nil && !cs.resultNull &&
			cs.outputPath == nil && !cs.outputNull && cs.assign == nil {
			return in, next, nil
		}
		eff, serr := cs.applyInput(in, env)
		if serr != nil {
			return nil, "", serr
		}
		ru.note("afterInputPath", eff)
		if cs.params != nil {
			if eff, serr = cs.params.eval(eff, env); serr != nil {
				return nil, "", serr
			}
			if serr = checkSize(eff, cs.name); serr != nil {
				return nil, "", serr
			}
			ru.note("afterParameters", eff)
		}
		result := eff
		if cs.hasResult {
			result = cs.result
		}
		if cs.assign != nil {
			if th.assign, serr = evalAssign(cs.assign, result, env, nil); serr != nil {
				return nil, "", serr
			}
		}
		out, serr := applyResultPath(cs.resultPath, cs.resultNull, in, result)
		if serr != nil {
			return nil, "", serr
		}
		ru.note("afterResultPath", out)
		out, serr = cs.applyOutput(out, env)
		return out, next, serr
	case asl.TypeSucceed:
		eff, serr := cs.applyInput(in, env)
		if serr != nil {
			return nil, "", serr
		}
		out, serr := cs.applyOutput(eff, env)
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
			v, serr := x.expr.eval(in, env)
			s, ok := v.(string)
			if serr != nil || !ok {
				return nil, "", &stateErr{Error: ErrRuntime, Cause: fmt.Sprintf("%s did not resolve to a string", x.field)}
			}
			*x.dst = s
		}
		return nil, "", e
	case asl.TypeChoice:
		eff, serr := cs.applyInput(in, env)
		if serr != nil {
			return nil, "", serr
		}
		target := ""
		var matched *choice
		for _, c := range cs.choices {
			ok, serr := c.eval(eff, env)
			if serr != nil {
				return nil, "", serr
			}
			if ok {
				target, matched = c.next, c
				break
			}
		}
		assign := cs.assign
		if matched != nil {
			assign = matched.assign
		} else {
			target = st.Default
		}
		if target == "" {
			return nil, "", &stateErr{Error: ErrNoChoiceMatched, Cause: fmt.Sprintf("No Matches! in state %s", cs.name)}
		}
		if assign != nil {
			if th.assign, serr = evalAssign(assign, eff, env, nil); serr != nil {
				return nil, "", serr
			}
		}
		out, serr := cs.applyOutput(eff, env)
		return out, target, serr
	case asl.TypeWait:
		eff, serr := cs.applyInput(in, env)
		if serr != nil {
			return nil, "", serr
		}
		if entered.details().Deadline.IsZero() {
			if _, serr := ru.waitDuration(cs, eff, env); serr != nil {
				return nil, "", serr
			}
		}
		if serr := ru.sleepUntil(ctx, entered.details().Deadline); serr != nil {
			return nil, "", serr
		}
		if cs.assign != nil {
			if th.assign, serr = evalAssign(cs.assign, eff, env, nil); serr != nil {
				return nil, "", serr
			}
		}
		out, serr := cs.applyOutput(eff, env)
		return out, next, serr
	}
	return nil, "", &stateErr{Error: ErrRuntime, Cause: "unsupported state type " + st.Type}
}

// sleepUntil journals what is pending and waits until deadline (TestState
// does not wait).
func (ru *run) sleepUntil(ctx context.Context, deadline time.Time) *stateErr {
	if ru.test != nil {
		return nil
	}
	ru.flush()
	if d := deadline.Sub(ru.r.clock.Now()); d > 0 {
		if err := ru.r.clock.Sleep(ctx, d); err != nil {
			return errAborted
		}
	}
	if ctx.Err() != nil {
		return errAborted
	}
	return nil
}

// execJSONata runs a Pass, Succeed, Fail, Choice or Wait state whose query
// language is JSONata.
func (ru *run) execJSONata(ctx context.Context, cs *cstate, in any, entered *HistoryEvent, env *stateEnv) (any, string, *stateErr) {
	st := cs.st
	states := env.statesVar(in)
	switch st.Type {
	case asl.TypePass:
		out, serr := ru.outputAndAssign(cs.jOutput, cs.assign, in, env, states)
		return out, st.Next, serr
	case asl.TypeSucceed:
		out, serr := ru.outputAndAssign(cs.jOutput, nil, in, env, states)
		return out, "", serr
	case asl.TypeFail:
		e := &stateErr{}
		for _, x := range []struct {
			t   *jtmpl
			dst *string
		}{{cs.jError, &e.Error}, {cs.jCause, &e.Cause}} {
			if x.t == nil {
				continue
			}
			v, serr := x.t.eval(env, states)
			if serr != nil {
				return nil, "", serr
			}
			s, ok := v.(string)
			if !ok {
				return nil, "", env.queryError(x.t, "the value must be a string, got "+mustEncode(v))
			}
			*x.dst = s
		}
		return nil, "", e
	case asl.TypeChoice:
		for _, c := range cs.choices {
			ok, serr := c.evalCondition(env, states)
			if serr != nil {
				return nil, "", serr
			}
			if ok {
				out, serr := ru.outputAndAssign(c.output, c.assign, in, env, states)
				return out, c.next, serr
			}
		}
		if st.Default == "" {
			return nil, "", &stateErr{Error: ErrNoChoiceMatched, Cause: fmt.Sprintf("No Matches! in state %s", cs.name)}
		}
		out, serr := ru.outputAndAssign(cs.jOutput, cs.assign, in, env, states)
		return out, st.Default, serr
	case asl.TypeWait:
		if entered.details().Deadline.IsZero() {
			if _, serr := ru.waitDuration(cs, in, env); serr != nil {
				return nil, "", serr
			}
		}
		if serr := ru.sleepUntil(ctx, entered.details().Deadline); serr != nil {
			return nil, "", serr
		}
		out, serr := ru.outputAndAssign(cs.jOutput, cs.assign, in, env, states)
		return out, st.Next, serr
	}
	return nil, "", &stateErr{Error: ErrRuntime, Cause: "unsupported state type " + st.Type}
}

// evalCondition evaluates a JSONata Choice rule's Condition.
func (c *choice) evalCondition(env *stateEnv, states map[string]any) (bool, *stateErr) {
	if c.cond == nil {
		return false, nil
	}
	v, serr := c.cond.eval(env, states)
	if serr != nil {
		return false, serr
	}
	b, ok := v.(bool)
	if !ok {
		return false, env.queryError(c.cond, "the Condition must evaluate to a boolean, got "+mustEncode(v))
	}
	return b, nil
}

// jsonataNumber evaluates a JSONata state's numeric field (TimeoutSeconds,
// Seconds, ...): ok is false when the field is not an expression.
func (cs *cstate) jsonataNumber(field string, env *stateEnv, input any) (float64, bool, *stateErr) {
	t := cs.jNumbers[field]
	if t == nil {
		return 0, false, nil
	}
	v, serr := t.eval(env, env.statesVar(input))
	if serr != nil {
		return 0, true, serr
	}
	f, ok := toFloat(v)
	if !ok || f < 0 || f != math.Trunc(f) {
		return 0, true, env.queryError(t, "the value must be a non-negative integer, got "+mustEncode(v))
	}
	return f, true, nil
}

func evalRef(p *jsonPath, in any, env *stateEnv) (any, error) {
	return p.evalIn(in, env)
}

func (ru *run) waitDuration(cs *cstate, eff any, env *stateEnv) (time.Time, *stateErr) {
	now := ru.r.clock.Now()
	st := cs.st
	if cs.jsonata {
		if f, ok, serr := cs.jsonataNumber("Seconds", env, eff); ok {
			if serr != nil {
				return time.Time{}, serr
			}
			return now.Add(time.Duration(f) * time.Second), nil
		}
		if cs.jTimestamp != nil && cs.jTimestamp.kind == tmplJSONata {
			v, serr := cs.jTimestamp.eval(env, env.statesVar(eff))
			if serr != nil {
				return time.Time{}, serr
			}
			if s, ok := v.(string); ok {
				if t, ok := parseTimestamp(s); ok {
					return t, nil
				}
			}
			return time.Time{}, env.queryError(cs.jTimestamp, "the value must be an RFC 3339 timestamp, got "+mustEncode(v))
		}
	}
	switch {
	case st.Seconds != nil:
		return now.Add(time.Duration(*st.Seconds) * time.Second), nil
	case !cs.timestamp.IsZero():
		return cs.timestamp, nil
	case cs.secondsPath != nil:
		v, err := cs.secondsPath.evalIn(eff, env)
		f, ok := toFloat(v)
		if err != nil || !ok || f < 0 || f != math.Trunc(f) {
			return time.Time{}, &stateErr{Error: ErrRuntime, Cause: fmt.Sprintf("Invalid path '%s': the SecondsPath value must be a non-negative integer", cs.secondsPath.src)}
		}
		return now.Add(time.Duration(f) * time.Second), nil
	case cs.timestampPath != nil:
		v, err := cs.timestampPath.evalIn(eff, env)
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
// emitWaitEntered records a Wait state's entry with its deadline (so a
// resumed run waits until the same time). It is apart from the other
// states' entry so that their event needs no heap allocation.
func (ru *run) emitWaitEntered(th *thread, cs *cstate, name string, in any, at time.Time) *HistoryEvent {
	e := HistoryEvent{Type: cs.enteredTyp, Name: name, Input: in, HasInput: true, Timestamp: at}
	e.EventDetails = &EventDetails{Deadline: ru.waitDeadline(th, cs, in, &e)}
	return ru.emit(th, e)
}

func (ru *run) waitDeadline(th *thread, cs *cstate, in any, entered *HistoryEvent) time.Time {
	env := ru.env(th, cs, entered)
	eff := in
	if !cs.jsonata {
		var serr *stateErr
		if eff, serr = cs.applyInput(in, env); serr != nil {
			return time.Time{}
		}
	}
	t, serr := ru.waitDuration(cs, eff, env)
	if serr != nil {
		return time.Time{}
	}
	return t
}
