package steprunner_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/executor"
	"github.com/turbocat/turbocat/internal/executor/httpexec"
	"github.com/turbocat/turbocat/internal/executor/llmexec"
	"github.com/turbocat/turbocat/internal/postgres"
	"github.com/turbocat/turbocat/internal/postgres/pgtest"
	"github.com/turbocat/turbocat/internal/steprunner"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// modelServer is a fake OpenAI-compatible model: with no tool results in
// the conversation it asks for the weather of Paris and Oslo at once;
// with them, it answers with what it got. It counts its calls by turn.
type modelServer struct {
	srv   *httptest.Server
	mu    sync.Mutex
	turns map[int]int // tool results seen (0: first turn) → calls
	last  string
}

func newModelServer(t *testing.T) *modelServer {
	m := &modelServer{turns: map[int]int{}}
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body struct {
			Messages []struct {
				Role    string `json:"role"`
				Content any    `json:"content"`
			} `json:"messages"`
		}
		_ = json.Unmarshal(raw, &body)
		var results []string
		for _, msg := range body.Messages {
			if msg.Role == "tool" {
				s, _ := msg.Content.(string)
				results = append(results, s)
			}
		}
		m.mu.Lock()
		m.turns[len(results)]++
		m.last = string(raw)
		m.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		var msg map[string]any
		finish := "stop"
		if len(results) == 0 {
			finish = "tool_calls"
			msg = map[string]any{"role": "assistant", "content": nil, "tool_calls": []any{
				map[string]any{"id": "call_paris", "type": "function", "function": map[string]any{"name": "weather", "arguments": `{"city":"Paris"}`}},
				map[string]any{"id": "call_oslo", "type": "function", "function": map[string]any{"name": "weather", "arguments": `{"city":"Oslo"}`}},
			}}
		} else {
			msg = map[string]any{"role": "assistant", "content": "Weather: " + strings.Join(results, " | ")}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"id": "c", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
			"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": finish}},
			"usage":   map[string]any{"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}})
	}))
	t.Cleanup(m.srv.Close)
	return m
}

func (m *modelServer) calls() map[int]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[int]int{}
	for k, v := range m.turns {
		out[k] = v
	}
	return out
}

type toolBundle struct {
	db     *postgres.DB
	runner *steprunner.Runner
	user   *turbocat.User
	model  *modelServer
}

func toolSetup(t *testing.T, email string) *toolBundle {
	t.Helper()
	ctx := context.Background()
	db := postgres.NewDB(pgtest.Pool(t))
	u := &turbocat.User{Email: email, PasswordHash: "x", Role: turbocat.RoleUser}
	require.NoError(t, db.CreateUser(ctx, u))
	allow := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	client := httpexec.NewClient(httpexec.ClientOptions{AllowCIDRs: allow})
	reg := executor.NewRegistry()
	reg.Register(executor.TypeAPI, httpexec.New(httpexec.Options{Client: client}))
	reg.Register(executor.TypeLLM, llmexec.New(llmexec.Options{HTTPClient: client}))
	r := &steprunner.Runner{Store: db, Workflows: db, Agents: db, Executor: reg, Transient: postgres.IsTransient, Lease: time.Minute,
		Logger: slog.New(slog.DiscardHandler), MCPClient: client,
		Secrets: func(_ context.Context, _ string, name string) (string, error) {
			switch name {
			case "WEATHER_TOKEN":
				return "tok-canary-7731", nil
			case "MCP_HEADERS":
				return `{"Authorization": "Bearer mcp-canary-99"}`, nil
			}
			return "", errors.New("no such secret")
		}}
	return &toolBundle{db: db, runner: r, user: u, model: newModelServer(t)}
}

// execution creates the user's llm agent using the tool "weather" in a
// one-step workflow, and a run of it.
func (b *toolBundle) execution(t *testing.T, ctx context.Context) *turbocat.Execution {
	t.Helper()
	cfg, _ := json.Marshal(map[string]any{"provider": "openai", "model": "gpt-4o-mini", "baseUrl": b.model.srv.URL + "/v1/",
		"prompt": "What is the weather in {{input.cities}}?", "tools": []any{map[string]any{"agent": "weather"}}, "timeoutSeconds": 30})
	agent := &turbocat.Agent{UserID: b.user.ID, Name: "forecaster", Type: "llm", Config: cfg}
	require.NoError(t, b.db.CreateAgent(ctx, agent, 10))
	w := &turbocat.Workflow{UserID: b.user.ID, Name: "forecast", Steps: []turbocat.WorkflowStep{{Key: "ask", AgentID: agent.ID, DependsOn: []string{},
		Inputs: json.RawMessage(`{"cities":"{{inputs.cities}}"}`)}}}
	require.NoError(t, b.db.CreateWorkflow(ctx, w, 10))
	e, _, err := b.db.CreateExecution(ctx, turbocat.NewExecution{WorkflowID: w.ID, WorkflowVersion: 1, UserID: b.user.ID, Trigger: "api",
		Input: json.RawMessage(`{"cities":"Paris and Oslo"}`)})
	require.NoError(t, err)
	return e
}

