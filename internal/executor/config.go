package executor

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/turbocat/turbocat/internal/tmpl"
)

//go:embed schemas/*.json
var schemaFS embed.FS

// Schema returns the JSON Schema (draft 2020-12) of the config of an agent
// type, and whether the type is known. These documents are the single source
// of truth: the agents API validates configs with them too.
func Schema(typ string) ([]byte, bool) {
	b, err := schemaFS.ReadFile("schemas/" + typ + ".json")
	if err != nil {
		return nil, false
	}
	return b, true
}

// Schemas returns every agent config schema by type.
func Schemas() map[string][]byte {
	out := map[string][]byte{}
	for _, t := range []string{TypeCode, TypeAPI, TypeLLM} {
		b, _ := Schema(t)
		out[t] = b
	}
	return out
}

var (
	compileOnce sync.Once
	compiled    map[string]*jsonschema.Schema
	compileErr  error
)

func compiledSchemas() (map[string]*jsonschema.Schema, error) {
	compileOnce.Do(func() {
		c := jsonschema.NewCompiler()
		compiled = map[string]*jsonschema.Schema{}
		for typ, b := range Schemas() {
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
			if err != nil {
				compileErr = fmt.Errorf("schema %s: %w", typ, err)
				return
			}
			loc := "turbocat:" + typ + ".json"
			if err := c.AddResource(loc, doc); err != nil {
				compileErr = fmt.Errorf("schema %s: %w", typ, err)
				return
			}
			s, err := c.Compile(loc)
			if err != nil {
				compileErr = fmt.Errorf("schema %s: %w", typ, err)
				return
			}
			compiled[typ] = s
		}
	})
	return compiled, compileErr
}

// ValidateConfig validates raw against the schema of typ and then the
// type's Validate method (template syntax, cross-field rules). It returns an
// Executor.InvalidConfig (or Executor.UnknownType) *turbocat.StepError whose cause lists
// the problems.
func ValidateConfig(typ string, raw json.RawMessage) error {
	schemas, err := compiledSchemas()
	if err != nil {
		return fmt.Errorf("agent config schemas: %w", err)
	}
	s, ok := schemas[typ]
	if !ok {
		return Errorf(ErrUnknownType, false, "unknown agent type %q", typ)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return Errorf(ErrInvalidConfig, false, "config is not valid JSON: %v", err)
	}
	if err := s.Validate(doc); err != nil {
		return Errorf(ErrInvalidConfig, false, "config does not match the %s schema: %v", typ, err)
	}
	var v interface{ Validate() error }
	switch typ {
	case TypeCode:
		v = &CodeConfig{}
	case TypeAPI:
		v = &APIConfig{}
	case TypeLLM:
		v = &LLMConfig{}
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return Errorf(ErrInvalidConfig, false, "config: %v", err)
	}
	if err := v.Validate(); err != nil {
		return Errorf(ErrInvalidConfig, false, "%v", err)
	}
	return nil
}

// CodeConfig is the config of a code agent.
type CodeConfig struct {
	Source         string  `json:"source"`
	TimeoutSeconds float64 `json:"timeoutSeconds,omitempty"`
}

// Validate checks the rules the schema cannot express.
func (c *CodeConfig) Validate() error {
	if strings.TrimSpace(c.Source) == "" {
		return fmt.Errorf("source: must not be empty")
	}
	if c.TimeoutSeconds < 0 {
		return fmt.Errorf("timeoutSeconds: must be positive")
	}
	return nil
}

// APIConfig is the config of an API agent.
type APIConfig struct {
	Method           string            `json:"method"`
	URL              string            `json:"url"`
	Headers          map[string]string `json:"headers,omitempty"`
	Query            map[string]string `json:"query,omitempty"`
	Body             json.RawMessage   `json:"body,omitempty"`
	Auth             *APIAuth          `json:"auth,omitempty"`
	TimeoutSeconds   float64           `json:"timeoutSeconds,omitempty"`
	Retry            *APIRetry         `json:"retry,omitempty"`
	MaxResponseBytes int64             `json:"maxResponseBytes,omitempty"`
	KeepHeaders      []string          `json:"keepHeaders,omitempty"`
	// IdempotencyKeyHeader names the header the step's idempotency key is
	// sent in (default Idempotency-Key); "" sends none. A header of the
	// same name in Headers wins.
	IdempotencyKeyHeader *string `json:"idempotencyKeyHeader,omitempty"`
}

