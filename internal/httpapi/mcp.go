package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/turbocat/turbocat/internal/service"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// The MCP server (POST /mcp): the Model Context Protocol over streamable
// HTTP, stateless (each request stands alone, so any Lambda instance can
// answer it) with plain JSON answers (API Gateway does not stream). Every
// active deployment of the caller is a tool whose input schema is the
// deployed version's inputSchema; calling it runs the deployment as
// POST /workflows/{id}/execute with its environment does, and waits up to
// MaxWait seconds for the run to end.

// mcpServerInfo names Turbocat to MCP clients.
var mcpServerInfo = &mcp.Implementation{Name: "turbocat", Title: "Turbocat", Version: "1"}

const mcpInstructions = "Each tool runs one of your deployed Turbocat workflows (named <workflow>_<environment>) with the " +
	"arguments as its input, and returns the run's output. A run still going after 25 seconds is reported with its " +
	"execution id: GET /api/v1/executions/{id} follows it."

// serveMCP answers one MCP request with the caller's deployments as tools.
func (s *Server) serveMCP(w http.ResponseWriter, r *http.Request) error {
	if r.ContentLength > MaxBodyBytes {
		return tooLarge()
	}
	a := actor(r)
	deployed, err := s.Deployments.ActiveWorkflows(r.Context(), a)
	if err != nil {
		return err
	}
	logger := s.mcpLogger()
	srv := mcp.NewServer(mcpServerInfo, &mcp.ServerOptions{
		Instructions: mcpInstructions,
		Logger:       logger,
		// Tools, without list-changed notifications: a stateless server
		// has no session to send them on.
		Capabilities: &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{}},
		// The tools are the caller's own: no shared cache may keep them.
		SetCacheable: func(_ context.Context, _ mcp.Request, c *mcp.Cacheable) { c.CacheScope = "private" },
	})
	for _, t := range mcpTools(deployed) {
		srv.AddTool(t.tool, s.mcpRun(a, t.deployed))
	}
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, &mcp.StreamableHTTPOptions{
		Stateless:           true,
		JSONResponse:        true,
		Logger:              logger,
		MaxRequestBodyBytes: MaxBodyBytes,
		// The SDK refuses requests reaching a loopback address under
		// another Host name (DNS rebinding), which would refuse turbocat
		// dev behind a proxy; every request here carries its credential in
		// a header, which a rebound page cannot send.
		DisableLocalhostProtection: true,
	})
	h.ServeHTTP(w, r)
	return nil
}

// mcpLogger is the server's logger from Warn up: the SDK logs the session
// of every stateless request at Info.
func (s *Server) mcpLogger() *slog.Logger {
	return slog.New(minLevel{Handler: s.logger.Handler(), min: slog.LevelWarn})
}

// minLevel passes on the records of its Handler at min and above.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevel{Handler: h.Handler.WithAttrs(attrs), min: h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{Handler: h.Handler.WithGroup(name), min: h.min}
}

// mcpTool is a deployment offered as a tool.
type mcpTool struct {
	tool     *mcp.Tool
	deployed *turbocat.DeployedWorkflow
}

// maxToolName is the longest tool name MCP clients accept
// (^[a-zA-Z0-9_-]{1,64}$).
const maxToolName = 64

// mcpTools turns deployments into tools: the name is the workflow's name
// (characters other than letters, digits, _ and - become _) and the
// environment, made unique deterministically; deployments whose
// inputSchema no object can satisfy are left out.
func mcpTools(ds []*turbocat.DeployedWorkflow) []mcpTool {
	names := toolNames(ds)
	var out []mcpTool
	for i, d := range ds {
		schema, ok := objectSchema(d.InputSchema)
		if !ok {
			continue
		}
		desc := fmt.Sprintf("Runs the Turbocat workflow %q as deployed to %s (version %d) and returns its output.", d.Name, d.Environment, d.Version)
		if d.Description != "" {
			desc = d.Description + "\n\n" + desc
		}
		out = append(out, mcpTool{deployed: d, tool: &mcp.Tool{
			Name:        names[i],
			Title:       d.Name + " (" + d.Environment + ")",
			Description: desc,
			InputSchema: schema,
		}})
	}
	return out
}

// toolNames names each deployment's tool <workflow>_<environment>. Names
// that clash once sanitized or shortened take the workflow id's first 8
// characters as well, and any clash left a counter, in the order given.
func toolNames(ds []*turbocat.DeployedWorkflow) []string {
	base := func(d *turbocat.DeployedWorkflow, tag string) string {
		suffix := "_" + sanitizeToolName(d.Environment)
		if tag != "" {
			suffix = "_" + tag + suffix
		}
		return clip(sanitizeToolName(d.Name), maxToolName-len(suffix)) + suffix
	}
	names := make([]string, len(ds))
	count := map[string]int{}
	for i, d := range ds {
		names[i] = base(d, "")
		count[names[i]]++
	}
	for i, d := range ds {
		if count[names[i]] > 1 {
			names[i] = base(d, clip(sanitizeToolName(d.WorkflowID), 8))
		}
	}
	taken := map[string]bool{}
	for i, n := range names {
		for k := 2; taken[names[i]]; k++ {
			suffix := fmt.Sprintf("_%d", k)
			names[i] = clip(n, maxToolName-len(suffix)) + suffix
		}
		taken[names[i]] = true
	}
	return names
}

