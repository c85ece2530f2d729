package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// StartInput is the input of StartExecution.
type StartInput struct {
	// StateMachineArn is a machine, version or alias ARN.
	StateMachineArn string
	// Name is the execution name; "" picks a UUID.
	Name string
	// Input is the JSON input; empty means {}.
	Input string
	// ExpressOnly makes StartSyncExecution refuse a STANDARD machine with
	// StateMachineTypeNotSupported, as AWS does (the endpoint sets it).
	ExpressOnly bool
}

// StartOutput is the output of StartExecution.
type StartOutput struct {
	ExecutionArn string
	StartDate    time.Time
}

// prepared is a validated start: the record to run and what it runs.
type prepared struct {
	rec      *Execution
	input    any
	sm       *StateMachine
	prog     *program
	def      string
	progSlot **program
}

// prepareStart validates a start and resolves its machine, version or
// alias. It does not register the execution.
func (r *Runtime) prepareStart(in StartInput) (*prepared, error) {
	name := in.Name
	if name == "" {
		name = newUUID()
	} else if !nameRE.MatchString(name) {
		return nil, apiErr(CodeInvalidName, "Invalid Name: '%s'", name)
	}
	input := in.Input
	if strings.TrimSpace(input) == "" {
		input = "{}"
	}
	if len(input) > MaxPayloadBytes {
		return nil, apiErr(CodeValidation, "1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have length less than or equal to %d", MaxPayloadBytes)
	}
	inVal, err := decodeJSON([]byte(input))
	if err != nil {
		return nil, apiErr(CodeInvalidExecutionInput, "Invalid State Machine Execution Input: '%v'", err)
	}
	if err := checkArn(in.StateMachineArn, "stateMachine"); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, apiErr(CodeValidation, "runtime is closed")
	}
	sm, ver, alias := r.resolveLocked(in.StateMachineArn)
	if sm == nil {
		return nil, apiErr(CodeStateMachineDoesNotExist, "State Machine Does Not Exist: '%s'", in.StateMachineArn)
	}
	p := &prepared{sm: sm, input: inVal, def: sm.Definition, progSlot: &sm.prog}
	role := sm.RoleArn
	rec := &Execution{StateMachineArn: sm.Arn, Name: name, Status: StatusRunning, Input: json.RawMessage(input)}
	if alias != nil {
		ver = r.route(sm, alias)
		rec.StateMachineAliasArn = alias.Arn
	}
	if ver != nil {
		p.def, role = ver.Definition, ver.RoleArn
		rec.StateMachineVersionArn = ver.Arn
		p.progSlot = &ver.prog
	}
	p.prog = *p.progSlot
	rec.Definition, rec.RoleArn = p.def, role
	rec.ExecutionArn = r.arnPrefix("execution") + sm.Name + ":" + name
	p.rec = rec
	return p, nil
}

// compiled returns the prepared start's program, compiling it on first use.
func (r *Runtime) compiled(p *prepared) (*program, error) {
	if p.prog != nil {
		return p.prog, nil
	}
	prog, err := r.program(p.def)
	if err != nil {
		return nil, definitionError(err)
	}
	r.mu.Lock()
	*p.progSlot = prog
	r.mu.Unlock()
	p.prog = prog
	return prog, nil
}

