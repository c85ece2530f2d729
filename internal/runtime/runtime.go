// Package runtime is Turbocat's local AWS Step Functions runtime: an
// Amazon States Language interpreter, in both query languages (JSONPath,
// and JSONata through internal/jsonata) with workflow variables (Assign),
// and state machines, versions, aliases, executions, task tokens and
// AWS-shaped execution history. Time comes from an injected Clock and every transition is
// recorded through a Journal so unfinished executions can be resumed after a
// restart. The package imports no AWS SDK and no database driver.
package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"sync"
	"time"

	"github.com/turbocat/turbocat/internal/asl"
	"github.com/turbocat/turbocat/internal/jsonata"
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
	// MaxMemoryBytes bounds the memory closed executions keep (their
	// history, inputs and outputs, estimated as encoded JSON): beyond it
	// the oldest leave memory and are described from the journal. 0 means
	// DefaultMaxMemoryBytes; a negative value keeps every execution.
	MaxMemoryBytes int64
	// MaxClosedExecutions, when positive, also bounds how many closed
	// executions stay in memory. 0 means no bound by count; a negative
	// value keeps every execution in memory (MaxMemoryBytes is then
	// ignored too).
	MaxClosedExecutions int
}

// DefaultMaxMemoryBytes is the default of Options.MaxMemoryBytes.
const DefaultMaxMemoryBytes = 256 << 20

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
	closedSize map[string]int64         // estimated bytes of each closed execution in memory
	closedMem  int64                    // their sum
	maxClosed  int
	maxMemory  int64
	evictions  int // closed executions that left memory since start
	tokens     map[string]*tokenWaiter

	// jsonataFunctions are the functions Step Functions adds to JSONata.
	jsonataFunctions map[string]*jsonata.Function
	activities       map[string]*activityState // by ARN

	wg     sync.WaitGroup
	closed bool
	// closeCtx is canceled by Close: journal retries give up then.
	closeCtx    context.Context
	closeCancel context.CancelFunc
	work        chan func()   // hands executions to idle workers
	quit        chan struct{} // closed by Close: idle workers exit
}

// New returns a Runtime, loading state machines and executions from the
// journal. Call Resume to continue unfinished executions.
func New(ctx context.Context, opts Options) (*Runtime, error) {
	r := &Runtime{
		clock: opts.Clock, journal: opts.Journal, log: opts.Logger, region: opts.Region, account: opts.AccountID,
		onStatus: opts.OnStatusChange, rnd: opts.Rand,
		functions: map[string]registered{}, machines: map[string]*StateMachine{}, programs: map[string]*program{},
		execs: map[string]*execution{}, tokens: map[string]*tokenWaiter{}, activities: map[string]*activityState{},
		work: make(chan func()), quit: make(chan struct{}),
	}
	r.closeCtx, r.closeCancel = context.WithCancel(context.Background())
	r.jsonataFunctions = jsonataFunctionsFor(r)
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
	r.maxMemory = opts.MaxMemoryBytes
	if r.maxMemory == 0 {
		r.maxMemory = DefaultMaxMemoryBytes
	}
	if r.maxClosed < 0 {
		r.maxMemory = -1
	}
	r.closedSize = map[string]int64{}
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
		ex := &execution{rec: e, done: make(chan struct{}), loaded: true, recording: true, durable: r.durable}
		if e.Status != StatusRunning {
			close(ex.done)
			r.closedArns = append(r.closedArns, e.ExecutionArn)
			size := recordSize(e)
			r.closedSize[e.ExecutionArn] = size
			r.closedMem += size
		}
		r.execs[e.ExecutionArn] = ex
		r.execOrder = append(r.execOrder, e.ExecutionArn)
	}
	r.mu.Lock()
	r.evictLocked()
	r.mu.Unlock()
	return r, nil
}

// noteClosed records that an execution ended, with its estimated memory,
// and evicts the oldest closed executions beyond the configured bounds.
func (r *Runtime) noteClosed(ex *execution) {
	ex.mu.Lock()
	size := footprint(ex)
	arn := ex.rec.ExecutionArn
	ex.mu.Unlock()
	r.mu.Lock()
	r.closedArns = append(r.closedArns, arn)
	r.closedSize[arn] = size
	r.closedMem += size
	r.evictLocked()
	r.mu.Unlock()
}

// forgetClosed removes a closed execution that runs again (a redrive) from
// the eviction order. Caller holds r.mu.
func (r *Runtime) forgetClosed(arn string) {
	for i, a := range r.closedArns {
		if a == arn {
			r.closedArns = append(r.closedArns[:i:i], r.closedArns[i+1:]...)
			r.closedMem -= r.closedSize[arn]
			delete(r.closedSize, arn)
			return
		}
	}
}

// evictedAny reports whether closed executions may have left memory (a
// start must then ask the journal whether a name is taken). Caller holds
// r.mu.
func (r *Runtime) evictedAny() bool { return r.evictions > 0 }

// RetainedBytes returns the estimated memory closed executions keep.
func (r *Runtime) RetainedBytes() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closedMem
}

func (r *Runtime) evictLocked() {
	if r.maxClosed < 0 {
		return
	}
	for len(r.closedArns) > 0 && ((r.maxClosed > 0 && len(r.closedArns) > r.maxClosed) || (r.maxMemory > 0 && r.closedMem > r.maxMemory)) {
		arn := r.closedArns[0]
		delete(r.execs, arn)
		r.closedMem -= r.closedSize[arn]
		delete(r.closedSize, arn)
		r.closedArns[0] = ""
		r.closedArns = r.closedArns[1:]
		r.evictions++
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
		r.closeCancel()
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
	p, errs := compileProgram(sm)
	if len(errs) > 0 {
		return nil, errs
	}
	r.mu.Lock()
	r.programs[def] = p
	r.mu.Unlock()
	return p, nil
}
