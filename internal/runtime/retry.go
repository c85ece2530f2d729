package runtime

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/turbocat/turbocat/internal/asl"
)

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
		if ru.redriven && st.Type != asl.TypeTask {
			// A redriven Parallel or Map goes on with the branches or
			// iterations of its last attempt: those that succeeded are not
			// run again.
			attempt = ru.lastAttempt(th)
		}
	}
	if ru.test != nil {
		return ru.testAttempt(ctx, th, cs, in, entered)
	}
	for {
		th.assign = nil
		out, serr := ru.attempt(ctx, th, cs, in, entered, attempt, retries, &replayed)
		if serr == nil {
			return out, st.Next, nil
		}
		th.assign = nil
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
		if out, next, handled, cerr := ru.catch(th, cs, in, entered, retries, serr); handled {
			return out, next, cerr
		}
		return nil, "", serr
	}
}

// catch handles a state's error with the first Catch that matches it: the
// catcher's output (ResultPath or Output) and assignments. handled is
// false when no catcher matches.
func (ru *run) catch(th *thread, cs *cstate, in any, entered *HistoryEvent, retries int, serr *stateErr) (out any, next string, handled bool, cerr *stateErr) {
	for i, c := range cs.st.Catch {
		if !serr.matches(c.ErrorEquals) {
			continue
		}
		errOut := map[string]any{"Error": serr.Error, "Cause": serr.Cause}
		env := ru.env(th, cs, entered)
		env.retry = retries
		if ru.test != nil {
			ru.test.catchIndex = &i
		}
		if cs.jsonata {
			states := env.statesVar(in, "errorOutput", errOut)
			out, aerr := ru.outputAndAssign(cs.catchOutput[i], cs.catchAssign[i], errOut, env, states)
			if aerr != nil {
				return nil, "", true, aerr
			}
			return out, c.Next, true, nil
		}
		if a := cs.catchAssign[i]; a != nil {
			var aerr *stateErr
			if th.assign, aerr = evalAssign(a, errOut, env, nil); aerr != nil {
				return nil, "", true, aerr
			}
		}
		p, null := cs.catchPaths[i], cs.catchNull[i]
		out, perr := applyResultPath(p, null, in, errOut)
		if perr != nil {
			return nil, "", true, perr
		}
		return out, c.Next, true, nil
	}
	return nil, "", false, nil
}

// lastAttempt returns the highest attempt number of the Parallel or Map
// state the thread is in, from its branch or iteration threads.
func (ru *run) lastAttempt(th *thread) int {
	prefix := fmt.Sprintf("%s/%d.", th.key, th.seq)
	last := 0
	for k := range ru.replay {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		a, _, _ := strings.Cut(rest, ".")
		if n, err := strconv.Atoi(a); err == nil && n > last {
			last = n
		}
	}
	return last
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
	env := ru.env(th, cs, entered)
	env.retry = retries
	eff := in
	if !cs.jsonata {
		var serr *stateErr
		if eff, serr = cs.applyInput(in, env); serr != nil {
			return nil, serr
		}
		ru.note("afterInputPath", eff)
	}
	if ru.test != nil && ru.test.mock != nil && cs.st.Type != asl.TypeTask {
		result, serr := ru.test.mocked()
		if serr != nil {
			return nil, serr
		}
		return ru.finish(cs, in, result, env)
	}
	switch cs.st.Type {
	case asl.TypeTask:
		return ru.task(ctx, th, cs, in, eff, entered, retries, replayed)
	case asl.TypeParallel:
		return ru.parallel(ctx, th, cs, in, eff, env, attempt)
	default:
		return ru.mapState(ctx, th, cs, in, eff, env, attempt)
	}
}
