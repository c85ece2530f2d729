package runtime

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

type tokenWaiter struct {
	exec    string
	result  chan tokenResult
	beat    chan struct{}
	started chan string // an activity worker took the task
}

type tokenResult struct {
	output any
	err    *stateErr
}

type callResult struct {
	out json.RawMessage
	err error
}

// tokenLen is the length of the tokens newToken makes.
var tokenLen = len(newToken())

// validToken reports whether s has the shape of a token this runtime
// issues (anything else is InvalidToken, as AWS answers a token it did not
// issue).
func validToken(s string) bool {
	if len(s) != tokenLen || !strings.HasPrefix(s, "TC1") {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s[3:])
	return err == nil
}

func newToken() string {
	var b [48]byte
	_, _ = rand.Read(b[:])
	return "TC1" + base64.RawURLEncoding.EncodeToString(b[:])
}

func isTerminalTaskEvent(t string) bool {
	switch t {
	case EvTaskSucceeded, EvTaskFailed, EvTaskTimedOut, EvLambdaSucceeded, EvLambdaFailed, EvLambdaTimedOut,
		EvActivitySucceeded, EvActivityFailed, EvActivityTimedOut:
		return true
	}
	return false
}

// task runs one attempt of a Task state.
func (ru *run) task(ctx context.Context, th *thread, cs *cstate, rawIn, eff any, entered *HistoryEvent, retries int, replayed *[]*HistoryEvent) (any, *stateErr) {
	// Events journaled for this attempt before a restart.
	var rp []*HistoryEvent
	for len(*replayed) > 0 {
		e := (*replayed)[0]
		*replayed = (*replayed)[1:]
		rp = append(rp, e)
		if isTerminalTaskEvent(e.Type) {
			break
		}
	}
	lambdaEvents := cs.res == resLambda
	activity := cs.res == resActivity
	var scheduled *HistoryEvent
	activityStarted := false
	for _, e := range rp {
		switch e.Type {
		case EvTaskScheduled, EvLambdaScheduled, EvActivityScheduled:
			scheduled = e
		case EvActivityStarted:
			activityStarted = true
		case EvTaskSucceeded, EvLambdaSucceeded, EvActivitySucceeded:
			env := ru.env(th, cs, entered)
			env.retry = retries
			return ru.finish(cs, rawIn, e.Output, env)
		case EvTaskFailed, EvLambdaFailed, EvTaskTimedOut, EvLambdaTimedOut, EvActivityFailed, EvActivityTimedOut:
			return nil, &stateErr{Error: e.details().Error, Cause: e.details().Cause}
		}
	}

	token := ""
	if cs.token {
		token = newToken()
		if scheduled != nil && scheduled.details().Token != "" {
			token = scheduled.details().Token
		}
	}
	env := ru.env(th, cs, entered)
	env.retry, env.token = retries, token
	params := eff
	switch {
	case cs.jsonata && cs.jArgs != nil:
		var serr *stateErr
		if params, serr = cs.jArgs.eval(env, env.statesVar(rawIn)); serr != nil {
			return nil, serr
		}
		if serr = checkSize(params, cs.name); serr != nil {
			return nil, serr
		}
		ru.note("afterArguments", params)
	case cs.params != nil:
		var serr *stateErr
		if params, serr = cs.params.eval(eff, env); serr != nil {
			return nil, serr
		}
		if serr = checkSize(params, cs.name); serr != nil {
			return nil, serr
		}
		ru.note("afterParameters", params)
	}
	if ru.test != nil && ru.test.mock != nil {
		result, serr := ru.test.mocked()
		if serr != nil {
			return nil, serr
		}
		return ru.finish(cs, rawIn, result, env)
	}
	timeout, heartbeat, serr := ru.taskTimeouts(cs, eff, env)
	if serr != nil {
		return nil, serr
	}

	// replaySafe: the function answers a repeated call from its own record
	// (see ReplaySafe), so the call need not be journaled before it is made.
	// A task token must be journaled before the call: it is the only record
	// of the dispatched task.
	replaySafe := false
	fail := func(typ string, e *stateErr) (any, *stateErr) {
		ru.emit(th, HistoryEvent{Type: typ, EventDetails: &EventDetails{Error: e.Error, Cause: e.Cause, ResourceType: cs.resourceType, Resource: cs.resource}})
		if replaySafe {
			// Calling it again would run a failed step again: withRetry
			// journals the failure before anything acts on it.
			th.unjournaledFailure = true
		}
		return nil, e
	}
	failType, timeoutType := EvTaskFailed, EvTaskTimedOut
	switch {
	case lambdaEvents:
		failType, timeoutType = EvLambdaFailed, EvLambdaTimedOut
	case activity:
		failType, timeoutType = EvActivityFailed, EvActivityTimedOut
	}

	// Resolve the function and payload.
	var fnName string
	payloadVal := params
	switch cs.res {
	case resLambdaInvoke:
		m, ok := params.(map[string]any)
		name, _ := m["FunctionName"].(string)
		if !ok || name == "" {
			return fail(failType, &stateErr{Error: ErrRuntime, Cause: "lambda:invoke requires a FunctionName parameter"})
		}
		fnName = functionName(name)
		payloadVal = m["Payload"]
		if _, has := m["Payload"]; !has {
			payloadVal = map[string]any{}
		}
	default:
		fnName = cs.resName
	}

	deadline := time.Time{}
	if scheduled != nil {
		deadline = scheduled.details().Deadline
	} else {
		if timeout > 0 {
			deadline = ru.r.clock.Now().Add(timeout)
		}
		now := ru.r.clock.Now()
		switch {
		case activity:
			ru.emit(th, HistoryEvent{Timestamp: now, Type: EvActivityScheduled, Input: params, HasInput: true, EventDetails: &EventDetails{Resource: cs.resource,
				Timeout: int64(timeout / time.Second), Heartbeat: int64(heartbeat / time.Second), Token: token, Deadline: deadline}})
		case lambdaEvents:
			det := cs.resDetails // shared and immutable when nothing per-call is in it
			if timeout > 0 || !deadline.IsZero() {
				det = &EventDetails{Resource: cs.resource, Timeout: int64(timeout / time.Second), Deadline: deadline}
			}
			ru.emit(th, HistoryEvent{Timestamp: now, Type: EvLambdaScheduled, Input: params, HasInput: true, EventDetails: det})
			ru.emit(th, HistoryEvent{Timestamp: now, Type: EvLambdaStarted})
		default:
			ru.emit(th, HistoryEvent{Timestamp: now, Type: EvTaskScheduled, EventDetails: &EventDetails{ResourceType: cs.resourceType, Resource: cs.resource, Parameters: params, Timeout: int64(timeout / time.Second), Heartbeat: int64(heartbeat / time.Second), Token: token, Deadline: deadline}})
			ru.emit(th, HistoryEvent{Timestamp: now, Type: EvTaskStarted, EventDetails: cs.resDetails})
		}
	}

	var f registered
	ok := true
	switch cs.res {
	case resActivity:
		f.fn = ru.activityFunction(cs, token)
	case resStartExecution:
		f.fn = ru.startExecutionFunction(cs, th, retries)
	default:
		f, ok = ru.r.function(fnName)
		if !ok && cs.res == resService {
			f, ok = ru.r.function(cs.st.Resource)
		}
	}
	fn := f.fn
	if !ok {
		if cs.res == resService {
			return fail(failType, &stateErr{Error: ErrTaskFailed, Cause: fmt.Sprintf("Resource %s is not supported by the local runtime: no function is registered for it", cs.st.Resource)})
		}
		return fail(failType, &stateErr{Error: "Lambda.ResourceNotFoundException", Cause: fmt.Sprintf("Function not found: arn:aws:lambda:%s:%s:function:%s (no function registered under that name)", ru.r.region, ru.r.account, fnName)})
	}
	payload, err := rawJSON(payloadVal)
	if err != nil {
		return fail(failType, &stateErr{Error: ErrRuntime, Cause: fmt.Sprintf("encode task payload: %v", err)})
	}
	// A token task already dispatched before a restart is not dispatched
	// again, except an activity task no worker had taken: it is queued again
	// (the queue is in memory).
	skipCall := scheduled != nil && token != "" && !(activity && !activityStarted)
	onSubmitted := func(out json.RawMessage) {
		if activity {
			return
		}
		v, _ := decodeJSON(out)
		ru.emit(th, HistoryEvent{Type: EvTaskSubmitted, Output: v, HasOutput: true, EventDetails: &EventDetails{ResourceType: cs.resourceType, Resource: cs.resource}})
		ru.flush()
	}
	onStarted := func(worker string) {
		ru.emit(th, HistoryEvent{Type: EvActivityStarted, EventDetails: &EventDetails{Resource: worker}})
		ru.flush()
	}
	replaySafe = ok && f.replaySafe && token == ""
	if !replaySafe {
		ru.flush()
	}
	result, serr := ru.invoke(ctx, fn, payload, deadline, heartbeat, token, skipCall, onSubmitted, onStarted)
	if serr != nil {
		if serr == errAborted {
			return nil, serr
		}
		if serr.Error == ErrTimeout || serr.Error == ErrHeartbeatTimeout {
			return fail(timeoutType, serr)
		}
		return fail(failType, serr)
	}
	if cs.res == resLambdaInvoke && token == "" {
		rid := newUUID()
		result = map[string]any{
			"ExecutedVersion": "$LATEST",
			"Payload":         result,
			"SdkHttpMetadata": map[string]any{
				"HttpHeaders":    map[string]any{"Content-Type": "application/json", "X-Amz-Executed-Version": "$LATEST", "x-amzn-RequestId": rid},
				"HttpStatusCode": json.Number("200"),
			},
			"SdkResponseMetadata": map[string]any{"RequestId": rid},
			"StatusCode":          json.Number("200"),
		}
	}
	switch {
	case activity:
		ru.emit(th, HistoryEvent{Type: EvActivitySucceeded, Output: result, HasOutput: true})
	case lambdaEvents:
		ru.emit(th, HistoryEvent{Type: EvLambdaSucceeded, Output: result, HasOutput: true})
	default:
		ru.emit(th, HistoryEvent{Type: EvTaskSucceeded, Output: result, HasOutput: true, EventDetails: cs.resDetails})
	}
	if replaySafe {
		ru.flushIfDue()
	} else {
		ru.flush()
	}
	return ru.finish(cs, rawIn, result, env)
}

