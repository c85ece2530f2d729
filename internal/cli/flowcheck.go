package cli

import (
	"fmt"
	"strings"

	"github.com/turbocat/turbocat/internal/cond"
	"github.com/turbocat/turbocat/internal/tmpl"
)

// SkipSemantics is what `validate` says about steps that may be skipped.
const SkipSemantics = "steps with `when` are skipped when it is false (no agent call, output null); later steps still run and " +
	"see null (and steps.<key>.status == \"skipped\"), but a step without `when` whose every dependency was skipped is skipped too"

type flowProblem struct{ field, msg string }

// forEachRoots are the extra template roots a step's inputs may use.
func forEachRoots(s *StepSpec) []string {
	if s.ForEach != "" {
		return []string{"item", "index"}
	}
	return nil
}

// checkStepFlow checks a step's control-flow fields offline (the server
// checks the same when the files are applied).
func checkStepFlow(s *StepSpec, upstream, known func(string) bool) []flowProblem {
	var out []flowProblem
	add := func(field, format string, args ...any) {
		out = append(out, flowProblem{field, fmt.Sprintf(format, args...)})
	}
	typ := s.stepType()
	switch typ {
	case "agent":
	case "wait", "approval", "workflow":
		if s.Agent != "" {
			add("agent", "a %s step runs no agent; remove agent", typ)
		}
		if s.Retry != nil {
			add("retry", "a %s step is not retried: retry applies to agent steps", typ)
		}
	default:
		add("type", "type must be agent, wait, approval or workflow, not %q", s.Type)
	}
	if s.When != "" {
		keys, err := cond.Check(s.When)
		if err != nil {
			add("when", "when: %v", err)
		}
		for _, k := range keys {
			if !known(k) {
				add("when", "when references unknown step %q", k)
			} else if !upstream(k) {
				add("when", "when references step %q, which is not upstream; add it to dependsOn", k)
			}
		}
	}
	if s.ForEach != "" {
		t := strings.TrimSpace(s.ForEach)
		refs, err := tmpl.References(t)
		if typ != "agent" {
			add("forEach", "only agent steps run once per item")
		} else if err != nil || len(refs) != 1 || !strings.HasPrefix(t, "{{") || !strings.HasSuffix(t, "}}") || strings.Count(t, "{{") != 1 {
			add("forEach", "forEach must be one template that gives a list, such as {{inputs.documents}} (at most 1000 items)")
		} else if msgs := checkRefs(t, upstream); len(msgs) > 0 {
			add("forEach", "forEach: %s", strings.Join(msgs, "; "))
		}
		if s.MaxConcurrency < 0 || s.MaxConcurrency > 1000 {
			add("maxConcurrency", "maxConcurrency must be 1 to 1000 (default 10)")
		}
	} else if s.MaxConcurrency != 0 {
		add("maxConcurrency", "maxConcurrency applies to forEach steps only")
	}
	if typ == "wait" {
		switch {
		case s.Seconds == 0 && s.Until == "":
			add("seconds", "a wait step needs seconds or until")
		case s.Seconds != 0 && s.Until != "":
			add("seconds", "a wait step takes seconds or until, not both")
		case s.Seconds < 0 || s.Seconds > 365*24*3600:
			add("seconds", "seconds must be 1 to 31536000 (a year)")
		case s.Until != "":
			if msgs := checkRefs(s.Until, upstream); len(msgs) > 0 {
				add("until", "until: %s", strings.Join(msgs, "; "))
			}
		}
	} else if s.Seconds != 0 || s.Until != "" {
		add("seconds", "seconds and until apply to wait steps only")
	}
	if typ == "workflow" && strings.TrimSpace(s.Workflow) == "" {
		add("workflow", "a workflow step needs workflow: the name of the workflow to run")
	} else if typ != "workflow" && s.Workflow != "" {
		add("workflow", "workflow applies to workflow steps only (type: workflow)")
	}
	if s.OnError != "" && s.OnError != "fail" && s.OnError != "continue" {
		add("onError", "onError must be fail or continue, not %q", s.OnError)
	}
	return out
}

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
