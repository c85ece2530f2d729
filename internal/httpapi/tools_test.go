package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/config"
)

// TestLLMToolsThroughTheAPI: an llm agent lists an api agent of its owner
// as a tool; saving refuses unknown tools, llm tools and bad inputSchemas
// naming the field; a run asks the tool, feeds its answer back and
// completes, and its turns are listed for the owner only, without the
// tool's secret.
func TestLLMToolsThroughTheAPI(t *testing.T) {
	t.Parallel()
	var modelCalls atomic.Int32
	model := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		modelCalls.Add(1)
		raw, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		if !strings.Contains(string(raw), `"role":"tool"`) {
			_, _ = w.Write([]byte(`{"id":"c1","object":"chat.completion","created":1,"model":"gpt-4o-mini",
				"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Lyon\"}"}}]},"finish_reason":"tool_calls"}],
				"usage":{"prompt_tokens":50,"completion_tokens":5,"total_tokens":55}}`))
			return
		}
		writeAnswer(w, "Lyon is sunny", 80, 4)
	}))
	t.Cleanup(model.Close)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"sky":"sunny","seen":"` + r.Header.Get("X-Token") + `"}`))
	}))
	t.Cleanup(api.Close)
	f := setupEngine(t, func(c *config.Config) { c.HTTPAllowCIDRs = []string{"127.0.0.0/8"} })
	tok := f.register("tools").AccessToken
	require.Equal(t, http.StatusCreated, f.call("POST", "/api/v1/secrets", tok, map[string]string{"name": "WEATHER_TOKEN", "value": "wx-canary-5521"}).Status)

	schema := map[string]any{"type": "object", "required": []string{"city"}, "properties": map[string]any{"city": map[string]any{"type": "string"}}}
	weather := f.create(tok, "/api/v1/agents", map[string]any{"name": "weather", "type": "api", "description": "Weather of a city",
		"inputSchema": schema,
		"config":      map[string]any{"method": "GET", "url": api.URL + "/w?city={{input.city}}", "headers": map[string]any{"X-Token": "{{secrets.WEATHER_TOKEN}}"}}})
	var got struct {
		InputSchema map[string]any `json:"inputSchema"`
	}
	f.call("GET", "/api/v1/agents/"+weather, tok, nil).data(t, &got)
	require.Equal(t, "object", got.InputSchema["type"])

	llmConfig := func(tool string) map[string]any {
		return map[string]any{"provider": "openai", "model": "gpt-4o-mini", "baseUrl": model.URL + "/v1", "prompt": "Weather in {{input.city}}?",
			"tools": []any{map[string]any{"agent": tool}}, "maxTurns": 3}
	}
	// Validation at save, naming the field.
	bad := f.call("POST", "/api/v1/agents", tok, map[string]any{"name": "f1", "type": "llm", "config": llmConfig("nope")})
	require.Equal(t, http.StatusBadRequest, bad.Status, "%s", bad.Body)
	require.Equal(t, []string{`config.tools.0.agent: you have no agent named "nope"`}, bad.fields())
	forecaster := f.create(tok, "/api/v1/agents", map[string]any{"name": "forecaster", "type": "llm", "config": llmConfig("weather")})
	bad = f.call("POST", "/api/v1/agents", tok, map[string]any{"name": "f2", "type": "llm", "config": llmConfig("forecaster")})
	require.Equal(t, http.StatusBadRequest, bad.Status)
	require.Equal(t, []string{`config.tools.0.agent: "forecaster" is an llm agent; tools are code or api agents`}, bad.fields())
	bad = f.call("PATCH", "/api/v1/agents/"+weather, tok, map[string]any{"inputSchema": map[string]any{"type": "string"}})
	require.Equal(t, http.StatusBadRequest, bad.Status)
	require.Equal(t, "inputSchema.type", strings.SplitN(bad.fields()[0], ":", 2)[0])
	bad = f.call("POST", "/api/v1/agents", tok, map[string]any{"name": "x", "type": "code", "config": map[string]any{"source": "function main(i) { return i; }"},
		"inputSchema": map[string]any{"type": "object", "properties": map[string]any{"a": map[string]any{"type": 12}}}})
	require.Equal(t, http.StatusBadRequest, bad.Status)
	require.Contains(t, bad.fields()[0], "inputSchema: is not a valid JSON Schema")
	bad = f.call("POST", "/api/v1/agents", tok, map[string]any{"name": "f3", "type": "llm", "config": func() map[string]any {
		c := llmConfig("weather")
		c["toolChoice"] = map[string]any{"name": "other"}
		return c
	}()})
	require.Equal(t, http.StatusBadRequest, bad.Status)
	require.Contains(t, bad.fields()[0], `toolChoice.name: "other" is not one of tools`)

	wf := f.create(tok, "/api/v1/workflows", map[string]any{"name": "forecast",
		"steps": []map[string]any{{"key": "ask", "agentId": forecaster, "inputs": map[string]any{"city": "{{inputs.city}}"}}}})
	var a runAnswer
	f.call("POST", "/api/v1/workflows/"+wf+"/execute?wait=20", tok, map[string]any{"input": map[string]any{"city": "Lyon"}}).data(t, &a)
	require.Equal(t, "completed", a.Status, "%s", a.Error)
	require.Contains(t, string(a.Output), "Lyon is sunny")
	require.EqualValues(t, 2, modelCalls.Load())

	var turns struct {
		Items []struct {
			Attempt, Turn, Seq int
			Kind, ToolName     string
			Input, Output      json.RawMessage
			InputTokens        int64
		}
	}
	r := f.call("GET", "/api/v1/executions/"+a.ExecutionID+"/steps/ask/turns", tok, nil)
	r.data(t, &turns)
	require.Len(t, turns.Items, 3)
	require.Equal(t, "model", turns.Items[0].Kind)
	require.EqualValues(t, 50, turns.Items[0].InputTokens)
	require.Equal(t, "tool", turns.Items[1].Kind)
	require.Equal(t, "weather", turns.Items[1].ToolName)
	require.JSONEq(t, `{"city":"Lyon"}`, string(turns.Items[1].Input))
	require.Contains(t, string(turns.Items[1].Output), "sunny")
	require.Equal(t, 1, turns.Items[2].Turn)
	require.NotContains(t, r.Body, "wx-canary-5521", "the tool's secret is scrubbed")

	other := f.register("tools-other").AccessToken
	require.Equal(t, http.StatusNotFound, f.call("GET", "/api/v1/executions/"+a.ExecutionID+"/steps/ask/turns", other, nil).Status)

	// A tool cannot be deleted or renamed while an llm agent names it: the
	// llm agent's runs would fail. Another user's same-named agent is not
	// held.
	del := f.call("DELETE", "/api/v1/agents/"+weather, tok, nil)
	require.Equal(t, http.StatusConflict, del.Status, "%s", del.Body)
	require.Contains(t, del.Env.Error.Message, `the llm agents forecaster use it as a tool`)
	ren := f.call("PATCH", "/api/v1/agents/"+weather, tok, map[string]any{"name": "weather2"})
	require.Equal(t, http.StatusConflict, ren.Status, "%s", ren.Body)
	otherWeather := f.create(other, "/api/v1/agents", map[string]any{"name": "weather", "type": "code", "config": map[string]any{"source": "function main(i) { return i; }"}})
	require.Equal(t, http.StatusOK, f.call("DELETE", "/api/v1/agents/"+otherWeather, other, nil).Status)
	// Once no llm agent names it, it goes.
	cfg := llmConfig("weather")
	delete(cfg, "tools")
	require.Equal(t, http.StatusOK, f.call("PATCH", "/api/v1/agents/"+forecaster, tok, map[string]any{"config": cfg}).Status)
	require.Equal(t, http.StatusOK, f.call("DELETE", "/api/v1/agents/"+weather, tok, nil).Status)
}

// TestLLMWithCodeAndMCPTools is the tool loop as a user builds it: an llm
// agent whose tools are one of their code agents and an MCP server (the
// SDK's own). The model (a local server speaking the OpenAI format) asks
// for both tools at once, then answers from their results: the run
// completes with two model turns and two tool calls on record.
func TestLLMWithCodeAndMCPTools(t *testing.T) {
	t.Parallel()
	type addIn struct {
		A int `json:"a"`
		B int `json:"b"`
	}
	type addOut struct {
		Sum int `json:"sum"`
	}
	server := mcp.NewServer(&mcp.Implementation{Name: "calc", Version: "1"}, nil)
	mcp.AddTool(server, &mcp.Tool{Name: "add", Description: "Adds two integers"}, func(_ context.Context, _ *mcp.CallToolRequest, in addIn) (*mcp.CallToolResult, addOut, error) {
		return nil, addOut{Sum: in.A + in.B}, nil
	})
	mcpSrv := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, nil))
	t.Cleanup(mcpSrv.Close)

	var modelCalls atomic.Int32
	var second atomic.Value
	model := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		modelCalls.Add(1)
		raw, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		if !strings.Contains(string(raw), `"role":"tool"`) {
			_, _ = w.Write([]byte(`{"id":"c1","object":"chat.completion","created":1,"model":"gpt-4o-mini",
				"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[
					{"id":"call_double","type":"function","function":{"name":"double","arguments":"{\"n\":21}"}},
					{"id":"call_add","type":"function","function":{"name":"add","arguments":"{\"a\":2,\"b\":3}"}}]},"finish_reason":"tool_calls"}],
				"usage":{"prompt_tokens":50,"completion_tokens":9,"total_tokens":59}}`))
			return
		}
		second.Store(string(raw))
		writeAnswer(w, "21 doubled is 42; 2+3 is 5", 90, 8)
	}))
	t.Cleanup(model.Close)

	f := setupEngine(t, func(c *config.Config) { c.HTTPAllowCIDRs = []string{"127.0.0.0/8"} })
	tok := f.register("codemcp").AccessToken
	f.create(tok, "/api/v1/agents", map[string]any{"name": "double", "type": "code", "description": "Doubles n",
		"inputSchema": map[string]any{"type": "object", "required": []string{"n"}, "properties": map[string]any{"n": map[string]any{"type": "number"}}},
		"config":      map[string]any{"source": `function main(input) { return {n: input.n * 2}; }`}})
	ask := f.create(tok, "/api/v1/agents", map[string]any{"name": "ask", "type": "llm", "config": map[string]any{
		"provider": "openai", "model": "gpt-4o-mini", "baseUrl": model.URL + "/v1", "prompt": "Double 21 and add 2 and 3.",
		"tools": []any{map[string]any{"agent": "double"}, map[string]any{"mcp": map[string]any{"url": mcpSrv.URL}, "allow": []string{"add"}}}}})
	wf := f.create(tok, "/api/v1/workflows", map[string]any{"name": "codemcp", "steps": []map[string]any{{"key": "ask", "agentId": ask}}})
	var a runAnswer
	f.call("POST", "/api/v1/workflows/"+wf+"/execute?wait=20", tok, nil).data(t, &a)
	require.Equal(t, "completed", a.Status, "%s", a.Error)
	var out struct {
		Ask struct {
			Text             string
			Turns, ToolCalls int
		}
	}
	require.NoError(t, json.Unmarshal(a.Output, &out))
	require.Equal(t, "21 doubled is 42; 2+3 is 5", out.Ask.Text)
	require.Equal(t, 2, out.Ask.Turns)
	require.Equal(t, 2, out.Ask.ToolCalls)
	require.Equal(t, int32(2), modelCalls.Load())
	// Both results went back to the model.
	require.Contains(t, second.Load(), `{\"n\":42}`)
	require.Contains(t, second.Load(), `{\"sum\":5}`)

	var turns struct {
		Items []struct {
			Turn, Seq      int
			Kind, ToolName string
			Output         json.RawMessage
		}
	}
	f.call("GET", "/api/v1/executions/"+a.ExecutionID+"/steps/ask/turns", tok, nil).data(t, &turns)
	require.Len(t, turns.Items, 4)
	kinds := []string{}
	tools := map[string]string{}
	for _, tr := range turns.Items {
		kinds = append(kinds, tr.Kind)
		if tr.Kind == "tool" {
			tools[tr.ToolName] = string(tr.Output)
		}
	}
	require.Equal(t, []string{"model", "tool", "tool", "model"}, kinds)
	require.JSONEq(t, `{"n":42}`, tools["double"])
	require.JSONEq(t, `{"sum":5}`, tools["add"])

	// The loop ran in the state machine: each model turn and each tool
	// call was its own Task, as it is on Step Functions.
	history, err := f.local.Runtime.GetExecutionHistory(context.Background(), executionArn(t, f, a.ExecutionID))
	require.NoError(t, err)
	entered := map[string]int{}
	for _, ev := range history {
		if ev.Type == "TaskStateEntered" {
			entered[ev.Name]++
		}
	}
	require.Equal(t, map[string]int{"Turn ask": 2, "Tool ask": 2, "Finalize": 1}, entered)
	// The step ran as one attempt of the user's: its record reads as one.
	var steps struct {
		Steps []struct {
			StepKey string
			Attempt int
			Status  string
		}
	}
	f.call("GET", "/api/v1/executions/"+a.ExecutionID, tok, nil).data(t, &steps)
	require.Len(t, steps.Steps, 1)
	require.Equal(t, "completed", steps.Steps[0].Status)
	require.Equal(t, 1, steps.Steps[0].Attempt)
}

