package runtime

import (
	"context"
	"encoding/json"
	"sort"
	"sync"
	"time"
)

// StateMachine is a state machine with its versions and aliases.
type StateMachine struct {
	Arn          string
	Name         string
	Definition   string
	RoleArn      string
	Type         string // STANDARD or EXPRESS
	Description  string
	RevisionID   string
	CreationDate time.Time
	UpdateDate   time.Time
	Versions     []*Version
	Aliases      []*Alias
	NextVersion  int
	// Tags, Logging and Tracing are stored and returned as given; the
	// runtime neither logs to CloudWatch nor traces with X-Ray.
	Tags    map[string]string     `json:",omitempty"`
	Logging *LoggingConfiguration `json:",omitempty"`
	Tracing *TracingConfiguration `json:",omitempty"`

	prog *program // compiled Definition, set lazily
}

// LoggingConfiguration is a state machine's CloudWatch Logs configuration.
type LoggingConfiguration struct {
	Level                string           `json:"level,omitempty"`
	IncludeExecutionData bool             `json:"includeExecutionData"`
	Destinations         []LogDestination `json:"destinations,omitempty"`
}

// LogDestination is one log destination.
type LogDestination struct {
	CloudWatchLogsLogGroup *struct {
		LogGroupArn string `json:"logGroupArn"`
	} `json:"cloudWatchLogsLogGroup,omitempty"`
}

// TracingConfiguration is a state machine's X-Ray tracing configuration.
type TracingConfiguration struct {
	Enabled bool `json:"enabled"`
}

// Version is a published, immutable state machine version.
type Version struct {
	Arn          string
	Number       int
	Definition   string
	RoleArn      string
	Description  string
	RevisionID   string
	CreationDate time.Time

	prog *program
}

// RoutingEntry routes a share of an alias's starts to a version.
type RoutingEntry struct {
	StateMachineVersionArn string `json:"stateMachineVersionArn"`
	Weight                 int    `json:"weight"`
}

// Alias points at one or two versions with routing weights.
type Alias struct {
	Arn          string
	Name         string
	Description  string
	Routing      []RoutingEntry
	CreationDate time.Time
	UpdateDate   time.Time
}

// Execution statuses.
const (
	StatusRunning   = "RUNNING"
	StatusSucceeded = "SUCCEEDED"
	StatusFailed    = "FAILED"
	StatusTimedOut  = "TIMED_OUT"
	StatusAborted   = "ABORTED"
)

// Execution describes one execution.
type Execution struct {
	ExecutionArn           string
	StateMachineArn        string
	StateMachineVersionArn string
	StateMachineAliasArn   string
	Name                   string
	Status                 string
	StartDate              time.Time
	StopDate               time.Time // zero while running
	Input                  json.RawMessage
	Output                 json.RawMessage // set when SUCCEEDED
	Error                  string
	Cause                  string
	// Definition is the definition this execution runs (a snapshot of the
	// machine, version or alias target at start).
	Definition string
	RoleArn    string
	// RedriveCount and RedriveDate record RedriveExecution calls.
	RedriveCount int       `json:",omitempty"`
	RedriveDate  time.Time `json:",omitzero"`
}

// EndJournal is a Journal that journals an execution's last history events
// and its terminal record in one write (one round trip where it is a
// database); the runtime uses it when the journal has it.
type EndJournal interface {
	EndExecution(ctx context.Context, e *Execution, events []*HistoryEvent) error
}

// Journal persists state machines, executions and their history so that a
// restarted Runtime can resume unfinished executions. Implementations must
// be safe for concurrent use. AppendEvents is called before the runtime acts
// on the events (a journaled TaskSucceeded is never re-run).
type Journal interface {
	// SaveStateMachine inserts or replaces a state machine (with its
	// versions and aliases) by Arn.
	SaveStateMachine(ctx context.Context, sm *StateMachine) error
	// DeleteStateMachine removes a state machine by Arn.
	DeleteStateMachine(ctx context.Context, arn string) error
	// LoadStateMachines returns every state machine.
	LoadStateMachines(ctx context.Context) ([]*StateMachine, error)
	// SaveExecution inserts or replaces an execution by ExecutionArn.
	SaveExecution(ctx context.Context, e *Execution) error
	// LoadExecutions returns every execution the runtime should keep in
	// memory at start: every RUNNING one and the most recent closed ones.
	LoadExecutions(ctx context.Context) ([]*Execution, error)
	// LoadExecution returns one execution, or nil, nil if it does not exist.
	LoadExecution(ctx context.Context, arn string) (*Execution, error)
	// AppendEvents appends history events of an execution. It must not
	// keep the slice (the runtime reuses it), only the events.
	AppendEvents(ctx context.Context, executionArn string, events []*HistoryEvent) error
	// LoadEvents returns an execution's events in ID order.
	LoadEvents(ctx context.Context, executionArn string) ([]*HistoryEvent, error)
	// PruneExecutions deletes up to limit closed executions that stopped
	// before the cutoff, with their events, and returns how many it
	// deleted. Running executions are never deleted.
	PruneExecutions(ctx context.Context, before time.Time, limit int) (int, error)
}

