package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/turbocat/turbocat/internal/dag"
	"github.com/turbocat/turbocat/internal/executor"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// Limits are the per-user quotas and size bounds.
type Limits struct {
	MaxAgents    int
	MaxWorkflows int
	MaxSteps     int // default dag.DefaultMaxNodes
}

// Resources applies validation and quotas to agents, templates and
// workflows before they reach storage.
type Resources struct {
	Agents    turbocat.AgentStore
	Templates turbocat.TemplateStore
	Workflows turbocat.WorkflowStore
	Limits    Limits
}

// AgentInput is the body of POST /agents and (with optional fields) PATCH.
type AgentInput struct {
	Name        *string         `json:"name"`
	Description *string         `json:"description"`
	Type        *string         `json:"type"`
	Config      json.RawMessage `json:"config"`
	Status      *string         `json:"status"`
	TemplateID  *string         `json:"-"` // set by Instantiate
}

func checkName(field string, s string, details *[]turbocat.FieldError) string {
	s = strings.TrimSpace(s)
	if s == "" || utf8.RuneCountInString(s) > 100 {
		*details = append(*details, turbocat.FieldError{Field: field, Message: "must be 1 to 100 characters"})
	}
	return s
}

func checkDescription(s string, details *[]turbocat.FieldError) string {
	if utf8.RuneCountInString(s) > 2000 {
		*details = append(*details, turbocat.FieldError{Field: "description", Message: "must be at most 2000 characters"})
	}
	return s
}

// checkAgentConfig validates config against the schema of its type, kept in
// one place by the executor package.
func checkAgentConfig(typ string, config json.RawMessage, details *[]turbocat.FieldError) {
	if len(config) == 0 {
		*details = append(*details, turbocat.FieldError{Field: "config", Message: "is required"})
		return
	}
	if err := executor.ValidateConfig(typ, config); err != nil {
		var xe *turbocat.StepError
		if errors.As(err, &xe) {
			*details = append(*details, turbocat.FieldError{Field: "config", Message: xe.Cause})
			return
		}
		*details = append(*details, turbocat.FieldError{Field: "config", Message: err.Error()})
	}
}

func validType(t string) bool {
	return t == turbocat.AgentCode || t == turbocat.AgentAPI || t == turbocat.AgentLLM
}

// CreateAgent validates and stores a new agent for the actor.
func (s *Resources) CreateAgent(ctx context.Context, actor *turbocat.Actor, in AgentInput) (*turbocat.Agent, error) {
	var details []turbocat.FieldError
	a := &turbocat.Agent{UserID: actor.UserID, Status: turbocat.AgentActive, TemplateID: in.TemplateID}
	if in.Name == nil {
		details = append(details, turbocat.FieldError{Field: "name", Message: "is required"})
	} else {
		a.Name = checkName("name", *in.Name, &details)
	}
	if in.Description != nil {
		a.Description = checkDescription(*in.Description, &details)
	}
	switch {
	case in.Type == nil:
		details = append(details, turbocat.FieldError{Field: "type", Message: "is required: code, api or llm"})
	case !validType(*in.Type):
		details = append(details, turbocat.FieldError{Field: "type", Message: "must be code, api or llm"})
	default:
		a.Type = *in.Type
		checkAgentConfig(a.Type, in.Config, &details)
		a.Config = in.Config
	}
	if in.Status != nil {
		a.Status = *in.Status
		if a.Status != turbocat.AgentActive && a.Status != turbocat.AgentDisabled {
			details = append(details, turbocat.FieldError{Field: "status", Message: "must be active or disabled"})
		}
	}
	if len(details) > 0 {
		return nil, turbocat.ValidationError("invalid agent", details...)
	}
	if err := s.Agents.CreateAgent(ctx, a, s.Limits.MaxAgents); err != nil {
		return nil, err
	}
	return a, nil
}

// UpdateAgent applies a partial update. The type of an agent is fixed.
func (s *Resources) UpdateAgent(ctx context.Context, actor *turbocat.Actor, id string, in AgentInput) (*turbocat.Agent, error) {
	return s.Agents.UpdateAgent(ctx, actor.UserID, id, func(a *turbocat.Agent) error {
		var details []turbocat.FieldError
		if in.Name != nil {
			a.Name = checkName("name", *in.Name, &details)
		}
		if in.Description != nil {
			a.Description = checkDescription(*in.Description, &details)
		}
		if in.Type != nil && *in.Type != a.Type {
			details = append(details, turbocat.FieldError{Field: "type", Message: "cannot change; create a new agent instead"})
		}
		if in.Config != nil {
			checkAgentConfig(a.Type, in.Config, &details)
			a.Config = in.Config
		}
		if in.Status != nil {
			if *in.Status != turbocat.AgentActive && *in.Status != turbocat.AgentDisabled {
				details = append(details, turbocat.FieldError{Field: "status", Message: "must be active or disabled"})
			}
			a.Status = *in.Status
		}
		if len(details) > 0 {
			return turbocat.ValidationError("invalid agent", details...)
		}
		return nil
	})
}