// APIAuth is how an API agent authenticates; values usually are {{secrets.X}}.
type APIAuth struct {
	// Type is bearer, basic, header or query.
	Type     string `json:"type"`
	Token    string `json:"token,omitempty"`
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	Name     string `json:"name,omitempty"`
	Value    string `json:"value,omitempty"`
}

// APIRetry is the API agent's own retry of 429/502/503/504.
type APIRetry struct {
	MaxAttempts     int     `json:"maxAttempts,omitempty"`
	MaxDelaySeconds float64 `json:"maxDelaySeconds,omitempty"`
}

// Validate checks the rules the schema cannot express: template syntax and
// the fields each auth type needs.
func (c *APIConfig) Validate() error {
	var errs []string
	check := func(field, s string) {
		if _, err := tmpl.References(s); err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", field, err))
		}
	}
	check("url", c.URL)
	for _, k := range sortedKeys(c.Headers) {
		check("headers."+k, c.Headers[k])
	}
	for _, k := range sortedKeys(c.Query) {
		check("query."+k, c.Query[k])
	}
	if len(c.Body) > 0 {
		if _, err := TemplateRefs(c.Body); err != nil {
			var se *tmpl.SyntaxError
			if errors.As(err, &se) {
				se.Field = strings.TrimSuffix("body."+se.Field, ".")
				errs = append(errs, se.Error())
			} else {
				errs = append(errs, fmt.Sprintf("body: %v", err))
			}
		}
	}
	if a := c.Auth; a != nil {
		need := map[string][]string{"bearer": {"token"}, "basic": {"username", "password"}, "header": {"name", "value"}, "query": {"name", "value"}}[a.Type]
		vals := map[string]string{"token": a.Token, "username": a.Username, "password": a.Password, "name": a.Name, "value": a.Value}
		for _, f := range need {
			if vals[f] == "" {
				errs = append(errs, fmt.Sprintf("auth.%s: required for auth type %s", f, a.Type))
			}
			check("auth."+f, vals[f])
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// LLMConfig is the config of an LLM agent.
type LLMConfig struct {
	Provider       string          `json:"provider"`
	Model          string          `json:"model"`
	BaseURL        string          `json:"baseUrl,omitempty"`
	APIKeySecret   string          `json:"apiKeySecret,omitempty"`
	Region         string          `json:"region,omitempty"`
	System         string          `json:"system,omitempty"`
	Prompt         string          `json:"prompt,omitempty"`
	Messages       []LLMMessage    `json:"messages,omitempty"`
	Temperature    *float64        `json:"temperature,omitempty"`
	MaxTokens      int64           `json:"maxTokens,omitempty"`
	TimeoutSeconds float64         `json:"timeoutSeconds,omitempty"`
	ResponseSchema json.RawMessage `json:"responseSchema,omitempty"`
	// Tools are agents of the same owner the model may call (code or api
	// agents); their inputSchema is the tool's parameters schema.
	Tools []LLMTool `json:"tools,omitempty"`
	// MaxTurns bounds the model calls of a tool loop (DefaultMaxTurns
	// when 0); a model still asking for tools then fails with Llm.MaxTurns.
	MaxTurns int `json:"maxTurns,omitempty"`
	// ToolChoice is auto (default), none, required or {"name": "<tool>"}.
	ToolChoice json.RawMessage `json:"toolChoice,omitempty"`
}

// DefaultMaxTurns is the model calls a tool loop may make by default.
const DefaultMaxTurns = 8

// LLMTool is one tool of an LLM agent: an agent, or the tools of an MCP
// server.
type LLMTool struct {
	// Agent names a code or api agent of the LLM agent's owner.
	Agent string `json:"agent,omitempty"`
	// Workflow names (or ids) a workflow of the owner, run as a child run
	// per call; its inputSchema is the tool's parameters.
	Workflow string `json:"workflow,omitempty"`
	// MCP is a remote MCP server (streamable HTTP) whose tools the model
	// may call; Allow, if set, limits them to those names.
	MCP   *MCPServer `json:"mcp,omitempty"`
	Allow []string   `json:"allow,omitempty"`
}

// MCPServer is an MCP server an LLM agent uses.
type MCPServer struct {
	URL string `json:"url"`
	// HeadersSecret names a secret holding a JSON object of HTTP headers
	// sent to the server (e.g. {"Authorization": "Bearer ..."}).
	HeadersSecret string `json:"headersSecret,omitempty"`
}

// ToolChoice is the parsed toolChoice of an LLM agent.
type ToolChoice struct {
	// Mode is auto, none, required or tool (Name set).
	Mode string
	Name string
}

// ParseToolChoice parses an LLM agent's toolChoice (nil or empty → auto).
func ParseToolChoice(raw json.RawMessage) (ToolChoice, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return ToolChoice{Mode: "auto"}, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch s {
		case "auto", "none", "required":
			return ToolChoice{Mode: s}, nil
		}
		return ToolChoice{}, fmt.Errorf("must be auto, none, required or {\"name\": \"<tool agent>\"}")
	}
	var o struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(raw, &o); err != nil || o.Name == "" {
		return ToolChoice{}, fmt.Errorf("must be auto, none, required or {\"name\": \"<tool agent>\"}")
	}
	return ToolChoice{Mode: "tool", Name: o.Name}, nil
}

// LLMMessage is one conversation turn.
type LLMMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Validate checks the rules the schema cannot express.
func (c *LLMConfig) Validate() error {
	var errs []string
	if (c.Prompt == "") == (len(c.Messages) == 0) {
		errs = append(errs, "exactly one of prompt and messages is required")
	}
	for field, s := range map[string]string{"system": c.System, "prompt": c.Prompt, "baseUrl": c.BaseURL} {
		if _, err := tmpl.References(s); err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", field, err))
		}
	}
	for i, m := range c.Messages {
		if _, err := tmpl.References(m.Content); err != nil {
			errs = append(errs, fmt.Sprintf("messages.%d.content: %v", i, err))
		}
	}
	if len(c.ResponseSchema) > 0 {
		if err := compileUserSchema(c.ResponseSchema); err != nil {
			errs = append(errs, fmt.Sprintf("responseSchema: %v", err))
		}
	}
	seen := map[string]bool{}
	for i, t := range c.Tools {
		if t.MCP != nil {
			if u, err := url.Parse(t.MCP.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				errs = append(errs, fmt.Sprintf("tools.%d.mcp.url: must be an http or https URL", i))
			}
			continue
		}
		if t.Workflow != "" {
			if seen["workflow:"+t.Workflow] {
				errs = append(errs, fmt.Sprintf("tools.%d.workflow: %q is listed twice", i, t.Workflow))
			}
			seen["workflow:"+t.Workflow] = true
			continue
		}
		if seen[t.Agent] {
			errs = append(errs, fmt.Sprintf("tools.%d.agent: %q is listed twice", i, t.Agent))
		}
		seen[t.Agent] = true
	}
	if tc, err := ParseToolChoice(c.ToolChoice); err != nil {
		errs = append(errs, fmt.Sprintf("toolChoice: %v", err))
	} else if tc.Mode != "auto" && len(c.Tools) == 0 {
		errs = append(errs, "toolChoice: needs tools")
	} else if tc.Mode == "tool" && !seen[tc.Name] && !seen["workflow:"+tc.Name] {
		errs = append(errs, fmt.Sprintf("toolChoice.name: %q is not one of tools", tc.Name))
	}
	if c.MaxTurns < 0 {
		errs = append(errs, "maxTurns: must be positive")
	}
	sort.Strings(errs)
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// CompileSchema compiles a user-supplied JSON Schema (an LLM agent's
// responseSchema). Remote references are not loaded.
func CompileSchema(schema json.RawMessage) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		return nil, fmt.Errorf("schema is not valid JSON: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(noLoader{})
	if err := c.AddResource("turbocat:response.json", doc); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	s, err := c.Compile("turbocat:response.json")
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	return s, nil
}

func compileUserSchema(schema json.RawMessage) error {
	_, err := CompileSchema(schema)
	return err
}

type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("loading %s is not allowed", url)
}

// TemplateRefs lists the template references in every string of a JSON
// value, in document order, with the JSON path of each in Ref.Field (see
// tmpl.ReferencesIn).
func TemplateRefs(value json.RawMessage) ([]tmpl.Ref, error) {
	return tmpl.ReferencesIn(value)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
