package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/turbocat/turbocat/internal/dag"
	"github.com/turbocat/turbocat/internal/executor"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// MaxConcurrentRuns bounds a workflow's maxConcurrentRuns.
const MaxConcurrentRuns = 1000

// Workflows manages workflows and their immutable versions: validation of
// steps, the DAG, templates and settings, agent ownership and the per-user
// quota before storage.
type Workflows struct {
	Store  turbocat.WorkflowStore
	Agents turbocat.AgentStore
	Limits Limits
	// Deleted, if set, is told of each deleted workflow: on AWS its state
	// machine is deleted, so machines do not outlive their workflows.
	Deleted func(ctx context.Context, workflowID string)
}

// WorkflowInput is the body of POST/PUT /workflows and (partially) PATCH.
type WorkflowInput struct {
	Name        *string         `json:"name"`
	Description *string         `json:"description"`
	InputSchema json.RawMessage `json:"inputSchema"`
	Output      json.RawMessage `json:"output"`
	Schedule    *string         `json:"schedule"`
	// MaxConcurrentRuns bounds the runs in flight (0: no bound).
	MaxConcurrentRuns *int `json:"maxConcurrentRuns"`
	// MaxCostUSD and MaxTokens bound each run's model spend; null
	// removes the bound.
	MaxCostUSD json.RawMessage          `json:"maxCostUsd"`
	MaxTokens  json.RawMessage          `json:"maxTokens"`
	Steps      *[]turbocat.WorkflowStep `json:"steps"`
}

// apply merges in into w; full requires every required field (POST, PUT).
func (in WorkflowInput) apply(w *turbocat.Workflow, full bool, details *[]turbocat.FieldError) {
	if in.Name != nil {
		w.Name = checkName("name", *in.Name, details)
	} else if full {
		*details = append(*details, turbocat.FieldError{Field: "name", Message: "is required"})
	}
	if in.Description != nil {
		w.Description = checkDescription(*in.Description, details)
	} else if full {
		w.Description = ""
	}
	if in.InputSchema != nil || full {
		w.InputSchema = nullToNil(in.InputSchema)
	}
	if in.Output != nil || full {
		w.Output = nullToNil(in.Output)
	}
	if in.MaxConcurrentRuns != nil || full {
		w.MaxConcurrentRuns = 0
		if in.MaxConcurrentRuns != nil {
			w.MaxConcurrentRuns = *in.MaxConcurrentRuns
		}
		if w.MaxConcurrentRuns < 0 || w.MaxConcurrentRuns > MaxConcurrentRuns {
			*details = append(*details, turbocat.FieldError{Field: "maxConcurrentRuns",
				Message: fmt.Sprintf("must be 0 (no bound) to %d: the runs in flight at once; more wait as queued", MaxConcurrentRuns)})
		}
	}
	if in.MaxCostUSD != nil || full {
		w.MaxCostUSD = nil
		if v, ok := optionalNumber[float64](in.MaxCostUSD); !ok || (v != nil && (*v < 0 || *v > 1e6)) {
			*details = append(*details, turbocat.FieldError{Field: "maxCostUsd", Message: "must be 0 to 1000000 (USD per run), or null for no bound"})
		} else {
			w.MaxCostUSD = v
		}
	}
	if in.MaxTokens != nil || full {
		w.MaxTokens = nil
		if v, ok := optionalNumber[int64](in.MaxTokens); !ok || (v != nil && (*v < 0 || *v > 1e12)) {
			*details = append(*details, turbocat.FieldError{Field: "maxTokens", Message: "must be 0 to 1000000000000 (tokens per run), or null for no bound"})
		} else {
			w.MaxTokens = v
		}
	}
	if in.Schedule != nil || full {
		w.Schedule = in.Schedule
		if w.Schedule != nil && *w.Schedule == "" {
			w.Schedule = nil
		}
	}
	if in.Steps != nil {
		w.Steps = *in.Steps
		for i := range w.Steps {
			if w.Steps[i].DependsOn == nil {
				w.Steps[i].DependsOn = []string{}
			}
			if len(w.Steps[i].Inputs) == 0 || string(w.Steps[i].Inputs) == "null" {
				w.Steps[i].Inputs = json.RawMessage(`{}`)
			}
		}
	} else if full {
		*details = append(*details, turbocat.FieldError{Field: "steps", Message: "is required: at least one step"})
	}
}