// TestWorkflowAsTool: an llm agent's tool can be a workflow of the user's;
// the model's call runs it as a child run of the step's run (its
// inputSchema is the tool's parameters) and its output goes back to the
// model. A tool naming no workflow is refused at save.
func TestWorkflowAsTool(t *testing.T) {
	t.Parallel()
	var second atomic.Value
	var firstBody atomic.Value
	model := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		if !strings.Contains(string(raw), `"role":"tool"`) {
			firstBody.Store(string(raw))
			_, _ = w.Write([]byte(`{"id":"c1","object":"chat.completion","created":1,"model":"gpt-4o-mini",
				"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[
					{"id":"call_1","type":"function","function":{"name":"enrich","arguments":"{\"city\":\"Lyon\"}"}}]},"finish_reason":"tool_calls"}],
				"usage":{"prompt_tokens":50,"completion_tokens":9,"total_tokens":59}}`))
			return
		}
		second.Store(string(raw))
		writeAnswer(w, "Lyon has 522000 people", 90, 8)
	}))
	t.Cleanup(model.Close)
	f := setupEngine(t, func(c *config.Config) { c.HTTPAllowCIDRs = []string{"127.0.0.0/8"} })
	tok := f.register("wftool").AccessToken

	r := f.call("POST", "/api/v1/agents", tok, map[string]any{"name": "lost", "type": "llm", "config": map[string]any{
		"provider": "openai", "model": "gpt-4o-mini", "baseUrl": model.URL + "/v1", "prompt": "x", "tools": []any{map[string]any{"workflow": "nope"}}}})
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	require.Equal(t, []string{`config.tools.0.workflow: you have no workflow named "nope"`}, r.fields())

	pop := f.create(tok, "/api/v1/agents", jsAgent("population", `function main(input) { return {city: input.city, population: 522000}; }`))
	f.create(tok, "/api/v1/workflows", map[string]any{"name": "enrich", "description": "Facts about a city",
		"inputSchema": map[string]any{"type": "object", "required": []string{"city"}, "properties": map[string]any{"city": map[string]any{"type": "string"}}},
		"steps":       []map[string]any{{"key": "pop", "agentId": pop, "inputs": map[string]any{"city": "{{inputs.city}}"}}}})
	ask := f.create(tok, "/api/v1/agents", map[string]any{"name": "ask", "type": "llm", "config": map[string]any{
		"provider": "openai", "model": "gpt-4o-mini", "baseUrl": model.URL + "/v1", "prompt": "How many people live in Lyon?",
		"tools": []any{map[string]any{"workflow": "enrich"}}}})
	wf := f.create(tok, "/api/v1/workflows", map[string]any{"name": "main", "steps": []map[string]any{{"key": "ask", "agentId": ask}}})
	var a runAnswer
	f.call("POST", "/api/v1/workflows/"+wf+"/execute?wait=20", tok, nil).data(t, &a)
	require.Equal(t, "completed", a.Status, "%s", a.Error)
	require.JSONEq(t, `{"ask":{"text":"Lyon has 522000 people"}}`, jsonPick(t, a.Output, "ask", "text"))

	// The model saw the workflow as a tool with its description and schema,
	// and got the child run's output back.
	require.Contains(t, firstBody.Load(), `"name":"enrich"`)
	require.Contains(t, firstBody.Load(), `Facts about a city`)
	require.Contains(t, firstBody.Load(), `"required":["city"]`)
	require.Contains(t, second.Load(), `522000`)

	// The child run is the step's run's child, run by the workflow trigger.
	var kids struct {
		Items []struct {
			ID, Status, Trigger string
			ParentExecutionID   string
			OutputData          json.RawMessage
		}
	}
	f.call("GET", "/api/v1/executions?trigger=workflow", tok, nil).data(t, &kids)
	require.Len(t, kids.Items, 1)
	require.Equal(t, a.ExecutionID, kids.Items[0].ParentExecutionID)
	require.Equal(t, "completed", kids.Items[0].Status)
	require.JSONEq(t, `{"pop":{"city":"Lyon","population":522000}}`, string(kids.Items[0].OutputData))

	// The workflow cannot be deleted or renamed while the agent names it.
	var enrich struct {
		Items []struct{ ID, Name string }
	}
	f.call("GET", "/api/v1/workflows?search=enrich", tok, nil).data(t, &enrich)
	require.Len(t, enrich.Items, 1)
	del := f.call("DELETE", "/api/v1/workflows/"+enrich.Items[0].ID, tok, nil)
	require.Equal(t, http.StatusConflict, del.Status, "%s", del.Body)
	require.Contains(t, string(del.Body), `the llm agents ask use it as a tool`)
	ren := f.call("PATCH", "/api/v1/workflows/"+enrich.Items[0].ID, tok, map[string]any{"name": "enrich2"})
	require.Equal(t, http.StatusConflict, ren.Status, "%s", ren.Body)
	require.Equal(t, http.StatusOK, f.call("PATCH", "/api/v1/workflows/"+enrich.Items[0].ID, tok, map[string]any{"description": "Facts"}).Status)
	require.Equal(t, http.StatusOK, f.call("PATCH", "/api/v1/agents/"+ask, tok, map[string]any{"config": map[string]any{
		"provider": "openai", "model": "gpt-4o-mini", "baseUrl": model.URL + "/v1", "prompt": "x"}}).Status)
	require.Equal(t, http.StatusOK, f.call("DELETE", "/api/v1/workflows/"+enrich.Items[0].ID, tok, nil).Status)
}

