package httpapi_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/config"
)

type runAnswer struct {
	ExecutionID string          `json:"executionId"`
	Status      string          `json:"status"`
	Output      json.RawMessage `json:"output"`
	Error       json.RawMessage `json:"error"`
}

func jsAgent(name, source string) map[string]any {
	return map[string]any{"name": name, "type": "code", "config": map[string]any{"source": source}}
}

// TestRunParallelWorkflow runs fetch → (upper ∥ count) → join end to end on
// the local engine: compiled ASL, the runtime, the step runner and real code
// agents in worker processes.
func TestRunParallelWorkflow(t *testing.T) {
	t.Parallel()
	f := setupEngine(t)
	s := f.register("runner")
	tok := s.AccessToken
	src := f.create(tok, "/api/v1/agents", jsAgent("source", `function main(input) { console.log("fetching " + input.url); return { body: "hello " + input.url }; }`))
	upper := f.create(tok, "/api/v1/agents", jsAgent("upper", `function main(input) { return { text: input.text.toUpperCase() }; }`))
	count := f.create(tok, "/api/v1/agents", jsAgent("count", `function main(input) { console.warn("counting"); return { n: input.text.length }; }`))
	join := f.create(tok, "/api/v1/agents", jsAgent("join", `function main(input) { return { summary: input.upper + " (" + input.n + ")" }; }`))
	wf := f.create(tok, "/api/v1/workflows", map[string]any{
		"name":        "parallel",
		"inputSchema": map[string]any{"type": "object", "required": []string{"url"}, "properties": map[string]any{"url": map[string]any{"type": "string"}}},
		"output":      map[string]any{"summary": "{{steps.join.output.summary}}", "run": "{{execution.id}}"},
		"steps": []map[string]any{
			{"key": "fetch", "agentId": src, "inputs": map[string]any{"url": "{{inputs.url}}"}},
			{"key": "upper", "agentId": upper, "dependsOn": []string{"fetch"}, "inputs": map[string]any{"text": "{{steps.fetch.output.body}}"}},
			{"key": "count", "agentId": count, "dependsOn": []string{"fetch"}, "inputs": map[string]any{"text": "{{steps.fetch.output.body}}"}},
			{"key": "join", "agentId": join, "dependsOn": []string{"upper", "count"}, "inputs": map[string]any{"upper": "{{steps.upper.output.text}}", "n": "{{steps.count.output.n}}"}},
		},
	})

	bad := f.call("POST", "/api/v1/workflows/"+wf+"/execute", tok, map[string]any{"input": map[string]any{"url": 5}})
	require.Equal(t, http.StatusBadRequest, bad.Status, "input is checked against inputSchema: %s", bad.Body)
	require.Contains(t, strings.Join(bad.fields(), " "), "input.url")

	r := f.call("POST", "/api/v1/workflows/"+wf+"/execute?wait=20", tok, map[string]any{"input": map[string]any{"url": "example.com"}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var ans runAnswer
	r.data(t, &ans)
	require.Equal(t, "completed", ans.Status, "%s", r.Body)
	var out map[string]string
	require.NoError(t, json.Unmarshal(ans.Output, &out))
	require.Equal(t, "HELLO EXAMPLE.COM (17)", out["summary"])
	require.Equal(t, ans.ExecutionID, out["run"])

	var detail struct {
		Status     string
		DurationMs *int64
		Steps      []struct {
			StepKey, Status string
			Attempt         int
			Input, Output   map[string]any
		}
	}
	f.call("GET", "/api/v1/executions/"+ans.ExecutionID, tok, nil).data(t, &detail)
	require.Equal(t, "completed", detail.Status)
	require.NotNil(t, detail.DurationMs)
	require.Len(t, detail.Steps, 4)
	byKey := map[string]int{}
	for i, st := range detail.Steps {
		byKey[st.StepKey] = i
		require.Equal(t, "completed", st.Status, st.StepKey)
		require.Equal(t, 1, st.Attempt, "each step ran once: %s", st.StepKey)
	}
	require.Equal(t, "hello example.com", detail.Steps[byKey["upper"]].Input["text"], "inputs are resolved from upstream outputs")
	require.Equal(t, float64(17), detail.Steps[byKey["count"]].Output["n"])

	var logs struct {
		Items []struct {
			StepKey *string
			Level   string
			Message string
		}
	}
	f.call("GET", "/api/v1/executions/"+ans.ExecutionID+"/logs", tok, nil).data(t, &logs)
	var msgs []string
	for _, l := range logs.Items {
		msgs = append(msgs, *l.StepKey+":"+l.Level+":"+l.Message)
	}
	require.Contains(t, msgs, "fetch:info:fetching example.com")
	require.Contains(t, msgs, "count:warn:counting")

	// The run is counted in the metrics /metrics serves.
	var prom strings.Builder
	f.app.Metrics.WritePrometheus(&prom)
	require.Contains(t, prom.String(), `turbocat_executions_started_total{trigger="api"} 1`)
	require.Contains(t, prom.String(), `turbocat_executions_finished_total{status="completed"} 1`)
	require.Contains(t, prom.String(), `turbocat_step_duration_seconds_count{agent_type="code",status="completed"} 4`)
	require.Contains(t, prom.String(), `turbocat_http_request_duration_seconds_count{route="POST /api/v1/workflows/{id}/execute",status="400"} 1`)

	// Idempotency key: the same key returns the same run.
	a1 := f.call("POST", "/api/v1/workflows/"+wf+"/execute", tok, map[string]any{"input": map[string]any{"url": "x"}, "idempotencyKey": "k-1"})
	require.Equal(t, http.StatusAccepted, a1.Status, "%s", a1.Body)
	a2 := f.call("POST", "/api/v1/workflows/"+wf+"/execute", tok, map[string]any{"input": map[string]any{"url": "x"}}, "Idempotency-Key", "k-1")
	var r1, r2 runAnswer
	a1.data(t, &r1)
	a2.data(t, &r2)
	require.Equal(t, r1.ExecutionID, r2.ExecutionID)
	require.Equal(t, 1, f.count("executions", "idempotency_key = 'k-1'"))
	require.Equal(t, 2, f.count("audit_logs", "action = 'execution.start'"))
}

func TestRunFailureRetryAndCancel(t *testing.T) {
	t.Parallel()
	f := setupEngine(t)
	s := f.register("fail")
	tok := s.AccessToken
	ok := f.create(tok, "/api/v1/agents", jsAgent("ok", `function main(input) { return { v: 1 }; }`))
	flaky := f.create(tok, "/api/v1/agents", jsAgent("flaky", `function main(input) { throw new Error("boom"); }`))
	slow := f.create(tok, "/api/v1/agents", jsAgent("slow", `function main(input) { const end = Date.now() + 30000; while (Date.now() < end) {} return 1; }`))
	wf := f.create(tok, "/api/v1/workflows", map[string]any{"name": "fails", "steps": []map[string]any{
		{"key": "first", "agentId": ok},
		{"key": "second", "agentId": flaky, "dependsOn": []string{"first"}},
	}})
	r := f.call("POST", "/api/v1/workflows/"+wf+"/execute?wait=20", tok, map[string]any{})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var ans runAnswer
	r.data(t, &ans)
	require.Equal(t, "failed", ans.Status)
	var failure struct{ StepKey, Error, Cause string }
	require.NoError(t, json.Unmarshal(ans.Error, &failure))
	require.Equal(t, "second", failure.StepKey)
	require.Equal(t, "Code.Error", failure.Error)
	require.Contains(t, failure.Cause, "boom")

	// Fix the agent, retry: the completed step is reused, not run again.
	require.Equal(t, http.StatusOK, f.call("PATCH", "/api/v1/agents/"+flaky, tok, map[string]any{"config": map[string]any{"source": "function main(){ return {fixed: true}; }"}}).Status)
	rr := f.call("POST", "/api/v1/executions/"+ans.ExecutionID+"/retry?wait=20", tok, nil)
	require.Equal(t, http.StatusOK, rr.Status, "%s", rr.Body)
	var retried runAnswer
	rr.data(t, &retried)
	require.Equal(t, "completed", retried.Status, "%s", rr.Body)
	var reused int
	require.NoError(t, f.pool.QueryRow(context.Background(), `SELECT count(*) FROM execution_steps WHERE execution_id = $1 AND step_key = 'first' AND reused_from = $2`,
		retried.ExecutionID, ans.ExecutionID).Scan(&reused))
	require.Equal(t, 1, reused, "the completed step's output was reused")
	require.Equal(t, http.StatusConflict, f.call("POST", "/api/v1/executions/"+retried.ExecutionID+"/retry", tok, nil).Status, "a completed run cannot be retried")

	// Cancel a long run; its status is cancelled and stays so.
	long := f.create(tok, "/api/v1/workflows", map[string]any{"name": "long", "steps": []map[string]any{{"key": "spin", "agentId": slow, "timeoutSeconds": 60}}})
	lr := f.call("POST", "/api/v1/workflows/"+long+"/execute", tok, nil)
	require.Equal(t, http.StatusAccepted, lr.Status, "%s", lr.Body)
	var la runAnswer
	lr.data(t, &la)
	require.Eventually(t, func() bool {
		return f.count("execution_steps", "execution_id = $1 AND status = 'running'", la.ExecutionID) == 1
	}, 10*time.Second, 20*time.Millisecond)
	c := f.call("POST", "/api/v1/executions/"+la.ExecutionID+"/cancel", tok, nil)
	require.Equal(t, http.StatusOK, c.Status, "%s", c.Body)
	var ce struct{ Status string }
	c.data(t, &ce)
	require.Equal(t, "cancelled", ce.Status)
	require.Equal(t, http.StatusConflict, f.call("POST", "/api/v1/executions/"+la.ExecutionID+"/cancel", tok, nil).Status)
}

func TestFollowLogsStream(t *testing.T) {
	t.Parallel()
	f := setupEngine(t)
	s := f.register("follow")
	tok := s.AccessToken
	a := f.create(tok, "/api/v1/agents", jsAgent("talk", `function main(input) { for (let i = 0; i < 3; i++) console.log("line " + i); return {}; }`))
	wf := f.create(tok, "/api/v1/workflows", map[string]any{"name": "talk", "steps": []map[string]any{
		{"key": "a", "agentId": a}, {"key": "b", "agentId": a, "dependsOn": []string{"a"}}}})
	r := f.call("POST", "/api/v1/workflows/"+wf+"/execute", tok, nil)
	var ans runAnswer
	r.data(t, &ans)

	req, err := http.NewRequest("GET", f.srv.URL+"/api/v1/executions/"+ans.ExecutionID+"/logs?follow=true", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := http.DefaultClient.Do(req.WithContext(ctx))
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, "text/event-stream", res.Header.Get("Content-Type"))
	var events []string
	var logLines int
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line := sc.Text()
		if ev, ok := strings.CutPrefix(line, "event: "); ok {
			events = append(events, ev)
			if ev == "log" {
				logLines++
			}
		}
	}
	require.Equal(t, "status", events[0])
	require.Equal(t, "end", events[len(events)-1], "the stream ends when the run ends")
	require.Equal(t, 6, logLines, "every log line of both steps, once")
}

// TestSecretCanaryWholeRun: a run whose agents use secrets (an API key in an
// Authorization header, a password in basic auth) and log their inputs
// leaves the canary values nowhere: not in step rows, log rows, the engine's
// execution history, API responses, audit rows or server logs.
func TestSecretCanaryWholeRun(t *testing.T) {
	t.Parallel()
	const token, password = "canary-token-5a1e9c", "canary-password-83b2f0"
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Echo what arrived, secrets included: the platform must scrub it.
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"auth": r.Header.Get("Authorization"), "query": r.URL.RawQuery})
	}))
	t.Cleanup(upstream.Close)
	f := setupEngine(t, func(c *config.Config) { c.HTTPAllowCIDRs = []string{"127.0.0.0/8", "::1/128"} })
	s := f.register("canary")
	tok := s.AccessToken
	for name, v := range map[string]string{"API_TOKEN": token, "DB_PASSWORD": password} {
		require.Equal(t, http.StatusCreated, f.call("POST", "/api/v1/secrets", tok, map[string]string{"name": name, "value": v}).Status)
	}
	call := f.create(tok, "/api/v1/agents", map[string]any{"name": "call", "type": "api", "config": map[string]any{
		"method": "GET", "url": upstream.URL + "/x?key={{secrets.API_TOKEN}}",
		"auth": map[string]any{"type": "bearer", "token": "{{secrets.API_TOKEN}}"}}})
	basic := f.create(tok, "/api/v1/agents", map[string]any{"name": "basic", "type": "api", "config": map[string]any{
		"method": "GET", "url": upstream.URL + "/y", "auth": map[string]any{"type": "basic", "username": "svc", "password": "{{secrets.DB_PASSWORD}}"}}})
	logger := f.create(tok, "/api/v1/agents", jsAgent("logger", `function main(input) { console.log(JSON.stringify(input)); throw new Error("saw " + JSON.stringify(input)); }`))
	wf := f.create(tok, "/api/v1/workflows", map[string]any{"name": "canary", "steps": []map[string]any{
		{"key": "call", "agentId": call},
		{"key": "basic", "agentId": basic},
		{"key": "log", "agentId": logger, "dependsOn": []string{"call", "basic"},
			"inputs": map[string]any{"a": "{{steps.call.output.body}}", "b": "{{steps.basic.output.body}}"}},
	}})
	r := f.call("POST", "/api/v1/workflows/"+wf+"/execute?wait=20", tok, nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var ans runAnswer
	r.data(t, &ans)
	require.Equal(t, "failed", ans.Status, "the logging step fails on purpose: %s", r.Body)

	// The upstream did receive the secrets (the run was real).
	var stepsOut struct {
		Steps []struct {
			StepKey string
			Output  json.RawMessage
		}
	}
	f.call("GET", "/api/v1/executions/"+ans.ExecutionID, tok, nil).data(t, &stepsOut)
	require.Len(t, stepsOut.Steps, 3)
	require.Contains(t, string(stepsOut.Steps[0].Output)+string(stepsOut.Steps[1].Output), "[REDACTED]", "echoed secrets are scrubbed from outputs")

	ctx := context.Background()
	var rows string
	require.NoError(t, f.pool.QueryRow(ctx, `SELECT concat_ws('|',
		(SELECT string_agg(row_to_json(s)::text, '') FROM execution_steps s),
		(SELECT string_agg(row_to_json(l)::text, '') FROM execution_logs l),
		(SELECT string_agg(row_to_json(e)::text, '') FROM executions e),
		(SELECT string_agg(row_to_json(a)::text, '') FROM audit_logs a))`).Scan(&rows))
	history, err := f.local.Runtime.GetExecutionHistory(ctx, executionArn(t, f, ans.ExecutionID))
	require.NoError(t, err)
	hist, _ := json.Marshal(history)
	require.NotEmpty(t, history)
	seen.Lock()
	responses := strings.Join(seen.bodies, "\n")
	seen.Unlock()
	for _, canary := range []string{token, password, base64.StdEncoding.EncodeToString([]byte("svc:" + password))} {
		require.NotContains(t, rows, canary, "database rows")
		require.NotContains(t, string(hist), canary, "engine history")
		require.NotContains(t, responses, canary, "API responses")
		require.NotContains(t, f.serverLogs(), canary, "server logs")
	}
}