// WorkflowInput is the body of POST/PUT /workflows and (partially) PATCH.
type WorkflowInput struct {
	Name        *string                  `json:"name"`
	Description *string                  `json:"description"`
	InputSchema json.RawMessage          `json:"inputSchema"`
	Output      json.RawMessage          `json:"output"`
	Schedule    *string                  `json:"schedule"`
	Steps       *[]turbocat.WorkflowStep `json:"steps"`
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

func nullToNil(b json.RawMessage) json.RawMessage {
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	return b
}

// CreateWorkflow validates and stores a workflow with its steps.
func (s *Resources) CreateWorkflow(ctx context.Context, actor *turbocat.Actor, in WorkflowInput) (*turbocat.Workflow, error) {
	w := &turbocat.Workflow{UserID: actor.UserID}
	var details []turbocat.FieldError
	in.apply(w, true, &details)
	if err := s.validateWorkflow(ctx, actor.UserID, w, details); err != nil {
		return nil, err
	}
	if err := s.Workflows.CreateWorkflow(ctx, w, s.Limits.MaxWorkflows); err != nil {
		return nil, err
	}
	return w, nil
}

// UpdateWorkflow replaces (full) or patches a workflow; the version goes up.
func (s *Resources) UpdateWorkflow(ctx context.Context, actor *turbocat.Actor, id string, in WorkflowInput, full bool) (*turbocat.Workflow, error) {
	return s.Workflows.UpdateWorkflow(ctx, actor.UserID, id, func(w *turbocat.Workflow) error {
		var details []turbocat.FieldError
		in.apply(w, full, &details)
		return s.validateWorkflow(ctx, actor.UserID, w, details)
	})
}

// Step setting bounds.
const (
	maxRetryAttempts = 20
	maxTimeout       = 86400
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
		if st.AgentID == "" {
			add(f+".agentId", "is required")
		}
		if len(st.Inputs) > 0 && string(st.Inputs) != "null" {
			if t := firstNonSpace(st.Inputs); t != '{' {
				add(f+".inputs", "must be an object")
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
		if st.TimeoutSeconds < 0 || st.TimeoutSeconds > maxTimeout {
			add(f+".timeoutSeconds", "must be 1 to %d", maxTimeout)
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

func (s *Resources) validateWorkflow(ctx context.Context, userID string, w *turbocat.Workflow, details []turbocat.FieldError) error {
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
func checkTemplates(field string, value json.RawMessage, declared map[string]bool, g *dag.Graph, stepKey string, details *[]turbocat.FieldError) {
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
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return c
		}
	}
	return 0
}

// TemplateInput is the body of POST/PATCH /templates.
type TemplateInput struct {
	Name        *string         `json:"name"`
	Description *string         `json:"description"`
	Category    *string         `json:"category"`
	Kind        *string         `json:"kind"`
	AgentType   *string         `json:"agentType"`
	Definition  json.RawMessage `json:"definition"`
}

// CreateTemplate validates and stores a template of the actor's.
func (s *Resources) CreateTemplate(ctx context.Context, actor *turbocat.Actor, in TemplateInput) (*turbocat.Template, error) {
	var details []turbocat.FieldError
	t := &turbocat.Template{UserID: &actor.UserID}
	if in.Name == nil {
		details = append(details, turbocat.FieldError{Field: "name", Message: "is required"})
	} else {
		t.Name = checkName("name", *in.Name, &details)
	}
	if in.Description != nil {
		t.Description = checkDescription(*in.Description, &details)
	}
	if in.Category != nil {
		t.Category = *in.Category
	}
	if in.Kind != nil {
		t.Kind = *in.Kind
	}
	if in.AgentType != nil {
		t.AgentType = *in.AgentType
	}
	t.Definition = in.Definition
	checkTemplateDefinition(t, &details)
	if len(details) > 0 {
		return nil, turbocat.ValidationError("invalid template", details...)
	}
	if err := s.Templates.CreateTemplate(ctx, t); err != nil {
		return nil, err
	}
	return t, nil
}

// checkTemplateDefinition checks an agent template's config against its
// type's schema; workflow templates are checked on instantiation, when their
// agents exist.
func checkTemplateDefinition(t *turbocat.Template, details *[]turbocat.FieldError) {
	switch t.Kind {
	case turbocat.TemplateAgent:
		if !validType(t.AgentType) {
			*details = append(*details, turbocat.FieldError{Field: "agentType", Message: "must be code, api or llm for an agent template"})
			return
		}
		checkAgentConfig(t.AgentType, t.Definition, details)
	case turbocat.TemplateWorkflow:
		if t.AgentType != "" {
			*details = append(*details, turbocat.FieldError{Field: "agentType", Message: "only agent templates have an agent type"})
		}
		if firstNonSpace(t.Definition) != '{' {
			*details = append(*details, turbocat.FieldError{Field: "definition", Message: "must be a workflow object"})
		}
	default:
		*details = append(*details, turbocat.FieldError{Field: "kind", Message: "must be agent or workflow"})
	}
}

// UpdateTemplate patches one of the actor's templates.
func (s *Resources) UpdateTemplate(ctx context.Context, actor *turbocat.Actor, id string, in TemplateInput) (*turbocat.Template, error) {
	return s.Templates.UpdateTemplate(ctx, actor.UserID, id, func(t *turbocat.Template) error {
		var details []turbocat.FieldError
		if in.Name != nil {
			t.Name = checkName("name", *in.Name, &details)
		}
		if in.Description != nil {
			t.Description = checkDescription(*in.Description, &details)
		}
		if in.Category != nil {
			t.Category = *in.Category
		}
		if in.Kind != nil && *in.Kind != t.Kind {
			details = append(details, turbocat.FieldError{Field: "kind", Message: "cannot change"})
		}
		if in.AgentType != nil && *in.AgentType != t.AgentType {
			details = append(details, turbocat.FieldError{Field: "agentType", Message: "cannot change"})
		}
		if in.Definition != nil {
			t.Definition = in.Definition
			checkTemplateDefinition(t, &details)
		}
		if len(details) > 0 {
			return turbocat.ValidationError("invalid template", details...)
		}
		return nil
	})
}

// InstantiateInput is the body of POST /templates/{id}/instantiate.
type InstantiateInput struct {
	Name        string            `json:"name"`
	Description *string           `json:"description"`
	Agents      map[string]string `json:"agents"` // workflow templates: template agent ref → agent id
}

// Instantiated is the result of instantiating a template.
type Instantiated struct {
	Kind     string             `json:"kind"`
	Agent    *turbocat.Agent    `json:"agent,omitempty"`
	Workflow *turbocat.Workflow `json:"workflow,omitempty"`
	Agents   []*turbocat.Agent  `json:"agents,omitempty"`
}

// workflowTemplate is the definition of a workflow template: the agents it
// needs (created from agent templates or given by the caller) and the
// workflow, whose steps name agents by ref.
type workflowTemplate struct {
	Agents []struct {
		Ref         string          `json:"ref"`
		Name        string          `json:"name"`
		Type        string          `json:"type"`
		Description string          `json:"description"`
		Config      json.RawMessage `json:"config"`
	} `json:"agents"`
	Workflow struct {
		Description string          `json:"description"`
		InputSchema json.RawMessage `json:"inputSchema"`
		Output      json.RawMessage `json:"output"`
		Steps       []struct {
			turbocat.WorkflowStep
			Agent string `json:"agent"`
		} `json:"steps"`
	} `json:"workflow"`
}

// Instantiate creates an agent, or a workflow with its agents, from a
// template.
func (s *Resources) Instantiate(ctx context.Context, actor *turbocat.Actor, id string, in InstantiateInput) (*Instantiated, error) {
	t, err := s.Templates.Template(ctx, actor.UserID, id)
	if err != nil {
		return nil, err
	}
	name := in.Name
	if strings.TrimSpace(name) == "" {
		name = t.Name
	}
	desc := t.Description
	if in.Description != nil {
		desc = *in.Description
	}
	if t.Kind == turbocat.TemplateAgent {
		typ := t.AgentType
		a, err := s.CreateAgent(ctx, actor, AgentInput{Name: &name, Description: &desc, Type: &typ, Config: t.Definition, TemplateID: &t.ID})
		if err != nil {
			return nil, err
		}
		return &Instantiated{Kind: t.Kind, Agent: a}, nil
	}
	var def workflowTemplate
	if err := json.Unmarshal(t.Definition, &def); err != nil {
		return nil, turbocat.ValidationError("template definition is not a workflow template", turbocat.FieldError{Field: "definition", Message: err.Error()})
	}
	out := &Instantiated{Kind: t.Kind}
	refs := map[string]string{}
	for ref, agentID := range in.Agents {
		refs[ref] = agentID
	}
	for _, a := range def.Agents {
		if refs[a.Ref] != "" {
			continue
		}
		an := name + " · " + a.Name
		typ := a.Type
		d := a.Description
		created, err := s.CreateAgent(ctx, actor, AgentInput{Name: &an, Description: &d, Type: &typ, Config: a.Config})
		if err != nil {
			return nil, fmt.Errorf("instantiate agent %q: %w", a.Ref, err)
		}
		refs[a.Ref] = created.ID
		out.Agents = append(out.Agents, created)
	}
	steps := make([]turbocat.WorkflowStep, len(def.Workflow.Steps))
	for i, st := range def.Workflow.Steps {
		steps[i] = st.WorkflowStep
		if st.Agent != "" {
			steps[i].AgentID = refs[st.Agent]
		}
	}
	w, err := s.CreateWorkflow(ctx, actor, WorkflowInput{Name: &name, Description: &desc, InputSchema: def.Workflow.InputSchema,
		Output: def.Workflow.Output, Steps: &steps})
	if err != nil {
		return nil, err
	}
	out.Workflow = w
	return out, nil
}