func (ru *run) taskTimeouts(cs *cstate, eff any, env *stateEnv) (time.Duration, time.Duration, *stateErr) {
	var timeout, heartbeat time.Duration
	st := cs.st
	if st.TimeoutSeconds != nil {
		timeout = time.Duration(*st.TimeoutSeconds) * time.Second
	}
	if st.HeartbeatSeconds != nil {
		heartbeat = time.Duration(*st.HeartbeatSeconds) * time.Second
	}
	if len(cs.jNumbers) > 0 {
		for _, x := range [...]struct {
			field string
			dst   *time.Duration
		}{{"TimeoutSeconds", &timeout}, {"HeartbeatSeconds", &heartbeat}} {
			if f, ok, serr := cs.jsonataNumber(x.field, env, eff); ok {
				if serr != nil {
					return 0, 0, serr
				}
				if f <= 0 {
					return 0, 0, env.queryError(cs.jNumbers[x.field], "the value must be a positive integer")
				}
				*x.dst = time.Duration(f) * time.Second
			}
		}
	}
	for _, x := range []struct {
		p   *jsonPath
		dst *time.Duration
	}{{cs.timeoutPath, &timeout}, {cs.heartbeatPath, &heartbeat}} {
		if x.p == nil {
			continue
		}
		v, err := x.p.evalIn(eff, env)
		f, ok := toFloat(v)
		if err != nil || !ok || f <= 0 {
			return 0, 0, &stateErr{Error: ErrRuntime, Cause: fmt.Sprintf("Invalid path '%s': the value must be a positive integer", x.p.src)}
		}
		*x.dst = time.Duration(f) * time.Second
	}
	return timeout, heartbeat, nil
}

