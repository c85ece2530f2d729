package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"
)

// inlineMapConcurrency is how many iterations an inline Map runs at once
// when MaxConcurrency is 0 (unlimited): AWS runs up to 40.
const inlineMapConcurrency = 40

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
