package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"
)

// bearerTransport sends every request with Authorization: Bearer token, as
// an MCP client configured with a Turbocat API key does.
type bearerTransport struct{ token string }

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

// mcpSession connects the go-sdk's own MCP client to the API's /mcp with
// token.
func (f *fixture) mcpSession(token string) (*mcp.ClientSession, error) {
	client := mcp.NewClient(&mcp.Implementation{Name: "turbocat-test", Version: "1"}, nil)
	return client.Connect(context.Background(), &mcp.StreamableClientTransport{
		Endpoint:   f.srv.URL + "/mcp",
		HTTPClient: &http.Client{Transport: bearerTransport{token: token}, Timeout: time.Minute},
		MaxRetries: -1,
	}, nil)
}

func (f *fixture) mcpConnect(token string) *mcp.ClientSession {
	f.t.Helper()
	s, err := f.mcpSession(token)
	require.NoError(f.t, err)
	f.t.Cleanup(func() { _ = s.Close() })
	return s
}

func toolsByName(t *testing.T, s *mcp.ClientSession) map[string]*mcp.Tool {
	t.Helper()
	res, err := s.ListTools(context.Background(), nil)
	require.NoError(t, err)
	require.Equal(t, "private", res.CacheScope, "a user's tools are theirs: no shared cache may keep them")
	out := map[string]*mcp.Tool{}
	for _, tl := range res.Tools {
		out[tl.Name] = tl
	}
	return out
}

func keysOf[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func textOf(t *testing.T, res *mcp.CallToolResult) string {
	t.Helper()
	require.Len(t, res.Content, 1)
	tc, ok := res.Content[0].(*mcp.TextContent)
	require.True(t, ok, "the result is text: %#v", res.Content[0])
	return tc.Text
}

// TestMCPListsAndRunsDeployedWorkflows: an MCP client (the go-sdk's own)
// with an API key sees each of the user's active deployments as a tool
// whose input schema is the workflow's inputSchema, and calling one runs
// the deployed version and answers with its output; nobody else's
// deployments are seen or callable.
func TestMCPListsAndRunsDeployedWorkflows(t *testing.T) {
	t.Parallel()
	f := setupEngine(t)
	owner := f.register("mcp-owner")
	tok := owner.AccessToken
	greet := f.create(tok, "/api/v1/agents", jsAgent("greet", `function main(input) { return { greeting: "hello " + input.name }; }`))
	boom := f.create(tok, "/api/v1/agents", jsAgent("boom", `function main(input) { throw new Error("upstream is down"); }`))
	schema := `{"type":"object","properties":{"name":{"type":"string","description":"Who to greet."}},"required":["name"]}`
	greeter := f.create(tok, "/api/v1/workflows", map[string]any{"name": "greeter", "description": "Greets someone by name.",
		"inputSchema": json.RawMessage(schema),
		"steps":       []map[string]any{{"key": "a", "agentId": greet, "inputs": map[string]any{"name": "{{inputs.name}}"}}}})
	flaky := f.create(tok, "/api/v1/workflows", map[string]any{"name": "flaky report", "steps": []map[string]any{{"key": "send", "agentId": boom}}})
	retired := f.create(tok, "/api/v1/workflows", map[string]any{"name": "retired", "steps": []map[string]any{{"key": "a", "agentId": greet}}})
	prod := f.deploy(tok, greeter, map[string]any{"environment": "prod"})
	f.deploy(tok, flaky, map[string]any{"environment": "prod"})
	old := f.deploy(tok, retired, map[string]any{"environment": "prod"})
	require.Equal(t, http.StatusOK, f.call("DELETE", "/api/v1/deployments/"+old.ID, tok, nil).Status)
	// A workflow changed after its deployment: the tool is the deployed
	// version's.
	patched := f.call("PATCH", "/api/v1/workflows/"+greeter, tok, map[string]any{"description": "Not deployed yet.",
		"inputSchema": map[string]any{"type": "object", "required": []string{"name", "loud"},
			"properties": map[string]any{"name": map[string]any{"type": "string"}, "loud": map[string]any{"type": "boolean"}}}})
	require.Equal(t, http.StatusOK, patched.Status, "%s", patched.Body)

	stranger := f.register("mcp-stranger").AccessToken
	theirs := f.create(stranger, "/api/v1/workflows", map[string]any{"name": "secret-plans", "steps": []map[string]any{
		{"key": "a", "agentId": f.create(stranger, "/api/v1/agents", jsAgent("greet", `function main() { return { plans: "theirs" }; }`))}}})
	f.deploy(stranger, theirs, map[string]any{"environment": "prod"})

	key := f.apiKey(tok, "workflows:execute")
	s := f.mcpConnect(key.Key)
	tools := toolsByName(t, s)
	require.Equal(t, []string{"flaky_report_prod", "greeter_prod"}, keysOf(tools),
		"the active deployments of the key's owner, and nothing of anyone else's or inactive")
	g := tools["greeter_prod"]
	require.Contains(t, g.Description, "Greets someone by name.")
	require.Contains(t, g.Description, "prod")
	gotSchema, err := json.Marshal(g.InputSchema)
	require.NoError(t, err)
	require.JSONEq(t, schema, string(gotSchema), "the input schema is the deployed version's inputSchema")
	noSchema, err := json.Marshal(tools["flaky_report_prod"].InputSchema)
	require.NoError(t, err)
	require.JSONEq(t, `{"type":"object"}`, string(noSchema), "a workflow without an inputSchema takes any object")

	ctx := context.Background()
	res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: "greeter_prod", Arguments: map[string]any{"name": "Ada"}})
	require.NoError(t, err)
	require.False(t, res.IsError, "%s", textOf(t, res))
	require.JSONEq(t, `{"a":{"greeting":"hello Ada"}}`, textOf(t, res))
	structured, err := json.Marshal(res.StructuredContent)
	require.NoError(t, err)
	require.JSONEq(t, `{"a":{"greeting":"hello Ada"}}`, string(structured))
	runID, _ := res.Meta["executionId"].(string)
	require.NotEmpty(t, runID)
	var run struct {
		Status       string  `json:"status"`
		DeploymentID *string `json:"deploymentId"`
		Trigger      string  `json:"trigger"`
	}
	f.call("GET", "/api/v1/executions/"+runID, tok, nil).data(t, &run)
	require.Equal(t, "completed", run.Status)
	require.NotNil(t, run.DeploymentID)
	require.Equal(t, prod.ID, *run.DeploymentID, "the run is recorded with its deployment, as an API run of the environment is")
	require.Equal(t, "mcp", run.Trigger, "an MCP client's run is told from API calls")
	var mcpRuns struct{ Items []struct{ ID string } }
	f.call("GET", "/api/v1/executions?trigger=mcp", tok, nil).data(t, &mcpRuns)
	require.Len(t, mcpRuns.Items, 1)
	require.Equal(t, runID, mcpRuns.Items[0].ID)
	require.Equal(t, 1, f.count("audit_logs", "action = 'execution.start' AND resource_id = $1 AND user_id = $2", runID, owner.User.ID),
		"the run is audited as the key's owner")

	// Arguments that do not match the inputSchema are a tool error naming
	// the field; no run starts.
	before := f.count("executions", "")
	res, err = s.CallTool(ctx, &mcp.CallToolParams{Name: "greeter_prod", Arguments: map[string]any{"name": 42}})
	require.NoError(t, err)
	require.True(t, res.IsError)
	require.Contains(t, textOf(t, res), "input.name")
	res, err = s.CallTool(ctx, &mcp.CallToolParams{Name: "greeter_prod", Arguments: map[string]any{}})
	require.NoError(t, err)
	require.True(t, res.IsError)
	require.Contains(t, textOf(t, res), "name")
	require.Equal(t, before, f.count("executions", ""))

	// A run that fails is an error result with the run's error, not a
	// protocol error.
	res, err = s.CallTool(ctx, &mcp.CallToolParams{Name: "flaky_report_prod", Arguments: map[string]any{}})
	require.NoError(t, err)
	require.True(t, res.IsError)
	text := textOf(t, res)
	require.Contains(t, text, "failed: Code.Error")
	require.Contains(t, text, "upstream is down")
	require.Equal(t, "failed", res.Meta["status"])

	// Another user's deployment is no tool of this user's.
	_, err = s.CallTool(ctx, &mcp.CallToolParams{Name: "secret-plans_prod", Arguments: map[string]any{}})
	require.ErrorContains(t, err, `unknown tool "secret-plans_prod"`)
	require.Equal(t, 0, f.count("executions", "workflow_id = $1", theirs), "nothing of the stranger's ran")

	require.NotContains(t, f.serverLogs(), "server session connected", "the SDK's line per stateless request stays out of the log")

	// The stranger sees their own, and only that.
	require.Equal(t, []string{"secret-plans_prod"}, keysOf(toolsByName(t, f.mcpConnect(stranger))), "a signed-in session works too")
}