// Create validates and stores a workflow with its steps.
func (s *Workflows) Create(ctx context.Context, actor *turbocat.Actor, in WorkflowInput) (*turbocat.Workflow, error) {
	w := &turbocat.Workflow{UserID: actor.UserID}
	var details []turbocat.FieldError
	in.apply(w, true, &details)
	if err := s.validate(ctx, actor.UserID, w, details); err != nil {
		return nil, err
	}
	if err := s.Store.CreateWorkflow(ctx, w, s.Limits.MaxWorkflows); err != nil {
		return nil, err
	}
	return w, nil
}

// Update replaces (full) or patches a workflow; the version goes up.
func (s *Workflows) Update(ctx context.Context, actor *turbocat.Actor, id string, in WorkflowInput, full bool) (*turbocat.Workflow, error) {
	return s.Store.UpdateWorkflow(ctx, actor.UserID, id, func(w *turbocat.Workflow) error {
		var details []turbocat.FieldError
		in.apply(w, full, &details)
		return s.validate(ctx, actor.UserID, w, details)
	})
}

// Step setting bounds.
const (
	maxRetryAttempts = 20
	maxTimeout       = 86400
	// MaxStepTimeoutSeconds is the longest a step may run: a step runs in
	// one invocation of the steprunner, and a Lambda function runs at most
	// 15 minutes. The same bound applies locally, so a workflow that runs
	// under turbocat dev also deploys to AWS.
	MaxStepTimeoutSeconds = 900
)