// MemoryJournal is an in-memory Journal: nothing survives the process, but
// it exercises the same code paths as a durable one.
type MemoryJournal struct {
	// MaxClosed, if positive, bounds the closed executions kept (oldest
	// are forgotten with their events). Set it before use.
	MaxClosed int

	mu       sync.Mutex
	machines map[string]*StateMachine
	execs    map[string]*Execution
	events   map[string][]*HistoryEvent
	closed   []string
}

// NewMemoryJournal returns an empty MemoryJournal.
func NewMemoryJournal() *MemoryJournal {
	return &MemoryJournal{machines: map[string]*StateMachine{}, execs: map[string]*Execution{}, events: map[string][]*HistoryEvent{}}
}

// SaveStateMachine implements Journal.
func (j *MemoryJournal) SaveStateMachine(_ context.Context, sm *StateMachine) error {
	c := *sm
	c.Versions = append([]*Version(nil), sm.Versions...)
	c.Aliases = append([]*Alias(nil), sm.Aliases...)
	j.mu.Lock()
	j.machines[sm.Arn] = &c
	j.mu.Unlock()
	return nil
}

// DeleteStateMachine implements Journal.
func (j *MemoryJournal) DeleteStateMachine(_ context.Context, arn string) error {
	j.mu.Lock()
	delete(j.machines, arn)
	j.mu.Unlock()
	return nil
}

// LoadStateMachines implements Journal.
func (j *MemoryJournal) LoadStateMachines(_ context.Context) ([]*StateMachine, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]*StateMachine, 0, len(j.machines))
	for _, sm := range j.machines {
		c := *sm
		out = append(out, &c)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Arn < out[b].Arn })
	return out, nil
}

// SaveExecution implements Journal.
func (j *MemoryJournal) SaveExecution(_ context.Context, e *Execution) error {
	c := *e
	j.mu.Lock()
	defer j.mu.Unlock()
	if old, ok := j.execs[e.ExecutionArn]; (!ok || old.Status == StatusRunning) && e.Status != StatusRunning {
		j.closed = append(j.closed, e.ExecutionArn)
	}
	j.execs[e.ExecutionArn] = &c
	for j.MaxClosed > 0 && len(j.closed) > j.MaxClosed {
		delete(j.execs, j.closed[0])
		delete(j.events, j.closed[0])
		j.closed = j.closed[1:]
	}
	return nil
}

// LoadExecution implements Journal.
func (j *MemoryJournal) LoadExecution(_ context.Context, arn string) (*Execution, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	e, ok := j.execs[arn]
	if !ok {
		return nil, nil
	}
	c := *e
	return &c, nil
}

// LoadExecutions implements Journal.
func (j *MemoryJournal) LoadExecutions(_ context.Context) ([]*Execution, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]*Execution, 0, len(j.execs))
	for _, e := range j.execs {
		c := *e
		out = append(out, &c)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].StartDate.Before(out[b].StartDate) })
	return out, nil
}

// AppendEvents implements Journal.
func (j *MemoryJournal) AppendEvents(_ context.Context, arn string, events []*HistoryEvent) error {
	j.mu.Lock()
	j.events[arn] = append(j.events[arn], events...)
	j.mu.Unlock()
	return nil
}

// PruneExecutions implements Journal.
func (j *MemoryJournal) PruneExecutions(_ context.Context, before time.Time, limit int) (int, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	n := 0
	for arn, e := range j.execs {
		if n >= limit {
			break
		}
		if e.Status != StatusRunning && e.StopDate.Before(before) {
			delete(j.execs, arn)
			delete(j.events, arn)
			n++
		}
	}
	kept := j.closed[:0]
	for _, arn := range j.closed {
		if _, ok := j.execs[arn]; ok {
			kept = append(kept, arn)
		}
	}
	j.closed = kept
	return n, nil
}

// LoadEvents implements Journal.
func (j *MemoryJournal) LoadEvents(_ context.Context, arn string) ([]*HistoryEvent, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := append([]*HistoryEvent(nil), j.events[arn]...)
	sort.Slice(out, func(a, b int) bool { return out[a].ID < out[b].ID })
	return out, nil
}

// nopJournal stores nothing; it stands in when Options.Journal is nil.
type nopJournal struct{}

func (nopJournal) SaveStateMachine(context.Context, *StateMachine) error      { return nil }
func (nopJournal) DeleteStateMachine(context.Context, string) error           { return nil }
func (nopJournal) LoadStateMachines(context.Context) ([]*StateMachine, error) { return nil, nil }
func (nopJournal) SaveExecution(context.Context, *Execution) error            { return nil }
func (nopJournal) LoadExecutions(context.Context) ([]*Execution, error)       { return nil, nil }
func (nopJournal) LoadExecution(context.Context, string) (*Execution, error)  { return nil, nil }
func (nopJournal) AppendEvents(context.Context, string, []*HistoryEvent) error {
	return nil
}
func (nopJournal) LoadEvents(context.Context, string) ([]*HistoryEvent, error) { return nil, nil }
func (nopJournal) PruneExecutions(context.Context, time.Time, int) (int, error) {
	return 0, nil
}