func executionArn(t *testing.T, f *fixture, id string) string {
	t.Helper()
	var ref string
	require.NoError(t, f.pool.QueryRow(context.Background(), `SELECT engine_ref FROM executions WHERE id = $1`, id).Scan(&ref))
	return ref
}

// TestAgentTestRuns runs each agent type once through POST /agents/{id}/test:
// a code agent, an API agent against a real local HTTP server, and an LLM
// agent against a local server speaking the OpenAI Chat Completions format.
func TestAgentTestRuns(t *testing.T) {
	t.Parallel()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/items":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"items":[1,2,3],"q":"` + r.URL.Query().Get("q") + `"}`))
		case "/down":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/v1/chat/completions":
			require.Equal(t, "Bearer sk-local-canary", r.Header.Get("Authorization"))
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"local-model",
				"choices":[{"index":0,"message":{"role":"assistant","content":"A short summary."},"finish_reason":"stop"}],
				"usage":{"prompt_tokens":12,"completion_tokens":4,"total_tokens":16}}`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(upstream.Close)
	f := setupEngine(t, func(c *config.Config) { c.HTTPAllowCIDRs = []string{"127.0.0.0/8", "::1/128"} })
	s := f.register("tester")
	tok := s.AccessToken
	require.Equal(t, http.StatusCreated, f.call("POST", "/api/v1/secrets", tok, map[string]string{"name": "LLM_KEY", "value": "sk-local-canary"}).Status)

	type result struct {
		OK     bool
		Output json.RawMessage
		Error  *struct{ Error, Cause string }
		Logs   []struct{ Level, Message string }
		Usage  *struct{ InputTokens, OutputTokens int64 }
	}
	test := func(id string, input any) result {
		r := f.call("POST", "/api/v1/agents/"+id+"/test", tok, map[string]any{"input": input})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		var out result
		r.data(t, &out)
		return out
	}

	code := f.create(tok, "/api/v1/agents", jsAgent("double", `function main(input) { console.info("doubling " + input.n); return { n: input.n * 2 }; }`))
	out := test(code, map[string]any{"n": 21})
	require.True(t, out.OK)
	require.JSONEq(t, `{"n":42}`, string(out.Output))
	require.Equal(t, "doubling 21", out.Logs[0].Message)

	api := f.create(tok, "/api/v1/agents", map[string]any{"name": "items", "type": "api", "config": map[string]any{"method": "GET", "url": upstream.URL + "/items", "query": map[string]any{"q": "{{input.q}}"}}})
	out = test(api, map[string]any{"q": "cats"})
	require.True(t, out.OK, "%+v", out.Error)
	var apiOut struct {
		Status int
		Body   struct {
			Items []int
			Q     string
		}
	}
	require.NoError(t, json.Unmarshal(out.Output, &apiOut))
	require.Equal(t, 200, apiOut.Status)
	require.Equal(t, []int{1, 2, 3}, apiOut.Body.Items)
	require.Equal(t, "cats", apiOut.Body.Q)

	down := f.create(tok, "/api/v1/agents", map[string]any{"name": "down", "type": "api", "config": map[string]any{"method": "GET", "url": upstream.URL + "/down"}})
	out = test(down, map[string]any{})
	require.False(t, out.OK)
	require.Equal(t, "Api.Http5xx", out.Error.Error, "a workflow's retry can target the error name")

	llm := f.create(tok, "/api/v1/agents", map[string]any{"name": "summarize", "type": "llm", "config": map[string]any{
		"provider": "openai", "model": "local-model", "baseUrl": upstream.URL + "/v1", "apiKeySecret": "LLM_KEY", "prompt": "Summarise: {{input.text}}"}})
	out = test(llm, map[string]any{"text": "a long text"})
	require.True(t, out.OK, "%+v", out.Error)
	var llmOut struct {
		Text, Model, FinishReason string
	}
	require.NoError(t, json.Unmarshal(out.Output, &llmOut))
	require.Equal(t, "A short summary.", llmOut.Text)
	require.Equal(t, int64(12), out.Usage.InputTokens)
	require.Equal(t, int64(4), out.Usage.OutputTokens)

	// Another user's agent is a 404; the run is audited.
	other := f.register("other")
	require.Equal(t, http.StatusNotFound, f.call("POST", "/api/v1/agents/"+code+"/test", other.AccessToken, map[string]any{}).Status)
	require.Equal(t, 4, f.count("audit_logs", "action = 'agent.test'"))
	require.NotContains(t, f.serverLogs(), "sk-local-canary")
}