// ValidateWorkflowShape checks everything about a workflow that needs no
// storage: step fields, the DAG, templates, retry and timeout bounds, the
// input schema. It returns the problems found (empty when valid).
func ValidateWorkflowShape(w *turbocat.Workflow, maxSteps int) []turbocat.FieldError {
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
	g, err := dag.New(nodes, dag.Options{MaxNodes: maxSteps})
	var verr *dag.ValidationError
	if errors.As(err, &verr) {
		for _, p := range verr.Problems {
			add(p.Field, "%s", p.Message)
		}
	} else if err != nil {
		add("steps", "%v", err)
	}
	declared := declaredInputs(w.InputSchema, &details)
	for i, st := range w.Steps {
		f := fmt.Sprintf("steps[%d]", i)
		checkControlFlow(f, &st, g, declared, add)
		if len(st.Inputs) > 0 && string(st.Inputs) != "null" {
			if t := firstNonSpace(st.Inputs); t != '{' {
				add(f+".inputs", "must be an object")
			} else if st.ForEach != "" {
				checkTemplates(f+".inputs", st.Inputs, declared, g, st.Key, &details, "item", "index")
			} else {
				checkTemplates(f+".inputs", st.Inputs, declared, g, st.Key, &details)
			}
		}
		if r := st.Retry; r != nil {
			if r.MaxAttempts < 0 || r.MaxAttempts > maxRetryAttempts {
				add(f+".retry.maxAttempts", "must be 0 to %d", maxRetryAttempts)
			}
			if r.IntervalSeconds < 1 || r.IntervalSeconds > 3600 {
				add(f+".retry.intervalSeconds", "must be 1 to 3600")
			}
			if r.BackoffRate < 1 || r.BackoffRate > 10 {
				add(f+".retry.backoffRate", "must be 1.0 to 10.0")
			}
			if r.MaxDelaySeconds < 0 || r.MaxDelaySeconds > maxTimeout {
				add(f+".retry.maxDelaySeconds", "must be 1 to %d", maxTimeout)
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
	if len(w.Output) > 0 {
		checkTemplates("output", w.Output, declared, g, "", &details)
	}
	if w.Schedule != nil && (len(*w.Schedule) > 256 || strings.TrimSpace(*w.Schedule) == "") {
		add("schedule", "must be an EventBridge expression such as rate(5 minutes) or cron(0 12 * * ? *)")
	}
	return details
}

func (s *Workflows) validate(ctx context.Context, userID string, w *turbocat.Workflow, details []turbocat.FieldError) error {
	details = append(details, ValidateWorkflowShape(w, s.Limits.MaxSteps)...)
	var ids []string
	for _, st := range w.Steps {
		if st.AgentID != "" {
			ids = append(ids, st.AgentID)
		}
	}
	owned, err := s.Agents.OwnedAgents(ctx, userID, ids)
	if err != nil {
		return err
	}
	if r, ok := s.Store.(WorkflowResolver); ok {
		add := func(field, format string, args ...any) {
			details = append(details, turbocat.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
		}
		if err := checkSubWorkflows(ctx, r, userID, w, add); err != nil {
			return err
		}
	}
	for i, st := range w.Steps {
		if st.AgentID != "" && !owned[st.AgentID] {
			details = append(details, turbocat.FieldError{Field: fmt.Sprintf("steps[%d].agentId", i), Message: "no such agent; create it first (POST /api/v1/agents)"})
		}
	}
	if len(details) > 0 {
		return turbocat.ValidationError("invalid workflow", details...)
	}
	return nil
}

// declaredInputs returns the top-level properties of an input schema, or nil
// when there is no schema (then any input may be referenced).
func declaredInputs(schema json.RawMessage, details *[]turbocat.FieldError) map[string]bool {
	if len(schema) == 0 {
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

// checkTemplates verifies that every template in value references a declared
// input, an upstream step's output (any step for the workflow output, when
// stepKey is ""), or the execution.
func checkTemplates(field string, value json.RawMessage, declared map[string]bool, g *dag.Graph, stepKey string, details *[]turbocat.FieldError, extraRoots ...string) {
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

// on returns the service over st (a transaction's store).
func (s *Workflows) on(st turbocat.Store) *Workflows {
	c := *s
	c.Store, c.Agents = st, st
	return &c
}

// Get returns one of the actor's workflows at its current version.
func (s *Workflows) Get(ctx context.Context, actor *turbocat.Actor, id string) (*turbocat.Workflow, error) {
	return s.Store.Workflow(ctx, actor.UserID, id)
}

// Version returns one of the actor's workflows as it was at version.
func (s *Workflows) Version(ctx context.Context, actor *turbocat.Actor, id string, version int) (*turbocat.Workflow, error) {
	return s.Store.WorkflowVersion(ctx, actor.UserID, id, version)
}

// List returns a page of the actor's workflows, optionally those whose name
// contains search.
func (s *Workflows) List(ctx context.Context, actor *turbocat.Actor, search string, p turbocat.Page) (*turbocat.List[*turbocat.Workflow], error) {
	return s.Store.ListWorkflows(ctx, actor.UserID, search, p)
}

// Delete deletes one of the actor's workflows with its versions.
func (s *Workflows) Delete(ctx context.Context, actor *turbocat.Actor, id string) error {
	if err := s.Store.DeleteWorkflow(ctx, actor.UserID, id); err != nil {
		return err
	}
	if s.Deleted != nil {
		s.Deleted(ctx, id)
	}
	return nil
}

// optionalNumber decodes a nullable number field: nil for absent or null,
// ok false when it is not a number of the type.
func optionalNumber[T int64 | float64](raw json.RawMessage) (*T, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, true
	}
	var v T
	if json.Unmarshal(raw, &v) != nil {
		return nil, false
	}
	return &v, true
}
