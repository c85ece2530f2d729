package service

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/turbocat/turbocat/internal/turbocat"
)

// Templates manages templates (the built-in catalog is read-only) and
// instantiates them into agents and workflows.
type Templates struct {
	Store     turbocat.Store
	Agents    *Agents
	Workflows *Workflows
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

// Create validates and stores a template of the actor's.
func (s *Templates) Create(ctx context.Context, actor *turbocat.Actor, in TemplateInput) (*turbocat.Template, error) {
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
	if err := s.Store.CreateTemplate(ctx, t); err != nil {
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

// Update patches one of the actor's templates.
func (s *Templates) Update(ctx context.Context, actor *turbocat.Actor, id string, in TemplateInput) (*turbocat.Template, error) {
	return s.Store.UpdateTemplate(ctx, actor.UserID, id, func(t *turbocat.Template) error {
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
func (s *Templates) Instantiate(ctx context.Context, actor *turbocat.Actor, id string, in InstantiateInput) (*Instantiated, error) {
	t, err := s.Store.Template(ctx, actor.UserID, id)
	if err != nil {
		return nil, err
	}
	name := in.Name
	if strings.TrimSpace(name) == "" {
		// The template's name, or "Name 2", "Name 3", ... when taken.
		if name, err = s.freeName(ctx, actor, t.Kind, t.Name); err != nil {
			return nil, err
		}
	}
	desc := t.Description
	if in.Description != nil {
		desc = *in.Description
	}
	if t.Kind == turbocat.TemplateAgent {
		typ := t.AgentType
		a, err := s.Agents.Create(ctx, actor, AgentInput{Name: &name, Description: &desc, Type: &typ, Config: t.Definition, TemplateID: &t.ID})
		if err != nil {
			return nil, err
		}
		return &Instantiated{Kind: t.Kind, Agent: a}, nil
	}
	var def workflowTemplate
	if err := json.Unmarshal(t.Definition, &def); err != nil {
		return nil, turbocat.ValidationError("template definition is not a workflow template", turbocat.FieldError{Field: "definition", Message: err.Error()})
	}
	// The agents and the workflow are created in one transaction: a
	// failure half-way (an invalid step, the workflow quota) leaves nothing.
	var out *Instantiated
	err = s.Store.InTx(ctx, func(st turbocat.Store) error {
		agents, workflows := s.Agents.on(st), s.Workflows.on(st)
		out = &Instantiated{Kind: t.Kind}
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
			created, err := agents.Create(ctx, actor, AgentInput{Name: &an, Description: &d, Type: &typ, Config: a.Config})
			if err != nil {
				return fmt.Errorf("instantiate agent %q: %w", a.Ref, err)
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
		w, err := workflows.Create(ctx, actor, WorkflowInput{Name: &name, Description: &desc, InputSchema: def.Workflow.InputSchema,
			Output: def.Workflow.Output, Steps: &steps})
		if err != nil {
			return err
		}
		out.Workflow = w
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// freeName returns base, or the first of "base 2", "base 3", ... that none
// of the actor's agents (kind agent) or workflows (kind workflow) is named.
func (s *Templates) freeName(ctx context.Context, actor *turbocat.Actor, kind, base string) (string, error) {
	taken := map[string]bool{}
	page := turbocat.Page{Limit: 100}
	for {
		var names []string
		var next string
		if kind == turbocat.TemplateAgent {
			l, err := s.Agents.Store.ListAgents(ctx, actor.UserID, turbocat.AgentFilter{Search: base}, page)
			if err != nil {
				return "", err
			}
			for _, a := range l.Items {
				names = append(names, a.Name)
			}
			next = l.NextCursor
		} else {
			l, err := s.Workflows.Store.ListWorkflows(ctx, actor.UserID, base, page)
			if err != nil {
				return "", err
			}
			for _, w := range l.Items {
				names = append(names, w.Name)
			}
			next = l.NextCursor
		}
		for _, n := range names {
			taken[n] = true
		}
		if next == "" {
			break
		}
		page.Cursor = next
	}
	name := base
	for i := 2; taken[name]; i++ {
		name = fmt.Sprintf("%s %d", base, i)
	}
	return name, nil
}

// Get returns a template the actor may see (theirs or a built-in one).
func (s *Templates) Get(ctx context.Context, actor *turbocat.Actor, id string) (*turbocat.Template, error) {
	return s.Store.Template(ctx, actor.UserID, id)
}

// List returns a page of the templates the actor may see, optionally of one
// kind (agent or workflow).
func (s *Templates) List(ctx context.Context, actor *turbocat.Actor, kind string, p turbocat.Page) (*turbocat.List[*turbocat.Template], error) {
	return s.Store.ListTemplates(ctx, actor.UserID, kind, p)
}

// Delete deletes one of the actor's templates.
func (s *Templates) Delete(ctx context.Context, actor *turbocat.Actor, id string) error {
	return s.Store.DeleteTemplate(ctx, actor.UserID, id)
}
