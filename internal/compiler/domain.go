package compiler

import "github.com/turbocat/turbocat/internal/turbocat"

// FromDomain converts a stored workflow version into the compiler's input.
func FromDomain(w *turbocat.Workflow) Workflow {
	out := Workflow{ID: w.ID, Version: w.Version, Name: w.Name, Steps: make([]Step, len(w.Steps))}
	for i, s := range w.Steps {
		st := Step{Key: s.Key, DependsOn: s.DependsOn, TimeoutSeconds: s.TimeoutSeconds, Type: s.Type, When: s.When,
			ForEach: s.ForEach, MaxConcurrency: s.MaxConcurrency, OnError: s.OnError}
		if r := s.Retry; r != nil {
			st.Retry = &RetryPolicy{
				MaxAttempts:     r.MaxAttempts,
				IntervalSeconds: r.IntervalSeconds,
				BackoffRate:     r.BackoffRate,
				MaxDelaySeconds: r.MaxDelaySeconds,
				Errors:          r.Errors,
			}
		}
		out.Steps[i] = st
	}
	return out
}
