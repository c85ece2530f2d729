package cli

import (
	"fmt"
	"strings"
)

// checkFileSubWorkflows reports workflows of the files that call each
// other in a loop (workflows not in the files are the server's to check).
func checkFileSubWorkflows(w *WorkflowSpec, wfs map[string]*WorkflowSpec, add func(field, format string, args ...any)) {
	for i, s := range w.Steps {
		if s.stepType() != "workflow" || s.Workflow == "" {
			continue
		}
		path := []string{w.Name}
		seen := map[string]bool{}
		var walk func(name string) bool
		walk = func(name string) bool {
			path = append(path, name)
			if name == w.Name {
				return true
			}
			if !seen[name] {
				seen[name] = true
				if next := wfs[name]; next != nil {
					for _, ns := range next.Steps {
						if ns.stepType() == "workflow" && walk(ns.Workflow) {
							return true
						}
					}
				}
			}
			path = path[:len(path)-1]
			return false
		}
		if walk(s.Workflow) {
			add(fmt.Sprintf("steps[%d].workflow", i), "step %q: workflow cycle: %s (workflows may not call each other in a loop)", s.Key, strings.Join(path, " → "))
		}
	}
}

// addFlowFields copies a step's control-flow fields into an API body.
func addFlowFields(st map[string]any, s *StepSpec) {
	for k, v := range map[string]any{"type": s.Type, "when": s.When, "forEach": s.ForEach, "until": s.Until, "workflow": s.Workflow, "onError": s.OnError} {
		if v != "" {
			st[k] = v
		}
	}
	if s.MaxConcurrency != 0 {
		st["maxConcurrency"] = s.MaxConcurrency
	}
	if s.Seconds != 0 {
		st["seconds"] = s.Seconds
	}
}

// sameFlow compares the control-flow fields of a file's step and the
// server's.
func sameFlow(w, h *StepSpec) bool {
	return w.stepType() == h.stepType() && w.When == h.When && w.ForEach == h.ForEach && w.MaxConcurrency == h.MaxConcurrency &&
		w.Seconds == h.Seconds && w.Until == h.Until && w.Workflow == h.Workflow && w.OnError == h.OnError
}

// hasConditions reports whether any workflow of the bundle has a step that
// may be skipped.
func (b *Bundle) hasConditions() bool {
	for _, w := range b.Workflows {
		for _, s := range w.Steps {
			if s.When != "" {
				return true
			}
		}
	}
	return false
}

// calleesFirst orders workflows so that a workflow another one runs (a
// workflow step) is applied before it: the server checks that it exists.
func calleesFirst(ws []*WorkflowSpec) []*WorkflowSpec {
	byName := map[string]*WorkflowSpec{}
	for _, w := range ws {
		byName[w.Name] = w
	}
	done := map[string]bool{}
	out := make([]*WorkflowSpec, 0, len(ws))
	var visit func(w *WorkflowSpec)
	visit = func(w *WorkflowSpec) {
		if done[w.Name] {
			return
		}
		done[w.Name] = true // also ends cycles, which validation reports
		for _, s := range w.Steps {
			if c := byName[s.Workflow]; s.stepType() == "workflow" && c != nil {
				visit(c)
			}
		}
		out = append(out, w)
	}
	for _, w := range ws {
		visit(w)
	}
	return out
}
