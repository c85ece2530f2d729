// Package runtime is Turbocat's local AWS Step Functions runtime: an
// Amazon States Language (JSONPath) interpreter with state machines,
// versions, aliases, executions, task tokens and AWS-shaped execution
// history. Time comes from an injected Clock and every transition is
// recorded through a Journal so unfinished executions can be resumed after a
// restart. The package imports no AWS SDK and no database driver.
package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/turbocat/turbocat/internal/asl"
)

// Function is a task implementation registered in the process. It receives
// the Task's effective parameters as JSON and returns its result as JSON.
// Returning a *TaskError fails the Task with that error name; any other
// error fails it with States.TaskFailed.
type Function func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error)

// StatusChangeEvent is the EventBridge "Step Functions Execution Status
// Change" event.
type StatusChangeEvent struct {
	Version    string             `json:"version"`
	ID         string             `json:"id"`
	DetailType string             `json:"detail-type"`
	Source     string             `json:"source"`
	Account    string             `json:"account"`
	Time       time.Time          `json:"time"`
	Region     string             `json:"region"`
	Resources  []string           `json:"resources"`
	Detail     StatusChangeDetail `json:"detail"`
}

// StatusChangeDetail is the detail of a StatusChangeEvent.
type StatusChangeDetail struct {
	ExecutionArn    string  `json:"executionArn"`
	StateMachineArn string  `json:"stateMachineArn"`
	Name            string  `json:"name"`
	Status          string  `json:"status"`
	StartDate       int64   `json:"startDate"`
	StopDate        *int64  `json:"stopDate"`
	Input           string  `json:"input"`
	Output          *string `json:"output"`
	Error           *string `json:"error"`
	Cause           *string `json:"cause"`
}

// Options configure a Runtime. Zero values pick defaults.
type Options struct {
	Clock Clock // default SystemClock
	// Journal persists state and history. nil keeps everything in this
	// process only: closed executions evicted from memory (see
	// MaxClosedExecutions) are then forgotten, and Resume has nothing to do.
	Journal   Journal
	Logger    *slog.Logger // default discards
	Region    string       // default us-east-1
	AccountID string       // default 123456789012
	// OnStatusChange, if set, is called (synchronously, outside locks) on
	// every execution status change: RUNNING, then the final status.
	OnStatusChange func(StatusChangeEvent)
	// Rand, if set, is used for alias routing and retry jitter.
	Rand *rand.Rand
	// MaxClosedExecutions bounds how many closed executions stay in
	// memory; older ones are still described through the journal. 0 means
	// 10000; a negative value keeps every execution in memory.
	MaxClosedExecutions int
}

// Runtime runs state machines. It is safe for concurrent use.
type Runtime struct {
	clock    Clock
	journal  Journal
	log      *slog.Logger
	region   string
	account  string
	onStatus func(StatusChangeEvent)

	randMu sync.Mutex
	rnd    *rand.Rand

	mu         sync.Mutex
	functions  map[string]registered
	machines   map[string]*StateMachine // by Arn
	programs   map[string]*program      // by definition text
	execs      map[string]*execution    // by ExecutionArn
	execOrder  []string                 // start order; may hold evicted ARNs (skipped)
	durable    bool                     // a Journal was given; events are journaled
	closedArns []string                 // closed executions in memory, oldest first
	maxClosed  int
	tokens     map[string]*tokenWaiter

	wg     sync.WaitGroup
	closed bool
	work   chan func()   // hands executions to idle workers
	quit   chan struct{} // closed by Close: idle workers exit
}