// TestToolLoopResumesAfterInterruption: the step's run is interrupted
// while its tools run (after the model's first turn and the Paris call
// were recorded); the retry replays them and makes only what is missing:
// the model sees each turn exactly once, the Paris API call is not made
// again, the Oslo one is (with the same idempotency key). The turns show
// in the store, and the weather API's token, which its answer echoes,
// is never stored.
func TestToolLoopResumesAfterInterruption(t *testing.T) {
	t.Parallel()
	b := toolSetup(t, "resume@example.com")
	ctx := turbocat.WithActor(context.Background(), &turbocat.Actor{UserID: b.user.ID})
	runCtx, interrupt := context.WithCancel(ctx)

	var mu sync.Mutex
	apiCalls := map[string][]string{}
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var in struct{ City string }
		_ = json.Unmarshal(raw, &in)
		mu.Lock()
		apiCalls[in.City] = append(apiCalls[in.City], r.Header.Get("Idempotency-Key"))
		first := len(apiCalls[in.City]) == 1
		mu.Unlock()
		if in.City == "Oslo" && first {
			// The process dies while this call is in flight (Paris has
			// answered and been recorded by then).
			time.Sleep(300 * time.Millisecond)
			interrupt()
			time.Sleep(100 * time.Millisecond)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"city":"` + in.City + `","tempC":` + map[string]string{"Paris": "18", "Oslo": "4"}[in.City] + `,"auth":"` + r.Header.Get("Authorization") + `"}`))
	}))
	t.Cleanup(api.Close)
	tool := &turbocat.Agent{UserID: b.user.ID, Name: "weather", Description: "Current weather of a city.", Type: "api",
		Config:      json.RawMessage(`{"method":"POST","url":"` + api.URL + `/weather","headers":{"Authorization":"Bearer {{secrets.WEATHER_TOKEN}}"},"body":{"city":"{{input.city}}"}}`),
		InputSchema: json.RawMessage(`{"type":"object","required":["city"],"properties":{"city":{"type":"string"}}}`)}
	require.NoError(t, b.db.CreateAgent(ctx, tool, 10))
	e := b.execution(t, ctx)
	payload := []byte(`{"action":"step","executionId":"` + e.ID + `","stepKey":"ask"}`)

	_, err := b.runner.Handle(runCtx, payload)
	require.Error(t, err, "the first invocation was interrupted")
	require.Equal(t, map[int]int{0: 1}, b.model.calls())

	_, err = b.runner.Handle(ctx, payload)
	require.NoError(t, err)
	require.Equal(t, map[int]int{0: 1, 2: 1}, b.model.calls(), "each model turn was made exactly once")
	mu.Lock()
	require.Len(t, apiCalls["Paris"], 1, "the recorded Paris call was not made again")
	require.Len(t, apiCalls["Oslo"], 2, "the interrupted Oslo call was made again")
	require.Equal(t, apiCalls["Oslo"][0], apiCalls["Oslo"][1], "with the same idempotency key")
	require.Equal(t, e.ID+":ask:turn0:call_oslo", apiCalls["Oslo"][0])
	mu.Unlock()

	steps, err := b.db.ExecutionSteps(ctx, b.user.ID, e.ID)
	require.NoError(t, err)
	require.Len(t, steps, 1)
	require.Equal(t, turbocat.StepCompleted, steps[0].Status)
	require.Equal(t, 2, steps[0].Attempt)
	var out llmexec.Output
	require.NoError(t, json.Unmarshal(steps[0].Output, &out))
	require.Equal(t, 2, out.Turns)
	require.Equal(t, 2, out.ToolCalls)
	require.Regexp(t, `"tempC": ?18`, out.Text, "the replayed Paris result went back to the model")
	require.Regexp(t, `"tempC": ?4`, out.Text)
	require.Equal(t, int64(200), steps[0].InputTokens, "both turns count, each once")
	require.Equal(t, int64(20), steps[0].OutputTokens)
	require.Greater(t, steps[0].CostUSD, 0.0)

	turns, err := b.db.StepTurns(ctx, b.user.ID, e.ID, "ask")
	require.NoError(t, err)
	type key struct {
		attempt, turn, seq int
		kind               string
	}
	var got []key
	for _, tr := range turns {
		got = append(got, key{tr.Attempt, tr.Turn, tr.Seq, tr.Kind})
	}
	require.Equal(t, []key{{1, 0, 0, "model"}, {1, 0, 1, "tool"}, {2, 0, 2, "tool"}, {2, 1, 0, "model"}}, got)
	require.Equal(t, "weather", turns[1].ToolName)
	require.JSONEq(t, `{"city":"Paris"}`, string(turns[1].Input))
	require.Equal(t, int64(100), turns[0].InputTokens)
	all, _ := json.Marshal(turns)
	require.NotContains(t, string(all), "tok-canary-7731", "the secret the API echoed is scrubbed from the record")
	require.Contains(t, string(all), "[REDACTED]")
	b.model.mu.Lock()
	require.NotContains(t, b.model.last, "tok-canary-7731", "and from what goes back to the model")
	b.model.mu.Unlock()

	// Another user cannot read them.
	_, err = b.db.StepTurns(ctx, "00000000-0000-0000-0000-000000000001", e.ID, "ask")
	require.Equal(t, turbocat.ENOTFOUND, turbocat.ErrorCodeOf(err))
}

// TestToolAgentsAreTheOwners: a tool name resolves among the run's user's
// agents only; another user's agent of that name is never called.
func TestToolAgentsAreTheOwners(t *testing.T) {
	t.Parallel()
	b := toolSetup(t, "owner-a@example.com")
	ctx := context.Background()
	called := false
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { called = true }))
	t.Cleanup(api.Close)
	other := &turbocat.User{Email: "owner-b@example.com", PasswordHash: "x", Role: turbocat.RoleUser}
	require.NoError(t, b.db.CreateUser(ctx, other))
	require.NoError(t, b.db.CreateAgent(ctx, &turbocat.Agent{UserID: other.ID, Name: "weather", Type: "api",
		Config: json.RawMessage(`{"method":"GET","url":"` + api.URL + `"}`)}, 10))
	e := b.execution(t, ctx)

	_, err := b.runner.Handle(ctx, []byte(`{"action":"step","executionId":"`+e.ID+`","stepKey":"ask"}`))
	var se *turbocat.StepError
	require.ErrorAs(t, err, &se)
	require.Equal(t, executor.ErrInvalidConfig, se.Name)
	require.Contains(t, se.Cause, `tool agent "weather" does not exist`)
	require.False(t, called)
	require.Empty(t, b.model.calls(), "the model was not called either")
}

// TestMCPTools: an llm agent's tools include an MCP server (the SDK's own
// server over streamable HTTP): its allowed tools are offered to the model
// with their schemas, the model's call runs on the server with the headers
// of the agent's secret, and the result goes back; a tool not allowed is
// never offered, and the header secret is never stored.
func TestMCPTools(t *testing.T) {
	t.Parallel()
	b := toolSetup(t, "mcp@example.com")
	ctx := context.Background()

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
	mcp.AddTool(server, &mcp.Tool{Name: "wipe", Description: "Deletes everything"}, func(_ context.Context, _ *mcp.CallToolRequest, _ addIn) (*mcp.CallToolResult, addOut, error) {
		t.Error("a tool not allowed was called")
		return nil, addOut{}, nil
	})
	handler := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, nil)
	var unauthorized atomic.Int32
	mcpSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer mcp-canary-99" {
			unauthorized.Add(1)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(mcpSrv.Close)

	var mu sync.Mutex
	var bodies []string
	model := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(raw))
		first := len(bodies) == 1
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if first {
			_, _ = w.Write([]byte(`{"id":"c1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":null,
				"tool_calls":[{"id":"call_add","type":"function","function":{"name":"add","arguments":"{\"a\":2,\"b\":3}"}}]},"finish_reason":"tool_calls"}],
				"usage":{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12}}`))
			return
		}
		_, _ = w.Write([]byte(`{"id":"c2","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"2+3=5"},"finish_reason":"stop"}],
			"usage":{"prompt_tokens":20,"completion_tokens":2,"total_tokens":22}}`))
	}))
	t.Cleanup(model.Close)

	cfg, _ := json.Marshal(map[string]any{"provider": "openai", "model": "gpt-4o-mini", "baseUrl": model.URL + "/v1/", "prompt": "2+3?",
		"tools": []any{map[string]any{"mcp": map[string]any{"url": mcpSrv.URL, "headersSecret": "MCP_HEADERS"}, "allow": []string{"add"}}}})
	agent := &turbocat.Agent{UserID: b.user.ID, Name: "calculator", Type: "llm", Config: cfg}
	require.NoError(t, b.db.CreateAgent(ctx, agent, 10))
	w := &turbocat.Workflow{UserID: b.user.ID, Name: "calc", Steps: []turbocat.WorkflowStep{{Key: "ask", AgentID: agent.ID, DependsOn: []string{}, Inputs: json.RawMessage(`{}`)}}}
	require.NoError(t, b.db.CreateWorkflow(ctx, w, 10))
	e, _, err := b.db.CreateExecution(ctx, turbocat.NewExecution{WorkflowID: w.ID, WorkflowVersion: 1, UserID: b.user.ID, Trigger: "api", Input: json.RawMessage(`{}`)})
	require.NoError(t, err)

	_, err = b.runner.Handle(ctx, []byte(`{"action":"step","executionId":"`+e.ID+`","stepKey":"ask"}`))
	require.NoError(t, err)
	require.Zero(t, unauthorized.Load(), "every request carried the secret's headers")
	mu.Lock()
	require.Len(t, bodies, 2)
	require.Contains(t, bodies[0], `"name":"add"`)
	require.Contains(t, bodies[0], "Adds two integers")
	require.Contains(t, bodies[0], `"a":{"type":"integer"}`, "the server's input schema is the tool's parameters")
	require.NotContains(t, bodies[0], "wipe", "a tool not allowed is not offered")
	require.Contains(t, bodies[1], `{\"sum\":5}`, "the result went back to the model")
	mu.Unlock()

	turns, err := b.db.StepTurns(ctx, b.user.ID, e.ID, "ask")
	require.NoError(t, err)
	require.Len(t, turns, 3)
	require.Equal(t, "add", turns[1].ToolName)
	require.JSONEq(t, `{"sum":5}`, string(turns[1].Output))
	all, _ := json.Marshal(turns)
	require.NotContains(t, string(all), "mcp-canary-99")

	// Without the loopback allow-list, the SSRF guard refuses the server.
	strict := &steprunner.Runner{Store: b.db, Workflows: b.db, Agents: b.db, Executor: b.runner.Executor, Transient: postgres.IsTransient,
		Lease: time.Minute, Secrets: b.runner.Secrets, MCPClient: httpexec.NewClient(httpexec.ClientOptions{})}
	e2, _, err := b.db.CreateExecution(ctx, turbocat.NewExecution{WorkflowID: w.ID, WorkflowVersion: 1, UserID: b.user.ID, Trigger: "api", Input: json.RawMessage(`{}`)})
	require.NoError(t, err)
	_, err = strict.Handle(ctx, []byte(`{"action":"step","executionId":"`+e2.ID+`","stepKey":"ask"}`))
	var se *turbocat.StepError
	require.ErrorAs(t, err, &se)
	require.Equal(t, steprunner.ErrMCPUnavailable, se.Name)
	require.Contains(t, se.Cause, "blocked")
	require.NotContains(t, se.Cause, "mcp-canary-99")
}

