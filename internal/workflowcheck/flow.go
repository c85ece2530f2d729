package workflowcheck

import (
	"encoding/json"
	"strings"

	"github.com/turbocat/turbocat/internal/cond"
	"github.com/turbocat/turbocat/internal/dag"
	"github.com/turbocat/turbocat/internal/executor"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// Control-flow bounds.
const (
	// MaxForEachItems is the longest list a forEach step runs inline.
	MaxForEachItems = 1000
	// MaxWaitSeconds bounds a wait step (a Standard execution lives a
	// year at most).
	MaxWaitSeconds = 365 * 24 * 3600
	// MaxApprovalTimeout bounds an approval's timeoutSeconds (30 days).
	MaxApprovalTimeout = 30 * 24 * 3600
)

// SkipSemantics explains to users what skipping does; validate and the
// docs print it.
const SkipSemantics = "A step whose when condition is false is skipped: its agent does not run and its output is null. " +
	"Steps after it still run and see null (and steps.<key>.status == \"skipped\"); a step without a when condition whose " +
	"every dependency was skipped is skipped too. A step with a when condition is decided by its condition alone."

// checkControlFlow checks a step's type, when, forEach, wait, approval,
// workflow and onError settings (g may be nil when the graph is invalid).
func checkControlFlow(f string, st *turbocat.WorkflowStep, g *dag.Graph, declared map[string]bool, add func(field, format string, args ...any)) {
	typ := st.StepType()
	switch typ {
	case turbocat.StepTypeAgent:
		if st.AgentID == "" {
			add(f+".agentId", "is required")
		}
	case turbocat.StepTypeWait, turbocat.StepTypeApproval, turbocat.StepTypeWorkflow:
		if st.AgentID != "" {
			add(f+".agentId", "a %s step runs no agent; remove its agent", typ)
		}
		if st.Retry != nil {
			add(f+".retry", "a %s step is not retried: retry applies to agent steps", typ)
		}
	default:
		add(f+".type", "must be agent, wait, approval or workflow, not %q", st.Type)
		return
	}
	if st.OnError != "" && st.OnError != turbocat.OnErrorFail && st.OnError != turbocat.OnErrorContinue {
		add(f+".onError", "must be fail (the run fails) or continue (the step is recorded failed and the run goes on)")
	}
	if st.When != "" {
		keys, err := cond.Check(st.When)
		if err != nil {
			add(f+".when", "%v", err)
		}
		for _, k := range keys {
			switch {
			case g == nil:
			case !g.Has(k):
				add(f+".when", "references unknown step %q", k)
			case !g.IsUpstream(k, st.Key):
				add(f+".when", "references step %q, which is not upstream of %q; add it to dependsOn", k, st.Key)
			}
		}
	}
	if st.ForEach != "" {
		if typ != turbocat.StepTypeAgent {
			add(f+".forEach", "only agent steps run once per item")
		}
		refs, err := executor.TemplateRefs(mustRaw(st.ForEach))
		t := strings.TrimSpace(st.ForEach)
		if err != nil || len(refs) != 1 || !strings.HasPrefix(t, "{{") || !strings.HasSuffix(t, "}}") || strings.Count(t, "{{") != 1 {
			add(f+".forEach", "must be one template that gives a list, such as {{inputs.documents}} or {{steps.split.output.items}} (at most %d items)", MaxForEachItems)
		} else {
			var sub []turbocat.FieldError
			CheckTemplates(f+".forEach", mustRaw(st.ForEach), declared, g, st.Key, &sub)
			for _, d := range sub {
				add(d.Field, "%s", d.Message)
			}
		}
		if st.MaxConcurrency < 0 || st.MaxConcurrency > MaxForEachItems {
			add(f+".maxConcurrency", "must be 1 to %d (default 10): the items that run at once", MaxForEachItems)
		}
	} else if st.MaxConcurrency != 0 {
		add(f+".maxConcurrency", "applies to forEach steps only")
	}
	switch typ {
	case turbocat.StepTypeWait:
		switch {
		case st.Seconds == 0 && st.Until == "":
			add(f, "a wait step needs seconds or until")
		case st.Seconds != 0 && st.Until != "":
			add(f, "a wait step takes seconds or until, not both")
		case st.Seconds < 0 || st.Seconds > MaxWaitSeconds:
			add(f+".seconds", "must be 1 to %d (a year)", MaxWaitSeconds)
		case st.Until != "":
			if _, err := executor.TemplateRefs(mustRaw(st.Until)); err != nil {
				add(f+".until", "invalid template: %v", err)
			} else {
				var sub []turbocat.FieldError
				CheckTemplates(f+".until", mustRaw(st.Until), declared, g, st.Key, &sub)
				for _, d := range sub {
					add(d.Field, "%s", d.Message)
				}
			}
		}
	default:
		if st.Seconds != 0 {
			add(f+".seconds", "applies to wait steps only")
		}
		if st.Until != "" {
			add(f+".until", "applies to wait steps only")
		}
	}
	if typ == turbocat.StepTypeWorkflow {
		if strings.TrimSpace(st.Workflow) == "" {
			add(f+".workflow", "is required: the name or id of the workflow to run")
		}
	} else if st.Workflow != "" {
		add(f+".workflow", "applies to workflow steps only (type: workflow)")
	}
}

// timeoutLimit is the largest timeoutSeconds of a step.
// An agent step runs in one steprunner invocation (MaxStepTimeoutSeconds);
// an approval waits up to 30 days; a child run up to a day.
func timeoutLimit(st *turbocat.WorkflowStep) int {
	switch st.StepType() {
	case turbocat.StepTypeApproval:
		return MaxApprovalTimeout
	case turbocat.StepTypeWorkflow:
		return MaxTimeoutSeconds
	}
	return MaxStepTimeoutSeconds
}

func mustRaw(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}