// New returns a Runtime, loading state machines and executions from the
// journal. Call Resume to continue unfinished executions.
func New(ctx context.Context, opts Options) (*Runtime, error) {
	r := &Runtime{
		clock: opts.Clock, journal: opts.Journal, log: opts.Logger, region: opts.Region, account: opts.AccountID,
		onStatus: opts.OnStatusChange, rnd: opts.Rand,
		functions: map[string]registered{}, machines: map[string]*StateMachine{}, programs: map[string]*program{},
		execs: map[string]*execution{}, tokens: map[string]*tokenWaiter{},
		work: make(chan func()), quit: make(chan struct{}),
	}
	if r.clock == nil {
		r.clock = SystemClock{}
	}
	r.durable = r.journal != nil
	if r.journal == nil {
		r.journal = nopJournal{}
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.region == "" {
		r.region = "us-east-1"
	}
	r.maxClosed = opts.MaxClosedExecutions
	if r.maxClosed == 0 {
		r.maxClosed = 10000
	}
	if r.account == "" {
		r.account = "123456789012"
	}
	if r.rnd == nil {
		r.rnd = rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	}
	sms, err := r.journal.LoadStateMachines(ctx)
	if err != nil {
		return nil, fmt.Errorf("load state machines: %w", err)
	}
	for _, sm := range sms {
		r.machines[sm.Arn] = sm
	}
	execs, err := r.journal.LoadExecutions(ctx)
	if err != nil {
		return nil, fmt.Errorf("load executions: %w", err)
	}
	for _, e := range execs {
		ex := &execution{rec: e, done: make(chan struct{}), loaded: true}
		if e.Status != StatusRunning {
			close(ex.done)
			r.closedArns = append(r.closedArns, e.ExecutionArn)
		}
		r.execs[e.ExecutionArn] = ex
		r.execOrder = append(r.execOrder, e.ExecutionArn)
	}
	r.mu.Lock()
	r.evictLocked()
	r.mu.Unlock()
	return r, nil
}

// noteClosed records that an execution ended and evicts the oldest closed
// executions from memory beyond the configured bound.
func (r *Runtime) noteClosed(arn string) {
	r.mu.Lock()
	r.closedArns = append(r.closedArns, arn)
	r.evictLocked()
	r.mu.Unlock()
}

func (r *Runtime) evictLocked() {
	if r.maxClosed < 0 {
		return
	}
	for len(r.closedArns) > r.maxClosed {
		delete(r.execs, r.closedArns[0])
		r.closedArns[0] = ""
		r.closedArns = r.closedArns[1:]
	}
	if len(r.execOrder) > 64 && len(r.execOrder) > 2*len(r.execs) {
		kept := make([]string, 0, len(r.execs))
		for _, a := range r.execOrder {
			if _, ok := r.execs[a]; ok {
				kept = append(kept, a)
			}
		}
		r.execOrder = kept
	}
}

// RegisterFunction registers a task implementation under name. Tasks reach
// it through arn:aws:states:::lambda:invoke with FunctionName name (or a
// Lambda ARN ending in :function:name), a plain Lambda function ARN, or a
// Resource equal to name. Registering a name again replaces it.
func (r *Runtime) RegisterFunction(name string, fn Function, opts ...FunctionOption) {
	reg := registered{fn: fn}
	for _, o := range opts {
		o(&reg)
	}
	r.mu.Lock()
	r.functions[name] = reg
	r.mu.Unlock()
}

// FunctionOption configures a function at RegisterFunction.
type FunctionOption func(*registered)

// registered is a function with its options.
type registered struct {
	fn         Function
	replaySafe bool
}

// ReplaySafe declares that calling the function again with a payload it
// was already called with is safe after a restart: a call that completed
// answers from the function's own durable record, with the same outcome,
// and does not repeat its effects. Turbocat's step runner is such a
// function (its record is the step's row, committed before it answers).
//
// The runtime then journals a Task that calls it (without a task token)
// less eagerly, saving up to two journal round trips per Task: not before
// the call, and after a successful call only once the unjournaled events
// are 250 ms old or 256 many, or at the next point that needs them
// journaled (a Wait, a retry backoff, a Task of another function, the end,
// Close). A failed call is journaled before its state acts on the failure:
// the step runner runs a failed step again when called again, so a failure
// must not be replayed. After a crash the runtime resumes from the last
// journaled event and calls the function again for the Tasks whose outcome
// was not journaled; each answers from its record. Such a Task whose
// TaskScheduled event was not journaled gets a new deadline
// (TimeoutSeconds) when it is called again.
func ReplaySafe() FunctionOption { return func(r *registered) { r.replaySafe = true } }

func (r *Runtime) function(name string) (registered, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f, ok := r.functions[name]
	return f, ok
}

// Close stops accepting work, interrupts running executions and waits for
// their goroutines. Interrupted executions stay RUNNING in the journal, so a
// new Runtime on the same journal can Resume them.
func (r *Runtime) Close() {
	r.mu.Lock()
	if !r.closed {
		close(r.quit)
	}
	r.closed = true
	execs := make([]*execution, 0, len(r.execs))
	for _, e := range r.execs {
		execs = append(execs, e)
	}
	r.mu.Unlock()
	for _, e := range execs {
		if e.cancel != nil {
			e.cancel(errClosing)
		}
	}
	r.wg.Wait()
}

var errClosing = fmt.Errorf("runtime closing")

var nameRE = regexp.MustCompile(`^[A-Za-z0-9\-_]{1,80}$`)

func (r *Runtime) arnPrefix(kind string) string {
	return "arn:aws:states:" + r.region + ":" + r.account + ":" + kind + ":"
}

func (r *Runtime) program(def string) (*program, error) {
	r.mu.Lock()
	p, ok := r.programs[def]
	r.mu.Unlock()
	if ok {
		return p, nil
	}
	sm, err := asl.Parse([]byte(def))
	if err != nil {
		return nil, err
	}
	p, err = compileProgram(sm)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.programs[def] = p
	r.mu.Unlock()
	return p, nil
}

// CreateStateMachineInput is the input of CreateStateMachine.
type CreateStateMachineInput struct {
	Name               string
	Definition         string
	RoleArn            string
	Type               string // STANDARD (default) or EXPRESS
	Publish            bool
	VersionDescription string
}

// CreateStateMachineOutput is the output of CreateStateMachine.
type CreateStateMachineOutput struct {
	StateMachineArn        string
	StateMachineVersionArn string
	CreationDate           time.Time
}

// CreateStateMachine validates the definition and creates a state machine.
// Creating one with the same name and definition again returns the existing
// ARN (as AWS does); a different definition returns
// StateMachineAlreadyExists. Errors: InvalidName, InvalidDefinition,
// StateMachineAlreadyExists.
func (r *Runtime) CreateStateMachine(ctx context.Context, in CreateStateMachineInput) (*CreateStateMachineOutput, error) {
	if !nameRE.MatchString(in.Name) {
		return nil, apiErr(CodeInvalidName, "invalid state machine name %q", in.Name)
	}
	if _, err := r.program(in.Definition); err != nil {
		return nil, apiErr(CodeInvalidDefinition, "%v", err)
	}
	typ := in.Type
	if typ == "" {
		typ = "STANDARD"
	}
	if typ != "STANDARD" && typ != "EXPRESS" {
		return nil, apiErr(CodeValidation, "invalid type %q", in.Type)
	}
	arn := r.arnPrefix("stateMachine") + in.Name
	now := r.clock.Now()
	r.mu.Lock()
	if old, ok := r.machines[arn]; ok {
		r.mu.Unlock()
		if old.Definition == in.Definition && old.RoleArn == in.RoleArn && old.Type == typ {
			return &CreateStateMachineOutput{StateMachineArn: arn, CreationDate: old.CreationDate}, nil
		}
		return nil, apiErr(CodeStateMachineAlreadyExists, "State Machine Already Exists: '%s'", arn)
	}
	sm := &StateMachine{Arn: arn, Name: in.Name, Definition: in.Definition, RoleArn: in.RoleArn, Type: typ,
		RevisionID: newUUID(), CreationDate: now, UpdateDate: now, NextVersion: 1}
	out := &CreateStateMachineOutput{StateMachineArn: arn, CreationDate: now}
	if in.Publish {
		v := publish(sm, in.VersionDescription, now)
		out.StateMachineVersionArn = v.Arn
	}
	r.machines[arn] = sm
	snapshot := cloneMachine(sm)
	r.mu.Unlock()
	if err := r.journal.SaveStateMachine(ctx, snapshot); err != nil {
		return nil, fmt.Errorf("journal state machine %s: %w", arn, err)
	}
	return out, nil
}

func cloneMachine(sm *StateMachine) *StateMachine {
	c := *sm
	c.Versions = append([]*Version(nil), sm.Versions...)
	c.Aliases = make([]*Alias, len(sm.Aliases))
	for i, a := range sm.Aliases {
		ac := *a
		ac.Routing = append([]RoutingEntry(nil), a.Routing...)
		c.Aliases[i] = &ac
	}
	return &c
}

func publish(sm *StateMachine, desc string, now time.Time) *Version {
	// Publishing an unchanged revision returns the latest version (AWS).
	if n := len(sm.Versions); n > 0 && sm.Versions[n-1].RevisionID == sm.RevisionID {
		return sm.Versions[n-1]
	}
	v := &Version{Arn: sm.Arn + ":" + strconv.Itoa(sm.NextVersion), Number: sm.NextVersion, Definition: sm.Definition,
		RoleArn: sm.RoleArn, Description: desc, RevisionID: sm.RevisionID, CreationDate: now}
	sm.NextVersion++
	sm.Versions = append(sm.Versions, v)
	return v
}

// UpdateStateMachineInput is the input of UpdateStateMachine.
type UpdateStateMachineInput struct {
	StateMachineArn    string
	Definition         string // "" keeps the current one
	RoleArn            string // "" keeps the current one
	Publish            bool
	VersionDescription string
}

// UpdateStateMachine replaces the definition or role of a state machine and
// optionally publishes a version; it returns the new version ARN if one was
// published. Errors: StateMachineDoesNotExist, InvalidDefinition.
func (r *Runtime) UpdateStateMachine(ctx context.Context, in UpdateStateMachineInput) (string, time.Time, error) {
	if in.Definition != "" {
		if _, err := r.program(in.Definition); err != nil {
			return "", time.Time{}, apiErr(CodeInvalidDefinition, "%v", err)
		}
	}
	now := r.clock.Now()
	r.mu.Lock()
	sm, ok := r.machines[in.StateMachineArn]
	if !ok {
		r.mu.Unlock()
		return "", time.Time{}, apiErr(CodeStateMachineDoesNotExist, "State Machine Does Not Exist: '%s'", in.StateMachineArn)
	}
	if (in.Definition != "" && in.Definition != sm.Definition) || (in.RoleArn != "" && in.RoleArn != sm.RoleArn) {
		if in.Definition != "" {
			sm.Definition = in.Definition
		}
		if in.RoleArn != "" {
			sm.RoleArn = in.RoleArn
		}
		sm.RevisionID = newUUID()
		sm.UpdateDate = now
		sm.prog = nil
	}
	var vArn string
	if in.Publish {
		vArn = publish(sm, in.VersionDescription, now).Arn
	}
	snapshot := cloneMachine(sm)
	r.mu.Unlock()
	if err := r.journal.SaveStateMachine(ctx, snapshot); err != nil {
		return "", time.Time{}, fmt.Errorf("journal state machine %s: %w", in.StateMachineArn, err)
	}
	return vArn, now, nil
}

// PublishStateMachineVersion publishes the current revision as a version
// and returns its ARN. Errors: StateMachineDoesNotExist.
func (r *Runtime) PublishStateMachineVersion(ctx context.Context, arn, description string) (*Version, error) {
	now := r.clock.Now()
	r.mu.Lock()
	sm, ok := r.machines[arn]
	if !ok {
		r.mu.Unlock()
		return nil, apiErr(CodeStateMachineDoesNotExist, "State Machine Does Not Exist: '%s'", arn)
	}
	v := publish(sm, description, now)
	snapshot := cloneMachine(sm)
	r.mu.Unlock()
	if err := r.journal.SaveStateMachine(ctx, snapshot); err != nil {
		return nil, fmt.Errorf("journal state machine %s: %w", arn, err)
	}
	return v, nil
}

// DescribeStateMachine returns a state machine, or the version a version
// ARN names (as a StateMachine with that definition). Errors:
// StateMachineDoesNotExist.
func (r *Runtime) DescribeStateMachine(_ context.Context, arn string) (*StateMachine, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if sm, ok := r.machines[arn]; ok {
		return cloneMachine(sm), nil
	}
	if sm, v, _ := r.resolveLocked(arn); sm != nil && v != nil {
		c := cloneMachine(sm)
		c.Arn, c.Definition, c.RoleArn, c.Description, c.RevisionID, c.CreationDate = v.Arn, v.Definition, v.RoleArn, v.Description, v.RevisionID, v.CreationDate
		return c, nil
	}
	return nil, apiErr(CodeStateMachineDoesNotExist, "State Machine Does Not Exist: '%s'", arn)
}

// ListStateMachines returns every state machine sorted by name.
func (r *Runtime) ListStateMachines(_ context.Context) []*StateMachine {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*StateMachine, 0, len(r.machines))
	for _, sm := range r.machines {
		out = append(out, cloneMachine(sm))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// DeleteStateMachine deletes a state machine, or one version or alias when
// given a version or alias ARN. Deleting a missing machine succeeds.
// Errors: ConflictException (a version an alias routes to).
func (r *Runtime) DeleteStateMachine(ctx context.Context, arn string) error {
	r.mu.Lock()
	if _, ok := r.machines[arn]; ok {
		delete(r.machines, arn)
		r.mu.Unlock()
		if err := r.journal.DeleteStateMachine(ctx, arn); err != nil {
			return fmt.Errorf("journal delete %s: %w", arn, err)
		}
		return nil
	}
	sm, v, a := r.resolveLocked(arn)
	switch {
	case v != nil:
		for _, al := range sm.Aliases {
			for _, re := range al.Routing {
				if re.StateMachineVersionArn == v.Arn {
					r.mu.Unlock()
					return apiErr(CodeConflict, "version %s is referenced by alias %s", v.Arn, al.Arn)
				}
			}
		}
		sm.Versions = removeVersion(sm.Versions, v)
	case a != nil:
		for i, al := range sm.Aliases {
			if al == a {
				sm.Aliases = append(sm.Aliases[:i:i], sm.Aliases[i+1:]...)
				break
			}
		}
	default:
		r.mu.Unlock()
		return nil
	}
	snapshot := cloneMachine(sm)
	r.mu.Unlock()
	if err := r.journal.SaveStateMachine(ctx, snapshot); err != nil {
		return fmt.Errorf("journal state machine %s: %w", sm.Arn, err)
	}
	return nil
}

func removeVersion(vs []*Version, v *Version) []*Version {
	out := vs[:0:0]
	for _, x := range vs {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

// resolveLocked finds the machine for a machine, version or alias ARN.
func (r *Runtime) resolveLocked(arn string) (*StateMachine, *Version, *Alias) {
	if sm, ok := r.machines[arn]; ok {
		return sm, nil, nil
	}
	i := strings.LastIndexByte(arn, ':')
	if i < 0 {
		return nil, nil, nil
	}
	sm, ok := r.machines[arn[:i]]
	if !ok {
		return nil, nil, nil
	}
	for _, v := range sm.Versions {
		if v.Arn == arn {
			return sm, v, nil
		}
	}
	for _, a := range sm.Aliases {
		if a.Arn == arn {
			return sm, nil, a
		}
	}
	return nil, nil, nil
}

// CreateAliasInput is the input of CreateStateMachineAlias.
type CreateAliasInput struct {
	Name        string
	Description string
	Routing     []RoutingEntry
}

func (r *Runtime) validateRouting(routing []RoutingEntry) (*StateMachine, error) {
	if len(routing) == 0 || len(routing) > 2 {
		return nil, apiErr(CodeValidation, "routingConfiguration must have one or two entries")
	}
	var sm *StateMachine
	total := 0
	for _, re := range routing {
		m, v, _ := r.resolveLocked(re.StateMachineVersionArn)
		if v == nil {
			return nil, apiErr(CodeResourceNotFound, "version %s does not exist", re.StateMachineVersionArn)
		}
		if sm != nil && sm != m {
			return nil, apiErr(CodeValidation, "routing versions belong to different state machines")
		}
		if re.Weight < 0 || re.Weight > 100 {
			return nil, apiErr(CodeValidation, "weight must be between 0 and 100")
		}
		sm = m
		total += re.Weight
	}
	if total != 100 {
		return nil, apiErr(CodeValidation, "routing weights must sum to 100")
	}
	if len(routing) == 2 && routing[0].StateMachineVersionArn == routing[1].StateMachineVersionArn {
		return nil, apiErr(CodeValidation, "routing versions must differ")
	}
	return sm, nil
}

// CreateStateMachineAlias creates an alias routing to one or two versions
// of the same machine. Errors: ValidationException, ResourceNotFound,
// ConflictException (alias name taken with a different routing).
func (r *Runtime) CreateStateMachineAlias(ctx context.Context, in CreateAliasInput) (*Alias, error) {
	if !nameRE.MatchString(in.Name) || regexp.MustCompile(`^[0-9]+$`).MatchString(in.Name) {
		return nil, apiErr(CodeValidation, "invalid alias name %q", in.Name)
	}
	now := r.clock.Now()
	r.mu.Lock()
	sm, err := r.validateRouting(in.Routing)
	if err != nil {
		r.mu.Unlock()
		return nil, err
	}
	arn := sm.Arn + ":" + in.Name
	for _, a := range sm.Aliases {
		if a.Arn == arn {
			r.mu.Unlock()
			if routingEqual(a.Routing, in.Routing) && a.Description == in.Description {
				return a, nil
			}
			return nil, apiErr(CodeConflict, "alias %s already exists", arn)
		}
	}
	a := &Alias{Arn: arn, Name: in.Name, Description: in.Description, Routing: append([]RoutingEntry(nil), in.Routing...), CreationDate: now, UpdateDate: now}
	sm.Aliases = append(sm.Aliases, a)
	snapshot := cloneMachine(sm)
	r.mu.Unlock()
	if err := r.journal.SaveStateMachine(ctx, snapshot); err != nil {
		return nil, fmt.Errorf("journal state machine %s: %w", sm.Arn, err)
	}
	c := *a
	return &c, nil
}

func routingEqual(a, b []RoutingEntry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// UpdateStateMachineAlias changes an alias's description and/or routing.
// Errors: ResourceNotFound, ValidationException.
func (r *Runtime) UpdateStateMachineAlias(ctx context.Context, aliasArn, description string, routing []RoutingEntry) (*Alias, error) {
	now := r.clock.Now()
	r.mu.Lock()
	sm, _, a := r.resolveLocked(aliasArn)
	if a == nil {
		r.mu.Unlock()
		return nil, apiErr(CodeResourceNotFound, "alias %s does not exist", aliasArn)
	}
	if routing != nil {
		m, err := r.validateRouting(routing)
		if err != nil {
			r.mu.Unlock()
			return nil, err
		}
		if m != sm {
			r.mu.Unlock()
			return nil, apiErr(CodeValidation, "routing versions belong to a different state machine")
		}
		a.Routing = append([]RoutingEntry(nil), routing...)
	}
	if description != "" {
		a.Description = description
	}
	a.UpdateDate = now
	c := *a
	snapshot := cloneMachine(sm)
	r.mu.Unlock()
	if err := r.journal.SaveStateMachine(ctx, snapshot); err != nil {
		return nil, fmt.Errorf("journal state machine %s: %w", sm.Arn, err)
	}
	return &c, nil
}

// DescribeStateMachineAlias returns an alias. Errors: ResourceNotFound.
func (r *Runtime) DescribeStateMachineAlias(_ context.Context, aliasArn string) (*Alias, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, _, a := r.resolveLocked(aliasArn)
	if a == nil {
		return nil, apiErr(CodeResourceNotFound, "alias %s does not exist", aliasArn)
	}
	c := *a
	return &c, nil
}

// StartInput is the input of StartExecution.
type StartInput struct {
	// StateMachineArn is a machine, version or alias ARN.
	StateMachineArn string
	// Name is the execution name; "" picks a UUID.
	Name string
	// Input is the JSON input; empty means {}.
	Input string
}

// StartOutput is the output of StartExecution.
type StartOutput struct {
	ExecutionArn string
	StartDate    time.Time
}

// StartExecution starts an execution on its own goroutine. A start with
// the name of a running execution and the same input returns that
// execution; a different input, or the name of a closed execution, returns
// ExecutionAlreadyExists. Errors: StateMachineDoesNotExist, InvalidName,
// InvalidExecutionInput, ExecutionAlreadyExists, InvalidArn.
func (r *Runtime) StartExecution(ctx context.Context, in StartInput) (*StartOutput, error) {
	name := in.Name
	if name == "" {
		name = newUUID()
	} else if !nameRE.MatchString(name) {
		return nil, apiErr(CodeInvalidName, "invalid execution name %q", name)
	}
	input := in.Input
	if strings.TrimSpace(input) == "" {
		input = "{}"
	}
	if len(input) > MaxPayloadBytes {
		return nil, apiErr(CodeValidation, "input exceeds the maximum size of %d bytes", MaxPayloadBytes)
	}
	inVal, err := decodeJSON([]byte(input))
	if err != nil {
		return nil, apiErr(CodeInvalidExecutionInput, "Invalid State Machine Execution Input: '%v'", err)
	}

	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, apiErr(CodeValidation, "runtime is closed")
	}
	sm, ver, alias := r.resolveLocked(in.StateMachineArn)
	if sm == nil {
		r.mu.Unlock()
		if !strings.HasPrefix(in.StateMachineArn, "arn:") {
			return nil, apiErr(CodeInvalidArn, "Invalid Arn: '%s'", in.StateMachineArn)
		}
		return nil, apiErr(CodeStateMachineDoesNotExist, "State Machine Does Not Exist: '%s'", in.StateMachineArn)
	}
	def, role := sm.Definition, sm.RoleArn
	progSlot := &sm.prog
	rec := &Execution{StateMachineArn: sm.Arn, Name: name, Status: StatusRunning, Input: json.RawMessage(input)}
	if alias != nil {
		ver = r.route(sm, alias)
		rec.StateMachineAliasArn = alias.Arn
	}
	if ver != nil {
		def, role = ver.Definition, ver.RoleArn
		rec.StateMachineVersionArn = ver.Arn
		progSlot = &ver.prog
	}
	prog := *progSlot
	rec.Definition, rec.RoleArn = def, role
	rec.ExecutionArn = r.arnPrefix("execution") + sm.Name + ":" + name
	if _, ok := r.execs[rec.ExecutionArn]; !ok && len(r.closedArns) >= r.maxClosed && r.maxClosed >= 0 {
		// Evicted executions live only in the journal; a name stays taken.
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
		if status == StatusRunning && sm.Type != "EXPRESS" && jsonSame(oldIn, []byte(input)) {
			return &StartOutput{ExecutionArn: rec.ExecutionArn, StartDate: start}, nil
		}
		return nil, apiErr(CodeExecutionAlreadyExists, "Execution Already Exists: '%s'", rec.ExecutionArn)
	}
	rec.StartDate = r.clock.Now()
	ex := &execution{rec: rec, done: make(chan struct{})}
	r.execs[rec.ExecutionArn] = ex
	r.execOrder = append(r.execOrder, rec.ExecutionArn)
	r.mu.Unlock()

	if prog == nil {
		p, err := r.program(def)
		if err != nil {
			r.dropExecution(rec.ExecutionArn)
			return nil, apiErr(CodeInvalidDefinition, "%v", err)
		}
		prog = p
		r.mu.Lock()
		*progSlot = p
		r.mu.Unlock()
	}
	if err := r.journal.SaveExecution(ctx, rec); err != nil {
		r.dropExecution(rec.ExecutionArn)
		return nil, fmt.Errorf("journal execution %s: %w", rec.ExecutionArn, err)
	}
	r.launch(ex, prog, inVal, nil)
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

// route picks an alias's version by weight.
func (r *Runtime) route(sm *StateMachine, a *Alias) *Version {
	pick := a.Routing[0].StateMachineVersionArn
	if len(a.Routing) == 2 {
		r.randMu.Lock()
		n := r.rnd.IntN(100)
		r.randMu.Unlock()
		if n >= a.Routing[0].Weight {
			pick = a.Routing[1].StateMachineVersionArn
		}
	}
	for _, v := range sm.Versions {
		if v.Arn == pick {
			return v
		}
	}
	return nil
}

// StartSyncExecution starts an execution and waits for it to end.
func (r *Runtime) StartSyncExecution(ctx context.Context, in StartInput) (*Execution, error) {
	out, err := r.StartExecution(ctx, in)
	if err != nil {
		return nil, err
	}
	return r.Wait(ctx, out.ExecutionArn)
}

func (r *Runtime) lookup(ctx context.Context, arn string) (*execution, error) {
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
	ex = &execution{rec: rec, done: make(chan struct{}), loaded: true}
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

// Resume continues every RUNNING execution loaded from the journal, from
// its last journaled transition. Completed task results are reused, not
// re-run.
func (r *Runtime) Resume(ctx context.Context) error {
	r.mu.Lock()
	var todo []*execution
	for _, arn := range r.execOrder {
		ex, ok := r.execs[arn]
		if !ok {
			continue
		}
		if ex.loaded && ex.rec.Status == StatusRunning && !ex.resumed {
			ex.resumed = true
			todo = append(todo, ex)
		}
	}
	r.mu.Unlock()
	for _, ex := range todo {
		events, err := r.journal.LoadEvents(ctx, ex.rec.ExecutionArn)
		if err != nil {
			return fmt.Errorf("load events of %s: %w", ex.rec.ExecutionArn, err)
		}
		prog, err := r.program(ex.rec.Definition)
		if err != nil {
			return fmt.Errorf("resume %s: %w", ex.rec.ExecutionArn, err)
		}
		ex.mu.Lock()
		ex.events = events
		ex.loaded = false
		ex.mu.Unlock()
		inVal, err := decodeJSON(ex.rec.Input)
		if err != nil {
			return fmt.Errorf("resume %s: decode input: %w", ex.rec.ExecutionArn, err)
		}
		r.log.InfoContext(ctx, "resuming execution", slog.String("execution_arn", ex.rec.ExecutionArn), slog.Int("events", len(events)))
		r.launch(ex, prog, inVal, events)
	}
	return nil
}
