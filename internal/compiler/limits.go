package compiler

import (
	"fmt"

	"github.com/turbocat/turbocat/internal/asl"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// Limits of a Step Functions Standard workflow that a compiled machine
// must respect.
const (
	// MaxDefinitionBytes is the largest state-machine definition Step
	// Functions accepts (1 MiB).
	MaxDefinitionBytes = 1 << 20
	// MaxHistoryEvents is the longest execution history of a Standard
	// workflow: the event past it fails the execution.
	MaxHistoryEvents = 25000
)

// Budget is what a compiled machine costs against those limits.
type Budget struct {
	// DefinitionBytes is the size of the compact JSON submitted to Step
	// Functions.
	DefinitionBytes int
	// HistoryEvents bounds the history of a run in which no Task is
	// retried; WorstCaseHistoryEvents one in which every Task uses every
	// retry its retriers allow (and the failure path runs too).
	HistoryEvents          int
	WorstCaseHistoryEvents int
}

// Warning describes a budget whose worst case passes MaxHistoryEvents
// (a run that retries enough would fail), or "" when it does not.
func (b Budget) Warning() string {
	if b.WorstCaseHistoryEvents <= MaxHistoryEvents {
		return ""
	}
	return fmt.Sprintf("a run that retries every step as often as allowed records up to %d history events, past Step Functions' %d: such a run would fail",
		b.WorstCaseHistoryEvents, MaxHistoryEvents)
}

// Measure computes the budget of sm.
func Measure(sm *asl.StateMachine) (Budget, error) {
	def, err := MarshalCompactJSON(sm)
	if err != nil {
		return Budget{}, err
	}
	// ExecutionStarted and ExecutionSucceeded (or Failed).
	b := Budget{DefinitionBytes: len(def), HistoryEvents: 2, WorstCaseHistoryEvents: 2}
	ok, worst := historyEvents(sm.States)
	b.HistoryEvents += ok
	b.WorstCaseHistoryEvents += worst
	return b, nil
}

// historyEvents sums, over every state, the events of entering it once
// (ok) and of entering it with every retry used (worst). Summing every
// state, failure paths included, bounds any one run from above.
func historyEvents(states map[string]*asl.State) (ok, worst int) {
	for _, st := range states {
		if st == nil {
			continue
		}
		switch st.Type {
		case asl.TypeTask:
			// StateEntered, StateExited; TaskScheduled, TaskStarted and
			// TaskSucceeded or TaskFailed per attempt.
			attempts := 1
			for _, r := range st.Retry {
				n := asl.DefaultMaxAttempts
				if r.MaxAttempts != nil {
					n = *r.MaxAttempts
				}
				attempts += n
			}
			ok += 2 + 3
			worst += 2 + 3*attempts
		case asl.TypeParallel:
			// ParallelStateEntered, Started, Succeeded, Exited.
			ok += 4
			worst += 4
			for _, br := range st.Branches {
				o, w := historyEvents(br.States)
				ok += o
				worst += w
			}
		default:
			ok += 2
			worst += 2
		}
	}
	return ok, worst
}

// checkLimits refuses a machine Step Functions would refuse, or whose runs
// would fail on the history limit without a single retry.
func checkLimits(wfID string, sm *asl.StateMachine) error {
	b, err := Measure(sm)
	if err != nil {
		return err
	}
	if b.DefinitionBytes > MaxDefinitionBytes {
		return turbocat.Errorf(turbocat.EVALIDATION, "workflow %s compiles to a %d-byte state machine, past Step Functions' %d-byte limit: split it into smaller workflows",
			wfID, b.DefinitionBytes, MaxDefinitionBytes)
	}
	if b.HistoryEvents > MaxHistoryEvents {
		return turbocat.Errorf(turbocat.EVALIDATION, "a run of workflow %s records at least %d history events, past Step Functions' %d: split it into smaller workflows",
			wfID, b.HistoryEvents, MaxHistoryEvents)
	}
	return nil
}
