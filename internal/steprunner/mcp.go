package steprunner

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/turbocat/turbocat/internal/executor"
	"github.com/turbocat/turbocat/internal/secrets"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// ErrMCPUnavailable: an MCP server of an llm agent's tools could not be
// reached or listed its tools with an error. Retryable.
const ErrMCPUnavailable = "Mcp.Unavailable"

// maxMCPTools bounds the tools one MCP server may offer a model.
const maxMCPTools = 64

// mcpTools connects to an MCP server (streamable HTTP, through the
// SSRF-safe client, with the headers its secret holds), lists its tools
// once for the step and returns those allowed, calling the server on the
// same session. close ends the session.
func (r *Runner) mcpTools(ctx context.Context, userID string, t executor.LLMTool, scrub *secrets.Scrubber, used map[string]bool) (tools []executor.Tool, close func(), err error) {
	if r.MCPClient == nil {
		return nil, nil, executor.Errorf(executor.ErrInvalidConfig, false, "MCP tools are not available on this server")
	}
	headers := map[string]string{}
	if t.MCP.HeadersSecret != "" {
		if r.Secrets == nil {
			return nil, nil, executor.Errorf(executor.ErrInvalidConfig, false, "secret %q: secrets are not configured on this server", t.MCP.HeadersSecret)
		}
		v, err := r.Secrets(ctx, userID, t.MCP.HeadersSecret)
		if err != nil {
			return nil, nil, executor.Errorf(executor.ErrInvalidConfig, false, "secret %q: %v", t.MCP.HeadersSecret, err)
		}
		scrub.Add(v)
		if err := json.Unmarshal([]byte(v), &headers); err != nil {
			return nil, nil, executor.Errorf(executor.ErrInvalidConfig, false, "secret %q must hold a JSON object of header names and values", t.MCP.HeadersSecret)
		}
		for _, hv := range headers {
			scrub.Add(hv)
		}
	}
	hc := *r.MCPClient
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc.Transport = headerTransport{base: base, headers: headers}
	client := mcp.NewClient(&mcp.Implementation{Name: "turbocat", Version: "1"}, nil)
	session, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: t.MCP.URL, HTTPClient: &hc, MaxRetries: -1, DisableStandaloneSSE: true}, nil)
	if err != nil {
		return nil, nil, executor.Errorf(ErrMCPUnavailable, true, "MCP server %s: %s", host(t.MCP.URL), scrub.String(err.Error()))
	}
	closeSession := func() { _ = session.Close() }
	listed, err := session.ListTools(ctx, nil)
	if err != nil {
		closeSession()
		return nil, nil, executor.Errorf(ErrMCPUnavailable, true, "MCP server %s: list tools: %s", host(t.MCP.URL), scrub.String(err.Error()))
	}
	for _, mt := range listed.Tools {
		if len(t.Allow) > 0 && !slices.Contains(t.Allow, mt.Name) {
			continue
		}
		if len(tools) == maxMCPTools {
			break
		}
		params, _ := json.Marshal(mt.InputSchema)
		if string(params) == "null" {
			params = nil
		}
		name := mt.Name
		tools = append(tools, executor.Tool{Name: toolName(name, used), Agent: name, Description: mt.Description, Parameters: params,
			Run: func(ctx context.Context, args json.RawMessage, _ string) (executor.Result, error) {
				res, err := session.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
				if err != nil {
					return executor.Result{}, executor.Errorf(ErrMCPUnavailable, true, "MCP tool %s: %s", name, scrub.String(err.Error()))
				}
				return mcpResult(name, res)
			}})
	}
	return tools, closeSession, nil
}

// mcpResult turns a tool call's result into a tool output: its structured
// content, else its text (as JSON when it is JSON); an error result is a
// Tool.Error with its text.
func mcpResult(name string, res *mcp.CallToolResult) (executor.Result, error) {
	var text strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			text.WriteString(tc.Text)
		}
	}
	if res.IsError {
		return executor.Result{}, &turbocat.StepError{Name: "Tool.Error", Cause: fmt.Sprintf("MCP tool %s: %s", name, text.String())}
	}
	if res.StructuredContent != nil {
		if b, err := json.Marshal(res.StructuredContent); err == nil {
			return executor.Result{Output: b}, nil
		}
	}
	s := strings.TrimSpace(text.String())
	if json.Valid([]byte(s)) && s != "" {
		return executor.Result{Output: json.RawMessage(s)}, nil
	}
	b, _ := json.Marshal(s)
	return executor.Result{Output: b}, nil
}

// headerTransport adds fixed headers to every request.
type headerTransport struct {
	base    http.RoundTripper
	headers map[string]string
}

func (h headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if len(h.headers) > 0 {
		req = req.Clone(req.Context())
		for k, v := range h.headers {
			req.Header.Set(k, v)
		}
	}
	return h.base.RoundTrip(req)
}

func host(raw string) string {
	if i := strings.Index(raw, "://"); i >= 0 {
		raw = raw[i+3:]
	}
	if i := strings.IndexAny(raw, "/?#"); i >= 0 {
		raw = raw[:i]
	}
	if i := strings.LastIndex(raw, "@"); i >= 0 {
		raw = raw[i+1:]
	}
	return raw
}
