package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/turbocat/turbocat/internal/executor"
	"github.com/turbocat/turbocat/internal/secrets"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// Agents manages agents: validation against each type's config schema and
// the per-user quota before storage, and test runs.
type Agents struct {
	Store  turbocat.AgentStore
	Audit  turbocat.AuditStore
	Limits Limits
	// Runner runs agents for test runs; nil where this process runs no
	// agents (test runs then answer EUNAVAILABLE).
	Runner AgentRunner
	// MaxTestSeconds bounds a test run's timeoutSeconds (MaxTestSeconds
	// when 0); TestLimitReason, if set, says why in the validation error.
	// On AWS the HTTP API answers within 30 s, so test runs there stop at 25.
	MaxTestSeconds  int
	TestLimitReason string
	// Workflows looks up the workflows llm agents name as tools; nil
	// leaves them to be checked at run time.
	Workflows WorkflowResolver
}

// on returns the service over st (a transaction's store).
func (s *Agents) on(st turbocat.Store) *Agents {
	c := *s
	c.Store, c.Audit = st, st
	return &c
}

// AgentRunner runs an agent once on an input with its owner's secrets; every
// secret value it resolves is added to scrub. The step runner implements it.
type AgentRunner interface {
	RunAgent(ctx context.Context, userID string, agent *turbocat.Agent, req executor.Request) (executor.Result, error)
}

// AgentInput is the body of POST /agents and (with optional fields) PATCH.
type AgentInput struct {
	Name        *string         `json:"name"`
	Description *string         `json:"description"`
	Type        *string         `json:"type"`
	Config      json.RawMessage `json:"config"`
	// InputSchema is absent (unchanged), null (removed) or a JSON Schema.
	InputSchema json.RawMessage `json:"inputSchema"`
	Status      *string         `json:"status"`
	TemplateID  *string         `json:"-"` // set by Instantiate
}

// MaxInputSchemaBytes bounds an agent's inputSchema.
const MaxInputSchemaBytes = 64 << 10

// checkInputSchema validates an agent's inputSchema: a JSON Schema of an
// object (a tool's parameters are an object), compiled without loading
// anything remote. It returns the schema to store (nil for null).
func checkInputSchema(raw json.RawMessage, details *[]turbocat.FieldError) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if len(raw) > MaxInputSchemaBytes {
		*details = append(*details, turbocat.FieldError{Field: "inputSchema", Message: fmt.Sprintf("must be at most %d bytes", MaxInputSchemaBytes)})
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		*details = append(*details, turbocat.FieldError{Field: "inputSchema", Message: "must be a JSON Schema object"})
		return nil
	}
	if t, ok := m["type"]; ok && t != "object" {
		*details = append(*details, turbocat.FieldError{Field: "inputSchema.type", Message: `must be "object": a tool's arguments are an object`})
		return nil
	}
	if _, err := executor.CompileSchema(raw); err != nil {
		*details = append(*details, turbocat.FieldError{Field: "inputSchema", Message: "is not a valid JSON Schema: " + err.Error()})
		return nil
	}
	return raw
}