// StartExecution starts an execution on its own goroutine. A start with
// the name of a running execution and the same input returns that
// execution; a different input, or the name of a closed execution, returns
// ExecutionAlreadyExists. Errors: StateMachineDoesNotExist, InvalidName,
// InvalidExecutionInput, ExecutionAlreadyExists, InvalidArn.
//
// An Express execution keeps its history in memory only: it is not
// journaled until it ends (its terminal record), as Express workflows on
// AWS keep no durable history.
func (r *Runtime) StartExecution(ctx context.Context, in StartInput) (*StartOutput, error) {
	p, err := r.prepareStart(in)
	if err != nil {
		return nil, err
	}
	rec, sm := p.rec, p.sm
	express := sm.Type == "EXPRESS"
	r.mu.Lock()
	if _, ok := r.execs[rec.ExecutionArn]; !ok && r.durable && !express && r.evictedAny() {
		// A closed execution may have been evicted from memory; its name
		// stays taken.
		r.mu.Unlock()
		old, err := r.journal.LoadExecution(ctx, rec.ExecutionArn)
		if err != nil {
			return nil, fmt.Errorf("load execution %s: %w", rec.ExecutionArn, err)
		}
		if old != nil {
			return nil, apiErr(CodeExecutionAlreadyExists, "Execution Already Exists: '%s'", rec.ExecutionArn)
		}
		r.mu.Lock()
	}
	if old, ok := r.execs[rec.ExecutionArn]; ok {
		r.mu.Unlock()
		old.mu.Lock()
		status, oldIn, start := old.rec.Status, old.rec.Input, old.rec.StartDate
		old.mu.Unlock()
		if status == StatusRunning && !express && jsonSame(oldIn, rec.Input) {
			return &StartOutput{ExecutionArn: rec.ExecutionArn, StartDate: start}, nil
		}
		return nil, apiErr(CodeExecutionAlreadyExists, "Execution Already Exists: '%s'", rec.ExecutionArn)
	}
	rec.StartDate = r.clock.Now()
	ex := &execution{rec: rec, done: make(chan struct{}), recording: true, durable: r.durable && !express}
	r.execs[rec.ExecutionArn] = ex
	r.execOrder = append(r.execOrder, rec.ExecutionArn)
	r.mu.Unlock()

	prog, err := r.compiled(p)
	if err != nil {
		r.dropExecution(rec.ExecutionArn)
		return nil, err
	}
	if ex.durable {
		if err := r.journal.SaveExecution(ctx, rec); err != nil {
			r.dropExecution(rec.ExecutionArn)
			return nil, fmt.Errorf("journal execution %s: %w", rec.ExecutionArn, err)
		}
	}
	r.launch(ex, prog, p.input, nil, false)
	return &StartOutput{ExecutionArn: rec.ExecutionArn, StartDate: rec.StartDate}, nil
}

func (r *Runtime) dropExecution(arn string) {
	r.mu.Lock()
	delete(r.execs, arn)
	for i, a := range r.execOrder {
		if a == arn {
			r.execOrder = append(r.execOrder[:i], r.execOrder[i+1:]...)
			break
		}
	}
	r.mu.Unlock()
}

func jsonSame(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	av, err1 := decodeJSON(a)
	bv, err2 := decodeJSON(b)
	return err1 == nil && err2 == nil && jsonEqual(av, bv)
}

// StartSyncExecution runs an Express execution to its end on the
// caller's goroutine and returns it. The execution records no history (as
// on AWS, where Express executions have none): it is not listed
// afterwards, and only its terminal record is journaled. The execution is
// stopped when ctx ends. A STANDARD machine's execution is started as
// StartExecution does and waited for, unless in.ExpressOnly asks for AWS's
// StateMachineTypeNotSupported. Errors: StateMachineTypeNotSupported, and
// those of StartExecution.
func (r *Runtime) StartSyncExecution(ctx context.Context, in StartInput) (*Execution, error) {
	p, err := r.prepareStart(in)
	if err != nil {
		return nil, err
	}
	if p.sm.Type != "EXPRESS" {
		if in.ExpressOnly {
			return nil, apiErr(CodeStateMachineTypeNotSupported, "This operation is not supported by this type of state machine")
		}
		out, err := r.StartExecution(ctx, in)
		if err != nil {
			return nil, err
		}
		return r.Wait(ctx, out.ExecutionArn)
	}
	prog, err := r.compiled(p)
	if err != nil {
		return nil, err
	}
	rec := p.rec
	rec.ExecutionArn = r.arnPrefix("express") + p.sm.Name + ":" + rec.Name + ":" + newUUID()
	rec.StartDate = r.clock.Now()
	ex := &execution{rec: rec, done: make(chan struct{})}
	rctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	stop := context.AfterFunc(ctx, func() {
		cancel(&stopRequest{err: "States.Aborted", cause: "the caller of StartSyncExecution went away"})
	})
	defer stop()
	ex.cancel = cancel
	ru := &run{r: r, ex: ex, prog: prog, input: p.input, jctx: r.closeCtx}
	r.wg.Add(1)
	ru.main(rctx)
	r.wg.Done()
	ex.mu.Lock()
	defer ex.mu.Unlock()
	c := *ex.rec
	return &c, nil
}

