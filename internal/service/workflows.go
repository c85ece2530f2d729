package service

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/turbocat/turbocat/internal/turbocat"
	"github.com/turbocat/turbocat/internal/workflowcheck"
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
		old := w.Name
		in.apply(w, full, &details)
		if w.Name != old {
			if err := s.notATool(ctx, actor.UserID, old, w.ID, "rename"); err != nil {
				return err
			}
		}
		return s.validate(ctx, actor.UserID, w, details)
	})
}

// MaxStepTimeoutSeconds is the longest a step may run
// (workflowcheck.MaxStepTimeoutSeconds): one invocation of the steprunner
// Lambda function, which runs at most 15 minutes.
const MaxStepTimeoutSeconds = workflowcheck.MaxStepTimeoutSeconds

// ValidateWorkflowShape checks everything about a workflow that needs no
// storage: step fields, the DAG, templates, retry and timeout bounds, the
// input schema and the schedule. It is workflowcheck.Check, the validator
// the CLI runs on files too; it returns the problems found (empty when
// valid).
func ValidateWorkflowShape(w *turbocat.Workflow, maxSteps int) []turbocat.FieldError {
	return workflowcheck.Check(w, workflowcheck.Options{MaxSteps: maxSteps})
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
		if st.AgentID != "" && owned[st.AgentID] == "" {
			details = append(details, turbocat.FieldError{Field: fmt.Sprintf("steps[%d].agentId", i), Message: "no such agent; create it first (POST /api/v1/agents)"})
		}
	}
	if len(details) > 0 {
		return turbocat.ValidationError("invalid workflow", details...)
	}
	return nil
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
	w, err := s.Store.Workflow(ctx, actor.UserID, id)
	if err != nil {
		return err
	}
	if err := s.notATool(ctx, actor.UserID, w.Name, w.ID, "delete"); err != nil {
		return err
	}
	if err := s.Store.DeleteWorkflow(ctx, actor.UserID, id); err != nil {
		return err
	}
	if s.Deleted != nil {
		s.Deleted(ctx, id)
	}
	return nil
}

// notATool refuses to delete or rename (what) a workflow one of the user's
// llm agents names as a tool (by name, or by id for a delete): their runs
// would fail.
func (s *Workflows) notATool(ctx context.Context, userID, name, id, what string) error {
	if what == "rename" {
		id = "" // a tool naming the id still finds it
	}
	users, err := s.Agents.AgentsUsingWorkflow(ctx, userID, name, id)
	if err != nil || len(users) == 0 {
		return err
	}
	return turbocat.Errorf(turbocat.ECONFLICT, "cannot %s workflow %q: the llm agents %s use it as a tool; remove it from their tools first",
		what, name, strings.Join(users, ", "))
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
