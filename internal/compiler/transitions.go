package compiler

import (
	"fmt"

	"github.com/turbocat/turbocat/internal/asl"
)

// Transitions counts the state transitions of a successful run of sm, the
// billing unit of Standard workflows: every state entered counts once,
// including a Parallel state and every state inside its branches. attempts
// gives, per state name, how many times a Task ran (retries count as
// transitions too); a state absent from it ran once. Only the state types the
// compiler emits on a successful path (Task, Pass, Parallel, Succeed) are
// supported; a Choice, Wait or Map state, a Fail state on the path, or a loop
// is an error.
func Transitions(sm *asl.StateMachine, attempts map[string]int) (int, error) {
	return transitions(sm.StartAt, sm.States, attempts)
}

func transitions(start string, states map[string]*asl.State, attempts map[string]int) (int, error) {
	total := 0
	seen := map[string]bool{}
	for name := start; ; {
		st, ok := states[name]
		if !ok || st == nil {
			return 0, fmt.Errorf("count transitions: state %q does not exist", name)
		}
		if seen[name] {
			return 0, fmt.Errorf("count transitions: state %q is entered twice on the success path", name)
		}
		seen[name] = true
		switch st.Type {
		case asl.TypeTask, asl.TypePass:
			n := 1
			if a, ok := attempts[name]; ok && a > 1 {
				n = a
			}
			total += n
		case asl.TypeSucceed:
			return total + 1, nil
		case asl.TypeParallel:
			total++
			for i, br := range st.Branches {
				n, err := transitions(br.StartAt, br.States, attempts)
				if err != nil {
					return 0, fmt.Errorf("%s branch %d: %w", name, i+1, err)
				}
				total += n
			}
		default:
			return 0, fmt.Errorf("count transitions: state %q of type %s is not supported", name, st.Type)
		}
		if st.End {
			return total, nil
		}
		name = st.Next
	}
}