// checkTools checks an LLM agent's tools: each names a code or api agent,
// or a workflow, of the same owner.
func (s *Agents) checkTools(ctx context.Context, userID, self string, config json.RawMessage, details *[]turbocat.FieldError) error {
	var c struct {
		Tools []executor.LLMTool `json:"tools"`
	}
	if json.Unmarshal(config, &c) != nil || len(c.Tools) == 0 {
		return nil
	}
	names := make([]string, 0, len(c.Tools))
	for _, t := range c.Tools {
		if t.MCP == nil && t.Workflow == "" {
			names = append(names, t.Agent)
		}
	}
	agents, err := s.Store.AgentsByName(ctx, userID, names)
	if err != nil {
		return err
	}
	for i, t := range c.Tools {
		if t.Workflow != "" && s.Workflows != nil {
			if _, err := resolveWorkflow(ctx, s.Workflows, userID, t.Workflow); turbocat.ErrorCodeOf(err) == turbocat.ENOTFOUND {
				*details = append(*details, turbocat.FieldError{Field: fmt.Sprintf("config.tools.%d.workflow", i), Message: fmt.Sprintf("you have no workflow named %q", t.Workflow)})
			} else if err != nil {
				return err
			}
		}
		if t.MCP != nil || t.Workflow != "" {
			continue
		}
		field := fmt.Sprintf("config.tools.%d.agent", i)
		a, ok := agents[t.Agent]
		switch {
		case t.Agent == self:
			*details = append(*details, turbocat.FieldError{Field: field, Message: "an agent cannot be its own tool"})
		case !ok:
			*details = append(*details, turbocat.FieldError{Field: field, Message: fmt.Sprintf("you have no agent named %q", t.Agent)})
		case a.Type == turbocat.AgentLLM:
			*details = append(*details, turbocat.FieldError{Field: field, Message: fmt.Sprintf("%q is an llm agent; tools are code or api agents", t.Agent)})
		}
	}
	return nil
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
		return
	}
	// What the schema cannot say, checked now rather than at run time.
	switch typ {
	case turbocat.AgentCode:
		var c struct {
			Source string `json:"source"`
		}
		if json.Unmarshal(config, &c) == nil {
			if err := executor.CheckCodeSource(c.Source); err != nil {
				*details = append(*details, turbocat.FieldError{Field: "config.source", Message: err.Error()})
			}
		}
	case turbocat.AgentLLM:
		var c struct {
			Provider     string `json:"provider"`
			BaseURL      string `json:"baseUrl"`
			APIKeySecret string `json:"apiKeySecret"`
		}
		if json.Unmarshal(config, &c) == nil && c.APIKeySecret == "" && c.BaseURL == "" && (c.Provider == "openai" || c.Provider == "anthropic") {
			*details = append(*details, turbocat.FieldError{Field: "config.apiKeySecret", Message: fmt.Sprintf(
				"is required for %s: the name of the secret holding the API key (set it with `turbocat secrets set NAME` or in Settings); a keyless %s-compatible server (Ollama, vLLM) takes baseUrl instead", c.Provider, c.Provider)})
		}
	}
}

func validType(t string) bool {
	return t == turbocat.AgentCode || t == turbocat.AgentAPI || t == turbocat.AgentLLM
}

// Create validates and stores a new agent for the actor.
func (s *Agents) Create(ctx context.Context, actor *turbocat.Actor, in AgentInput) (*turbocat.Agent, error) {
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
		if a.Type == turbocat.AgentLLM && len(details) == 0 {
			if err := s.checkTools(ctx, actor.UserID, a.Name, in.Config, &details); err != nil {
				return nil, err
			}
		}
	}
	a.InputSchema = checkInputSchema(in.InputSchema, &details)
	if in.Status != nil {
		a.Status = *in.Status
		if a.Status != turbocat.AgentActive && a.Status != turbocat.AgentDisabled {
			details = append(details, turbocat.FieldError{Field: "status", Message: "must be active or disabled"})
		}
	}
	if len(details) > 0 {
		return nil, turbocat.ValidationError("invalid agent", details...)
	}
	if err := s.Store.CreateAgent(ctx, a, s.Limits.MaxAgents); err != nil {
		return nil, err
	}
	return a, nil
}