// jsonPick keeps only path (object keys) of doc, to compare one field.
func jsonPick(t *testing.T, doc json.RawMessage, path ...string) string {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(doc, &v))
	for _, k := range path {
		m, ok := v.(map[string]any)
		require.True(t, ok, "%s is not an object at %s", doc, k)
		v = m[k]
	}
	out := any(v)
	for i := len(path) - 1; i >= 0; i-- {
		out = map[string]any{path[i]: out}
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// TestToolLoopOutlastsOneInvocation: the tool loop compiled into the state
// machine bounds each turn and each tool call by the step's timeout, not
// the whole loop: four turns of a 1.5-second tool finish under a 4-second
// step timeout, and the step's record spans all of them.
func TestToolLoopOutlastsOneInvocation(t *testing.T) {
	t.Parallel()
	var modelCalls atomic.Int32
	model := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := modelCalls.Add(1)
		raw, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		if results := strings.Count(string(raw), `"role":"tool"`); results < 4 {
			_, _ = fmt.Fprintf(w, `{"id":"c%d","object":"chat.completion","created":1,"model":"gpt-4o-mini",
				"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[
					{"id":"call_%d","type":"function","function":{"name":"slow","arguments":"{}"}}]},"finish_reason":"tool_calls"}],
				"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}`, n, results)
			return
		}
		writeAnswer(w, "four slow calls later", 40, 5)
	}))
	t.Cleanup(model.Close)

	f := setupEngine(t, func(c *config.Config) { c.HTTPAllowCIDRs = []string{"127.0.0.0/8"} })
	tok := f.register("longloop").AccessToken
	f.create(tok, "/api/v1/agents", map[string]any{"name": "slow", "type": "code", "description": "Takes a while",
		"config": map[string]any{"source": `function main() { const end = Date.now() + 1500; while (Date.now() < end) {} return {ok: true}; }`}})
	agent := f.create(tok, "/api/v1/agents", map[string]any{"name": "patient", "type": "llm", "config": map[string]any{
		"provider": "openai", "model": "gpt-4o-mini", "baseUrl": model.URL + "/v1", "prompt": "Call slow four times.",
		"tools": []any{map[string]any{"agent": "slow"}}}})
	wf := f.create(tok, "/api/v1/workflows", map[string]any{"name": "longloop", "steps": []map[string]any{
		{"key": "ask", "agentId": agent, "timeoutSeconds": 4}}})
	var a runAnswer
	f.call("POST", "/api/v1/workflows/"+wf+"/execute?wait=25", tok, nil).data(t, &a)
	require.Equal(t, "completed", a.Status, "%s", a.Error)
	require.JSONEq(t, `"four slow calls later"`, string(mustField(t, mustField(t, a.Output, "ask"), "text")))
	require.Equal(t, int32(5), modelCalls.Load(), "five turns, each made once")

	var run struct {
		Steps []struct {
			Attempt    int
			DurationMs int64
		}
	}
	f.call("GET", "/api/v1/executions/"+a.ExecutionID, tok, nil).data(t, &run)
	require.Len(t, run.Steps, 1)
	require.Equal(t, 1, run.Steps[0].Attempt, "no turn timed out or was retried")
	require.GreaterOrEqual(t, run.Steps[0].DurationMs, int64(6000), "the step's record spans its four 1.5 s tool calls")
}

// writeAnswer answers as the OpenAI Chat Completions API does when the
// model ends its turn with text (no tool calls), with the tokens used.
func writeAnswer(w http.ResponseWriter, text string, promptTokens, completionTokens int) {
	b, _ := json.Marshal(map[string]any{"id": "answer", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
		"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": text}, "finish_reason": "stop"}},
		"usage":   map[string]any{"prompt_tokens": promptTokens, "completion_tokens": completionTokens, "total_tokens": promptTokens + completionTokens}})
	_, _ = w.Write(b)
}
