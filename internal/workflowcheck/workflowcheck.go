// Package workflowcheck is the one validator of a workflow's shape: step
// fields and control flow (type, when, forEach, wait, approval, workflow,
// onError), the DAG, templates, retry and timeout bounds, the input schema
// and the schedule. The API (internal/service) runs it before storing a
// workflow and the CLI (`turbocat validate`, plan, apply) runs it offline on
// files, so the two accept and reject the same workflows with the same
// messages. What needs storage (agent ownership, quotas) or the files
// (agents defined by name, declared secrets) stays with each caller.
package workflowcheck

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/turbocat/turbocat/internal/dag"
	"github.com/turbocat/turbocat/internal/executor"
	"github.com/turbocat/turbocat/internal/schedule"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// Step setting bounds.
const (
	// MaxRetryAttempts bounds retry.maxAttempts.
	MaxRetryAttempts = 20
	// MaxTimeoutSeconds bounds retry.maxDelaySeconds.
	MaxTimeoutSeconds = 86400
	// MaxStepTimeoutSeconds is the longest a step may run: a step runs in
	// one invocation of the steprunner, and a Lambda function runs at most
	// 15 minutes. The same bound applies locally, so a workflow that runs
	// under turbocat dev also deploys to AWS.
	MaxStepTimeoutSeconds = 900
	// MaxScheduleLength bounds a schedule expression.
	MaxScheduleLength = 256
)

// Options tunes Check.
type Options struct {
	// MaxSteps bounds the number of steps; 0 means dag.DefaultMaxNodes.
	MaxSteps int
}