// Update applies a partial update. The type of an agent is fixed.
func (s *Agents) Update(ctx context.Context, actor *turbocat.Actor, id string, in AgentInput) (*turbocat.Agent, error) {
	return s.Store.UpdateAgent(ctx, actor.UserID, id, func(a *turbocat.Agent) error {
		var details []turbocat.FieldError
		if in.Name != nil && *in.Name != a.Name {
			if err := s.notATool(ctx, actor.UserID, a, "rename"); err != nil {
				return err
			}
		}
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
		if a.Type == turbocat.AgentLLM && (in.Config != nil || in.Name != nil) && len(details) == 0 {
			if err := s.checkTools(ctx, actor.UserID, a.Name, a.Config, &details); err != nil {
				return err
			}
		}
		if in.InputSchema != nil {
			a.InputSchema = checkInputSchema(in.InputSchema, &details)
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

// Get returns one of the actor's agents.
func (s *Agents) Get(ctx context.Context, actor *turbocat.Actor, id string) (*turbocat.Agent, error) {
	return s.Store.Agent(ctx, actor.UserID, id)
}

// List returns a page of the actor's agents.
func (s *Agents) List(ctx context.Context, actor *turbocat.Actor, f turbocat.AgentFilter, p turbocat.Page) (*turbocat.List[*turbocat.Agent], error) {
	return s.Store.ListAgents(ctx, actor.UserID, f, p)
}

// Delete deletes one of the actor's agents; ECONFLICT while a workflow uses
// it.
func (s *Agents) Delete(ctx context.Context, actor *turbocat.Actor, id string) error {
	a, err := s.Store.Agent(ctx, actor.UserID, id)
	if err != nil {
		return err
	}
	if err := s.notATool(ctx, actor.UserID, a, "delete"); err != nil {
		return err
	}
	return s.Store.DeleteAgent(ctx, actor.UserID, id)
}

// notATool refuses to delete or rename (what) an agent another of the
// user's llm agents names as a tool: their runs would fail.
func (s *Agents) notATool(ctx context.Context, userID string, a *turbocat.Agent, what string) error {
	if a.Type == turbocat.AgentLLM {
		return nil // llm agents are never tools
	}
	users, err := s.Store.AgentsUsingTool(ctx, userID, a.Name)
	if err != nil || len(users) == 0 {
		return err
	}
	return turbocat.Errorf(turbocat.ECONFLICT, "cannot %s agent %q: the llm agents %s use it as a tool; remove it from their tools first",
		what, a.Name, strings.Join(users, ", "))
}

// MaxTestSeconds bounds an agent test run (it holds the HTTP request).
const MaxTestSeconds = 60

// AgentTestInput is the body of POST /agents/{id}/test.
type AgentTestInput struct {
	Input          json.RawMessage `json:"input"`
	TimeoutSeconds int             `json:"timeoutSeconds"`
}

// AgentTestResult is the outcome of one test run of an agent.
type AgentTestResult struct {
	OK         bool                `json:"ok"`
	Output     json.RawMessage     `json:"output,omitempty"`
	Error      *turbocat.StepError `json:"error,omitempty"`
	Logs       []executor.LogLine  `json:"logs"`
	Usage      *executor.Usage     `json:"usage,omitempty"`
	DurationMs int64               `json:"durationMs"`
}

// Test runs one of the actor's agents once on an input, as a step would,
// and reports its output or error, logs and usage with every secret value
// scrubbed. The run is audited.
func (s *Agents) Test(ctx context.Context, actor *turbocat.Actor, id string, in AgentTestInput) (*AgentTestResult, error) {
	agent, err := s.Store.Agent(ctx, actor.UserID, id)
	if err != nil {
		return nil, err
	}
	if s.Runner == nil {
		return nil, turbocat.Errorf(turbocat.EUNAVAILABLE, "agent test runs are not available on this server")
	}
	limit := MaxTestSeconds
	if s.MaxTestSeconds > 0 {
		limit = s.MaxTestSeconds
	}
	if in.TimeoutSeconds < 0 || in.TimeoutSeconds > limit {
		msg := fmt.Sprintf("must be 1 to %d", limit)
		if s.TestLimitReason != "" {
			msg += " (" + s.TestLimitReason + ")"
		}
		return nil, turbocat.ValidationError("invalid timeout", turbocat.FieldError{Field: "timeoutSeconds", Message: msg})
	}
	timeout := time.Duration(in.TimeoutSeconds) * time.Second
	if timeout == 0 {
		timeout = min(30, time.Duration(limit)) * time.Second
	}
	input := in.Input
	if len(input) == 0 {
		input = json.RawMessage(`{}`)
	}
	scrub := secrets.NewScrubber()
	rctx, cancel := context.WithTimeout(ctx, timeout+5*time.Second)
	defer cancel()
	res, runErr := s.Runner.RunAgent(rctx, actor.UserID, agent, executor.Request{Input: input, Timeout: timeout, Scrubber: scrub})
	out := &AgentTestResult{OK: runErr == nil, Output: scrub.JSON(res.Output), Usage: res.Usage, DurationMs: res.DurationMs, Logs: res.Logs}
	for i := range out.Logs {
		out.Logs[i].Message = scrub.String(out.Logs[i].Message)
		out.Logs[i].Data = scrub.JSON(out.Logs[i].Data)
	}
	if out.Logs == nil {
		out.Logs = []executor.LogLine{}
	}
	if runErr != nil {
		xe := executor.AsError(runErr, "")
		xe.Cause = scrub.String(xe.Cause)
		out.Error = xe
	}
	if err := s.Audit.Audit(ctx, "agent.test", "agent", agent.ID, map[string]any{"ok": out.OK, "durationMs": out.DurationMs}); err != nil {
		return nil, err
	}
	return out, nil
}