// TestMCPNeedsWorkflowsExecute: /mcp answers like every route: 401 without
// a credential, 403 for a key without workflows:execute; the go-sdk client
// cannot connect with either.
func TestMCPNeedsWorkflowsExecute(t *testing.T) {
	t.Parallel()
	f := setup(t)
	tok := f.register("mcp-scopes").AccessToken
	readOnly := f.apiKey(tok, "workflows:read", "deployments:read")
	list := `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}`
	accept := []string{"Accept", "application/json, text/event-stream"}

	r := f.call("POST", "/mcp", "", list, accept...)
	require.Equal(t, http.StatusUnauthorized, r.Status)
	require.Equal(t, "UNAUTHORIZED", r.code())
	r = f.call("POST", "/mcp", readOnly.Key, list, accept...)
	require.Equal(t, http.StatusForbidden, r.Status)
	require.Equal(t, "FORBIDDEN", r.code())
	require.Contains(t, r.Env.Error.Message, "workflows:execute")

	_, err := f.mcpSession(readOnly.Key)
	require.Error(t, err, "a key without workflows:execute cannot connect")
	_, err = f.mcpSession("tc_not_a_key")
	require.Error(t, err)

	// With the scope, a user with no deployment has no tools.
	s := f.mcpConnect(f.apiKey(tok, "workflows:execute").Key)
	require.Empty(t, toolsByName(t, s))
	require.True(t, strings.HasPrefix(s.InitializeResult().ServerInfo.Name, "turbocat"))
}
