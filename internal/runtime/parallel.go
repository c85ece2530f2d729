package runtime

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
)

// inlineMapConcurrency is how many iterations an inline Map runs at once
// when MaxConcurrency is 0 (unlimited): AWS runs up to 40.
const inlineMapConcurrency = 40

func (ru *run) parallel(ctx context.Context, th *thread, cs *cstate, rawIn, eff any, env *stateEnv, attempt int) (any, *stateErr) {
	var serr *stateErr
	switch {
	case cs.jsonata && cs.jArgs != nil:
		if eff, serr = cs.jArgs.eval(env, env.statesVar(rawIn)); serr != nil {
			return nil, serr
		}
	case cs.params != nil:
		if eff, serr = cs.params.eval(eff, env); serr != nil {
			return nil, serr
		}
	}
	prefix := fmt.Sprintf("%s/%d.%d.", th.key, th.seq, attempt)
	if !ru.hasThread(prefix) {
		ru.emit(th, HistoryEvent{Type: EvParallelStarted})
	}
	outs, serr := ru.fanOut(ctx, len(cs.branches), 0, func(bctx context.Context, i int) (any, *stateErr) {
		return ru.runGraph(bctx, th.child(fmt.Sprintf("%s%d", prefix, i)), cs.branches[i], eff)
	}, nil)
	return ru.fannedIn(th, cs, rawIn, outs, env, serr, EvParallelFailed, EvParallelSucceeded)
}

// fannedIn ends a Parallel or Map state once its branches or iterations
// are done: the failed event (unless aborted) or the succeeded one, then
// the state's output processing.
func (ru *run) fannedIn(th *thread, cs *cstate, rawIn, outs any, env *stateEnv, serr *stateErr, failed, succeeded string) (any, *stateErr) {
	if serr != nil {
		if serr != errAborted {
			ru.emit(th, HistoryEvent{Type: failed, EventDetails: &EventDetails{Error: serr.Error, Cause: serr.Cause}})
		}
		return nil, serr
	}
	ru.emit(th, HistoryEvent{Type: succeeded})
	return ru.finish(cs, rawIn, outs, env)
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

func (ru *run) mapState(ctx context.Context, th *thread, cs *cstate, rawIn, eff any, env *stateEnv, attempt int) (any, *stateErr) {
	itemsVal := eff
	switch {
	case cs.jsonata && cs.jItems != nil:
		v, serr := cs.jItems.eval(env, env.statesVar(rawIn))
		if serr != nil {
			return nil, serr
		}
		if _, ok := v.([]any); !ok && cs.jItems.kind == tmplJSONata {
			return nil, env.queryError(cs.jItems, "the Items value must be a JSON array, got "+mustEncode(v))
		}
		itemsVal = v
	case cs.itemsPath != nil:
		v, err := evalRef(cs.itemsPath, eff, env)
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
		ru.emit(th, HistoryEvent{Type: EvMapStarted, EventDetails: &EventDetails{Length: len(items)}})
	}
	limit := 0
	if cs.st.MaxConcurrency != nil {
		limit = *cs.st.MaxConcurrency
	}
	if f, ok, serr := cs.jsonataNumber("MaxConcurrency", env, rawIn); ok {
		if serr != nil {
			return nil, serr
		}
		limit = int(f)
	}
	if cs.maxConcPath != nil {
		v, err := evalRef(cs.maxConcPath, eff, env)
		f, ok := toFloat(v)
		if err != nil || !ok || f < 0 || f != math.Trunc(f) {
			return nil, &stateErr{Error: ErrRuntime, Cause: fmt.Sprintf("Invalid path '%s': MaxConcurrencyPath must resolve to a non-negative integer", cs.maxConcPath.src)}
		}
		limit = int(f)
	}
	if limit == 0 {
		limit = inlineMapConcurrency
	}
	outs, serr := ru.fanOut(ctx, len(items), limit, func(ictx context.Context, i int) (any, *stateErr) {
		it := th.child(fmt.Sprintf("%s%d", prefix, i))
		if len(ru.replay[it.key]) == 0 {
			ru.emit(it, HistoryEvent{Type: EvMapIterationStarted, Name: cs.name, EventDetails: &EventDetails{Index: i}})
		}
		input := items[i]
		switch {
		case cs.jsonata && cs.jItemSelector != nil:
			ienv := env.withItem(i, items[i])
			v, serr := cs.jItemSelector.eval(ienv, ienv.statesVar(rawIn))
			if serr != nil {
				return nil, serr
			}
			input = v
		case cs.itemSelector != nil:
			v, serr := cs.itemSelector.eval(eff, env.withItem(i, items[i]))
			if serr != nil {
				return nil, serr
			}
			input = v
		}
		out, serr := ru.runGraph(ictx, it, cs.processor, input)
		switch {
		case serr == nil && ru.replayed(it.key, EvMapIterationSucceed):
		case serr == nil:
			ru.emit(it, HistoryEvent{Type: EvMapIterationSucceed, Name: cs.name, EventDetails: &EventDetails{Index: i}})
		case serr != errAborted:
			ru.emit(it, HistoryEvent{Type: EvMapIterationFailed, Name: cs.name, EventDetails: &EventDetails{Index: i}})
		}
		return out, serr
	}, nil)
	return ru.fannedIn(th, cs, rawIn, outs, env, serr, EvMapFailed, EvMapSucceeded)
}