func (r *Runtime) lookup(ctx context.Context, arn string) (*execution, error) {
	if err := checkArn(arn, "execution", "express"); err != nil {
		return nil, err
	}
	r.mu.Lock()
	ex, ok := r.execs[arn]
	r.mu.Unlock()
	if ok {
		return ex, nil
	}
	rec, err := r.journal.LoadExecution(ctx, arn)
	if err != nil {
		return nil, fmt.Errorf("load execution %s: %w", arn, err)
	}
	if rec == nil {
		return nil, apiErr(CodeExecutionDoesNotExist, "Execution Does Not Exist: '%s'", arn)
	}
	ex = &execution{rec: rec, done: make(chan struct{}), loaded: true, recording: true, durable: r.durable}
	if rec.Status != StatusRunning {
		close(ex.done)
	}
	return ex, nil
}

// DescribeExecution returns an execution. Errors: ExecutionDoesNotExist.
func (r *Runtime) DescribeExecution(ctx context.Context, arn string) (*Execution, error) {
	ex, err := r.lookup(ctx, arn)
	if err != nil {
		return nil, err
	}
	ex.mu.Lock()
	defer ex.mu.Unlock()
	c := *ex.rec
	return &c, nil
}

// Wait blocks until the execution ends or ctx is done, and returns it.
// Errors: ExecutionDoesNotExist, ctx.Err().
func (r *Runtime) Wait(ctx context.Context, arn string) (*Execution, error) {
	ex, err := r.lookup(ctx, arn)
	if err != nil {
		return nil, err
	}
	select {
	case <-ex.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return r.DescribeExecution(ctx, arn)
}

// ListExecutionsInput filters ListExecutions.
type ListExecutionsInput struct {
	StateMachineArn string // machine, version or alias ARN; "" for all
	StatusFilter    string
}

// ListExecutions returns executions, newest first.
func (r *Runtime) ListExecutions(_ context.Context, in ListExecutionsInput) []*Execution {
	r.mu.Lock()
	order := append([]string(nil), r.execOrder...)
	execs := make([]*execution, 0, len(order))
	for i := len(order) - 1; i >= 0; i-- {
		if ex, ok := r.execs[order[i]]; ok {
			execs = append(execs, ex)
		}
	}
	r.mu.Unlock()
	var out []*Execution
	for _, ex := range execs {
		ex.mu.Lock()
		c := *ex.rec
		ex.mu.Unlock()
		if in.StateMachineArn != "" && c.StateMachineArn != in.StateMachineArn && c.StateMachineVersionArn != in.StateMachineArn && c.StateMachineAliasArn != in.StateMachineArn {
			continue
		}
		if in.StatusFilter != "" && c.Status != in.StatusFilter {
			continue
		}
		out = append(out, &c)
	}
	return out
}

// GetExecutionHistory returns an execution's history events in order.
// Errors: ExecutionDoesNotExist.
func (r *Runtime) GetExecutionHistory(ctx context.Context, arn string) ([]*HistoryEvent, error) {
	ex, err := r.lookup(ctx, arn)
	if err != nil {
		return nil, err
	}
	ex.mu.Lock()
	loaded := ex.loaded && ex.events == nil
	evs := make([]*HistoryEvent, len(ex.events))
	copies := make([]HistoryEvent, len(ex.events)) // snapshot: a running execution may still annotate events
	for i, e := range ex.events {
		copies[i] = *e
		evs[i] = &copies[i]
	}
	ex.mu.Unlock()
	if loaded {
		evs, err = r.journal.LoadEvents(ctx, arn)
		if err != nil {
			return nil, fmt.Errorf("load events of %s: %w", arn, err)
		}
	}
	return evs, nil
}

// StopExecution aborts a running execution with an optional error and
// cause. Stopping a closed execution does nothing. Errors:
// ExecutionDoesNotExist.
func (r *Runtime) StopExecution(ctx context.Context, arn, errName, cause string) (time.Time, error) {
	ex, err := r.lookup(ctx, arn)
	if err != nil {
		return time.Time{}, err
	}
	ex.mu.Lock()
	cancel := ex.cancel
	running := ex.rec.Status == StatusRunning
	ex.mu.Unlock()
	if running && cancel != nil {
		cancel(&stopRequest{err: errName, cause: cause})
		<-ex.done
	}
	ex.mu.Lock()
	defer ex.mu.Unlock()
	return ex.rec.StopDate, nil
}

type stopRequest struct{ err, cause string }

func (s *stopRequest) Error() string { return "execution stopped" }