// turnsAwayStore is the real store whose first loads of a step's recorded
// turns fail the way a database restart does.
type turnsAwayStore struct {
	*postgres.DB
	fails atomic.Int32
}

func (s *turnsAwayStore) LatestStepTurns(ctx context.Context, executionID, stepKey string) ([]*turbocat.StepTurn, error) {
	if s.fails.Add(-1) >= 0 {
		return nil, &pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}
	}
	return s.DB.LatestStepTurns(ctx, executionID, stepKey)
}

// TestToolLoopOutlastsRestartAsItLoads: a database restart while an llm
// step loads its recorded turns is waited out, as its records are: the
// step completes in its first attempt instead of failing.
func TestToolLoopOutlastsRestartAsItLoads(t *testing.T) {
	t.Parallel()
	b := toolSetup(t, "turns-away@example.com")
	ctx := turbocat.WithActor(context.Background(), &turbocat.Actor{UserID: b.user.ID})
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"tempC":12}`))
	}))
	t.Cleanup(api.Close)
	tool := &turbocat.Agent{UserID: b.user.ID, Name: "weather", Description: "Current weather of a city.", Type: "api",
		Config: json.RawMessage(`{"method":"POST","url":"` + api.URL + `/weather","body":{"city":"{{input.city}}"}}`)}
	require.NoError(t, b.db.CreateAgent(ctx, tool, 10))
	e := b.execution(t, ctx)
	store := &turnsAwayStore{DB: b.db}
	store.fails.Store(2)
	b.runner.Store = store
	_, err := b.runner.Handle(ctx, []byte(`{"action":"step","executionId":"`+e.ID+`","stepKey":"ask"}`))
	require.NoError(t, err)
	require.Less(t, store.fails.Load(), int32(0), "the load was tried again after the failures")
	steps, err := b.db.ExecutionSteps(ctx, b.user.ID, e.ID)
	require.NoError(t, err)
	require.Len(t, steps, 1)
	require.Equal(t, turbocat.StepCompleted, steps[0].Status)
	require.Equal(t, 1, steps[0].Attempt)
}