// Check returns every problem of w's shape (empty when valid), each naming
// its field as the API reports it (steps[2].dependsOn[0], inputSchema,
// schedule). A step's agent must be named (AgentID not empty); whether it
// exists is the caller's question.
func Check(w *turbocat.Workflow, o Options) []turbocat.FieldError {
	var details []turbocat.FieldError
	add := func(field, format string, args ...any) {
		details = append(details, turbocat.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if len(w.Steps) == 0 {
		add("steps", "must contain at least one step")
	}
	nodes := make([]dag.Node, len(w.Steps))
	for i, st := range w.Steps {
		nodes[i] = dag.Node{Key: st.Key, DependsOn: st.DependsOn}
	}
	g, err := dag.New(nodes, dag.Options{MaxNodes: o.MaxSteps})
	var verr *dag.ValidationError
	if errors.As(err, &verr) {
		for _, p := range verr.Problems {
			add(p.Field, "%s", p.Message)
		}
	} else if err != nil {
		add("steps", "%v", err)
	}
	declared := DeclaredInputs(w.InputSchema, &details)
	for i, st := range w.Steps {
		f := fmt.Sprintf("steps[%d]", i)
		checkControlFlow(f, &st, g, declared, add)
		if len(st.Inputs) > 0 && string(st.Inputs) != "null" {
			if t := firstNonSpace(st.Inputs); t != '{' {
				add(f+".inputs", "must be an object")
			} else if st.ForEach != "" {
				CheckTemplates(f+".inputs", st.Inputs, declared, g, st.Key, &details, "item", "index")
			} else {
				CheckTemplates(f+".inputs", st.Inputs, declared, g, st.Key, &details)
			}
		}
		if r := st.Retry; r != nil {
			if r.MaxAttempts < 0 || r.MaxAttempts > MaxRetryAttempts {
				add(f+".retry.maxAttempts", "must be 0 to %d", MaxRetryAttempts)
			}
			// 0 (left out) takes the compiler's default: 1 s, rate 2.0.
			if r.IntervalSeconds < 0 || r.IntervalSeconds > 3600 {
				add(f+".retry.intervalSeconds", "must be 1 to 3600 (leave it out for 1)")
			}
			if r.BackoffRate != 0 && (r.BackoffRate < 1 || r.BackoffRate > 10) {
				add(f+".retry.backoffRate", "must be 1.0 to 10.0 (leave it out for 2.0)")
			}
			if r.MaxDelaySeconds < 0 || r.MaxDelaySeconds > MaxTimeoutSeconds {
				add(f+".retry.maxDelaySeconds", "must be 1 to %d", MaxTimeoutSeconds)
			}
			for j, e := range r.Errors {
				if e == "" || len(e) > 128 {
					add(fmt.Sprintf("%s.retry.errors[%d]", f, j), "must be an error name such as Api.Http5xx")
				}
			}
		}
		if lim := timeoutLimit(&st); st.TimeoutSeconds < 0 || st.TimeoutSeconds > lim {
			if lim == MaxStepTimeoutSeconds {
				add(f+".timeoutSeconds", "must be 1 to %d: a step runs in one invocation of the steprunner Lambda function, which runs at most 900 seconds (15 minutes)", MaxStepTimeoutSeconds)
			} else {
				add(f+".timeoutSeconds", "must be 1 to %d", lim)
			}
		}
	}
	if len(w.Output) > 0 && string(w.Output) != "null" {
		CheckTemplates("output", w.Output, declared, g, "", &details)
	}
	if w.Schedule != nil {
		if msg := ScheduleProblem(*w.Schedule, ""); msg != "" {
			add("schedule", "%s", msg)
		}
	}
	return details
}

// ScheduleProblem is what is wrong with a schedule expression in a time
// zone ("" for UTC), as deployments report it, or "" when it is valid.
func ScheduleProblem(expr, tz string) string {
	if len(expr) > MaxScheduleLength {
		return fmt.Sprintf("must be at most %d characters: an EventBridge expression such as rate(5 minutes) or cron(0 12 * * ? *)", MaxScheduleLength)
	}
	if _, err := schedule.Parse(expr, tz); err != nil {
		if e := turbocat.AsError(err); e != nil {
			return e.Message
		}
		return err.Error()
	}
	return ""
}

// DeclaredInputs returns the top-level properties of an input schema, or
// nil when there is no schema (then any input may be referenced). An
// invalid schema is reported on inputSchema.
func DeclaredInputs(schema json.RawMessage, details *[]turbocat.FieldError) map[string]bool {
	if len(schema) == 0 || string(schema) == "null" {
		return nil
	}
	if _, err := executor.CompileSchema(schema); err != nil {
		*details = append(*details, turbocat.FieldError{Field: "inputSchema", Message: "is not a valid JSON Schema: " + err.Error()})
		return nil
	}
	var s struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if json.Unmarshal(schema, &s) != nil || s.Properties == nil {
		return nil
	}
	out := map[string]bool{}
	for k := range s.Properties {
		out[k] = true
	}
	return out
}

// CheckTemplates verifies that every template in value references a
// declared input, an upstream step's output (any step for the workflow
// output, when stepKey is ""), or the execution.
// extraRoots are the roots a forEach step's inputs may use too (item,
// index).
func CheckTemplates(field string, value json.RawMessage, declared map[string]bool, g *dag.Graph, stepKey string, details *[]turbocat.FieldError, extraRoots ...string) {
	refs, err := executor.TemplateRefs(value)
	if err != nil {
		*details = append(*details, turbocat.FieldError{Field: field, Message: "invalid template: " + err.Error()})
		return
	}
	for _, r := range refs {
		msg := ""
		switch r.Root() {
		case "inputs":
			if len(r.Path) < 2 {
				msg = "{{inputs}} needs a field, e.g. {{inputs.url}}"
			} else if declared != nil && !declared[r.Path[1]] {
				msg = fmt.Sprintf("{{%s}} references input %q, which inputSchema does not declare", r, r.Path[1])
			}
		case "steps":
			switch {
			case len(r.Path) < 3 || r.Path[2] != "output":
				msg = fmt.Sprintf("{{%s}} must look like {{steps.<key>.output...}}", r)
			case g == nil:
			case !g.Has(r.Path[1]):
				msg = fmt.Sprintf("{{%s}} references unknown step %q", r, r.Path[1])
			case stepKey != "" && !g.IsUpstream(r.Path[1], stepKey):
				msg = fmt.Sprintf("{{%s}} references step %q, which is not upstream of %q; add it to dependsOn", r, r.Path[1], stepKey)
			}
		case "execution":
			if len(r.Path) != 2 || (r.Path[1] != "id" && r.Path[1] != "startedAt") {
				msg = fmt.Sprintf("{{%s}}: execution offers id and startedAt", r)
			}
		case "secrets":
			msg = "secrets belong in agent configs, not step inputs, so they never reach stored step inputs"
		case "item", "index":
			if !slices.Contains(extraRoots, r.Root()) {
				msg = fmt.Sprintf("{{%s}} is only available in the inputs of a forEach step", r)
			}
		default:
			msg = fmt.Sprintf("{{%s}}: templates start with inputs, steps or execution", r)
		}
		if msg != "" {
			*details = append(*details, turbocat.FieldError{Field: field, Message: msg})
		}
	}
}

func firstNonSpace(b []byte) byte {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c
	}
	return 0
}