func toStateErr(ctx context.Context, err error) *stateErr {
	if ctx.Err() != nil {
		return errAborted
	}
	var te *TaskError
	if errors.As(err, &te) {
		return &stateErr{Error: te.Name, Cause: te.Cause}
	}
	return &stateErr{Error: ErrTaskFailed, Cause: err.Error()}
}

func decodeResult(out json.RawMessage) (any, *stateErr) {
	if len(out) > MaxPayloadBytes {
		return nil, &stateErr{Error: ErrDataLimitExceeded, Cause: fmt.Sprintf("The state/task returned a result with a size exceeding the maximum number of bytes service limit (%d bytes).", MaxPayloadBytes)}
	}
	if len(out) == 0 {
		return nil, nil
	}
	v, err := decodeJSON(out)
	if err != nil {
		return nil, &stateErr{Error: ErrTaskFailed, Cause: fmt.Sprintf("the task returned invalid JSON: %v", err)}
	}
	return v, nil
}

// invoke calls fn and, for token tasks, waits for SendTaskSuccess or
// SendTaskFailure. Timeouts compare the clock with the deadline so a fake
// clock gives deterministic results.
func (ru *run) invoke(ctx context.Context, fn Function, payload json.RawMessage, deadline time.Time, heartbeat time.Duration, token string, skipCall bool, onSubmitted func(json.RawMessage), onStarted func(worker string)) (any, *stateErr) {
	clock := ru.r.clock
	if token == "" && deadline.IsZero() {
		out, err := fn(ctx, payload)
		if err != nil {
			return nil, toStateErr(ctx, err)
		}
		if ctx.Err() != nil {
			return nil, errAborted
		}
		return decodeResult(out)
	}
	timedOut := func() bool { return !deadline.IsZero() && !clock.Now().Before(deadline) }
	tctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var tw *tokenWaiter
	if token != "" {
		tw = &tokenWaiter{exec: ru.ex.rec.ExecutionArn, result: make(chan tokenResult, 1), beat: make(chan struct{}, 1), started: make(chan string, 1)}
		ru.r.mu.Lock()
		ru.r.tokens[token] = tw
		ru.r.mu.Unlock()
		defer func() {
			ru.r.mu.Lock()
			delete(ru.r.tokens, token)
			ru.r.mu.Unlock()
		}()
	}
	var resCh chan callResult
	if !skipCall {
		resCh = make(chan callResult, 1)
		go func() {
			out, err := fn(tctx, payload)
			resCh <- callResult{out, err}
		}()
	}
	var toCh <-chan time.Time
	if !deadline.IsZero() {
		toCh = clock.After(deadline.Sub(clock.Now()))
	}
	var hbCh <-chan time.Time
	lastBeat := clock.Now()
	if heartbeat > 0 && tw != nil {
		hbCh = clock.After(heartbeat)
	}
	var beatCh chan struct{}
	var tokCh chan tokenResult
	var startedCh chan string
	if tw != nil {
		beatCh, tokCh, startedCh = tw.beat, tw.result, tw.started
	}
	timeoutErr := &stateErr{Error: ErrTimeout, Cause: ""}
	for {
		select {
		case res := <-resCh:
			resCh = nil
			if res.err != nil {
				if ctx.Err() != nil {
					return nil, errAborted
				}
				if timedOut() {
					return nil, timeoutErr
				}
				return nil, toStateErr(tctx, res.err)
			}
			if timedOut() {
				return nil, timeoutErr
			}
			if tw != nil {
				onSubmitted(res.out)
				continue
			}
			return decodeResult(res.out)
		case <-toCh:
			return nil, timeoutErr
		case <-hbCh:
			if clock.Now().Sub(lastBeat) >= heartbeat {
				return nil, &stateErr{Error: ErrHeartbeatTimeout, Cause: ""}
			}
			hbCh = clock.After(heartbeat - clock.Now().Sub(lastBeat))
		case <-beatCh:
			lastBeat = clock.Now()
			hbCh = clock.After(heartbeat)
		case worker := <-startedCh:
			onStarted(worker)
		case tr := <-tokCh:
			select {
			case worker := <-startedCh: // the worker took the task before answering
				onStarted(worker)
			default:
			}
			if timedOut() {
				return nil, timeoutErr
			}
			return tr.output, tr.err
		case <-ctx.Done():
			return nil, errAborted
		}
	}
}