// sanitizeToolName replaces each run of characters outside [a-zA-Z0-9_-]
// with one _.
func sanitizeToolName(s string) string {
	var b strings.Builder
	under := false
	for _, c := range s {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' {
			b.WriteRune(c)
			under = false
		} else if !under {
			b.WriteByte('_')
			under = true
		}
	}
	if b.Len() == 0 {
		return "workflow"
	}
	return b.String()
}

// clip shortens an ASCII string to at most n bytes.
func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// objectSchema returns the tool input schema of a workflow's inputSchema:
// {"type": "object"} when it has none, the schema with "type": "object"
// when it leaves the type open or allows an object among others (a run's
// input is always an object), and false when it allows no object.
func objectSchema(schema json.RawMessage) (json.RawMessage, bool) {
	if len(schema) == 0 || string(schema) == "null" {
		return json.RawMessage(`{"type":"object"}`), true
	}
	var m map[string]any
	if err := json.Unmarshal(schema, &m); err != nil || m == nil {
		return nil, false
	}
	switch t := m["type"].(type) {
	case string:
		if t == "object" {
			return schema, true
		}
		return nil, false
	case []any:
		found := false
		for _, v := range t {
			found = found || v == "object"
		}
		if !found {
			return nil, false
		}
	case nil:
	default:
		return nil, false
	}
	m["type"] = "object"
	b, err := json.Marshal(m)
	if err != nil {
		return nil, false
	}
	return b, true
}

// mcpRun is the handler of a deployment's tool: it starts a run of the
// deployment with the arguments as input, as an API call of its
// environment would, and waits for its end.
func (s *Server) mcpRun(a *turbocat.Actor, d *turbocat.DeployedWorkflow) mcp.ToolHandler {
	return func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		args := req.Params.Arguments
		if len(args) > 0 {
			if err := checkDepth(args, MaxJSONDepth); err != nil {
				return s.mcpError(ctx, err), nil
			}
			if err := checkText(args); err != nil {
				return s.mcpError(ctx, err), nil
			}
		}
		wf, err := s.Workflows.Get(ctx, a, d.WorkflowID)
		if err != nil {
			return s.mcpError(ctx, err), nil
		}
		e, err := s.Executions.ExecuteWorkflow(ctx, a, wf, service.ExecuteInput{Input: args, Environment: d.Environment, Trigger: turbocat.TriggerMCP})
		if err != nil {
			return s.mcpError(ctx, err), nil
		}
		if !service.Finished(e.Status) {
			wctx, cancel := context.WithTimeout(ctx, MaxWait*time.Second)
			e, err = s.Executions.WaitFor(wctx, a, e)
			cancel()
			if err != nil {
				return s.mcpError(ctx, err), nil
			}
		}
		return runToolResult(e), nil
	}
}

// runToolResult reports a run: its output when it completed (as JSON text,
// and as structured content when it is an object), an error result with
// the run's error name and cause when it failed, was cancelled or timed
// out, and its id and status when it is still going.
func runToolResult(e *turbocat.Execution) *mcp.CallToolResult {
	meta := mcp.Meta{"executionId": e.ID, "status": e.Status}
	switch {
	case e.Status == turbocat.ExecutionCompleted:
		out := e.OutputData
		if len(out) == 0 {
			out = json.RawMessage("null")
		}
		res := &mcp.CallToolResult{Meta: meta, Content: []mcp.Content{&mcp.TextContent{Text: string(out)}}}
		if t := bytes.TrimSpace(out); len(t) > 0 && t[0] == '{' {
			res.StructuredContent = out
		}
		return res
	case service.Finished(e.Status):
		var fail struct {
			Error string `json:"error"`
			Cause string `json:"cause"`
		}
		_ = json.Unmarshal(e.Error, &fail)
		if fail.Error == "" {
			fail.Error = "Turbocat.RunFailed"
		}
		text := fmt.Sprintf("The run %s ended %s: %s", e.ID, e.Status, fail.Error)
		if fail.Cause != "" {
			text += ": " + fail.Cause
		}
		return &mcp.CallToolResult{Meta: meta, IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: text}},
			StructuredContent: map[string]string{"executionId": e.ID, "status": e.Status, "error": fail.Error, "cause": fail.Cause}}
	default:
		text := fmt.Sprintf("The run %s is still %s after %d seconds; GET /api/v1/executions/%s follows it.", e.ID, e.Status, MaxWait, e.ID)
		return &mcp.CallToolResult{Meta: meta, Content: []mcp.Content{&mcp.TextContent{Text: text}},
			StructuredContent: map[string]string{"executionId": e.ID, "status": e.Status}}
	}
}

// mcpError is the error result of a tool call that could not start its
// run: the error's message and the fields at fault, or, for an internal
// fault, a generic message (the detail is logged with the request id).
func (s *Server) mcpError(ctx context.Context, err error) *mcp.CallToolResult {
	e := turbocat.AsError(err)
	if e == nil || e.Code == turbocat.EINTERNAL {
		id := requestIDFrom(ctx)
		s.logger.LogAttrs(ctx, slog.LevelError, "internal error", slog.String("request_id", id),
			slog.String("path", "/mcp"), slog.String("error", err.Error()))
		e = &turbocat.Error{Code: turbocat.EINTERNAL, Message: "internal error; quote the request id " + id + " when reporting it"}
	}
	text := e.Message
	for _, d := range e.Details {
		text += "; " + d.Field + ": " + d.Message
	}
	return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: text}},
		StructuredContent: map[string]any{"code": e.Code, "message": e.Message, "details": e.Details}}
}