func (ru *run) dropTokens() {
	arn := ru.ex.rec.ExecutionArn
	ru.r.mu.Lock()
	for t, w := range ru.r.tokens {
		if w.exec == arn {
			delete(ru.r.tokens, t)
		}
	}
	ru.r.mu.Unlock()
}

func (r *Runtime) takeToken(token string) (*tokenWaiter, error) {
	if !validToken(token) {
		return nil, apiErr(CodeInvalidToken, "Invalid Token: 'Invalid token'")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	tw, ok := r.tokens[token]
	if !ok {
		return nil, apiErr(CodeTaskDoesNotExist, "Task Does Not Exist: '%s'", token)
	}
	return tw, nil
}

func (r *Runtime) deliver(token string, res tokenResult) error {
	tw, err := r.takeToken(token)
	if err != nil {
		return err
	}
	select {
	case tw.result <- res:
		r.mu.Lock()
		delete(r.tokens, token)
		r.mu.Unlock()
		return nil
	default:
		return apiErr(CodeTaskTimedOut, "Task Timed Out: '%s'", token)
	}
}

// SendTaskSuccess completes the task waiting on token with output (JSON).
// Errors: InvalidToken, TaskDoesNotExist, TaskTimedOut, InvalidOutput.
func (r *Runtime) SendTaskSuccess(_ context.Context, token, output string) error {
	if len(output) > MaxPayloadBytes {
		return apiErr(CodeInvalidOutput, "output exceeds %d bytes", MaxPayloadBytes)
	}
	v, err := decodeJSON([]byte(output))
	if err != nil {
		return apiErr(CodeInvalidOutput, "Invalid Output: '%v'", err)
	}
	return r.deliver(token, tokenResult{output: v})
}

// SendTaskFailure fails the task waiting on token with an error name and
// cause. Errors: InvalidToken, TaskDoesNotExist, TaskTimedOut.
func (r *Runtime) SendTaskFailure(_ context.Context, token, errName, cause string) error {
	return r.deliver(token, tokenResult{err: &stateErr{Error: errName, Cause: cause}})
}

// SendTaskHeartbeat resets the heartbeat timer of the task waiting on
// token. Errors: InvalidToken, TaskDoesNotExist.
func (r *Runtime) SendTaskHeartbeat(_ context.Context, token string) error {
	tw, err := r.takeToken(token)
	if err != nil {
		return err
	}
	select {
	case tw.beat <- struct{}{}:
	default:
	}
	return nil
}
