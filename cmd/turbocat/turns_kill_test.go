package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestKillBetweenTurns: an llm agent's tool loop is cut by a SIGKILL of
// turbocat dev after its first model turn, while the tool that turn asked
// for runs. After a restart the run completes, and the fake model server
// (speaking the OpenAI format) saw each turn exactly once: the recorded
// turn was not paid for twice.
func TestKillBetweenTurns(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills turbocat dev; skipped with -short")
	}
	var mu sync.Mutex
	turns := map[int]int{} // model turn → calls the server saw
	model := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Messages []struct {
				Role    string `json:"role"`
				Content any    `json:"content"`
			} `json:"messages"`
			Tools []struct {
				Function struct{ Name string } `json:"function"`
			} `json:"tools"`
		}
		raw, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(raw, &body)
		turn, result := 0, ""
		for _, m := range body.Messages {
			if m.Role == "tool" {
				turn = 1
				result = fmt.Sprint(m.Content)
			}
		}
		mu.Lock()
		turns[turn]++
		mu.Unlock()
		msg := map[string]any{"role": "assistant", "content": "The tool said " + result}
		finish := "stop"
		if turn == 0 && len(body.Tools) > 0 {
			msg = map[string]any{"role": "assistant", "content": nil, "tool_calls": []any{map[string]any{"id": "call_1", "type": "function",
				"function": map[string]any{"name": body.Tools[0].Function.Name, "arguments": `{"n":21}`}}}}
			finish = "tool_calls"
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"id": "c1", "object": "chat.completion", "created": 1, "model": "m",
			"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": finish}},
			"usage":   map[string]any{"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}})
	}))
	t.Cleanup(model.Close)
	seen := func(turn int) int {
		mu.Lock()
		defer mu.Unlock()
		return turns[turn]
	}

	pool, d := killableDev(t, "TURBOCAT_CODE_WORKERS=1", "TURBOCAT_HTTP_ALLOW_CIDRS=127.0.0.0/8")

	var sess struct{ AccessToken string }
	require.Equal(t, 201, d.call("POST", "/api/v1/auth/register", "", map[string]string{"email": "turns@example.com", "password": "correct horse battery"}, &sess))
	tok := sess.AccessToken
	var tool, agent, wf struct{ ID string }
	require.Equal(t, 201, d.call("POST", "/api/v1/agents", tok, map[string]any{"name": "double", "type": "code",
		"inputSchema": map[string]any{"type": "object", "required": []string{"n"}, "properties": map[string]any{"n": map[string]any{"type": "number"}}},
		"config":      map[string]any{"source": `function main(input) { const end = Date.now() + 3000; while (Date.now() < end) {} return {n: input.n * 2}; }`}}, &tool))
	require.Equal(t, 201, d.call("POST", "/api/v1/agents", tok, map[string]any{"name": "ask", "type": "llm", "config": map[string]any{
		"provider": "openai", "model": "m", "baseUrl": model.URL + "/v1", "prompt": "Double 21.", "tools": []any{map[string]any{"agent": "double"}}}}, &agent))
	require.Equal(t, 201, d.call("POST", "/api/v1/workflows", tok, map[string]any{"name": "turns", "steps": []map[string]any{
		{"key": "ask", "agentId": agent.ID, "timeoutSeconds": 60}}}, &wf))
	var run struct{ ExecutionID string }
	require.Equal(t, 202, d.call("POST", "/api/v1/workflows/"+wf.ID+"/execute", tok, map[string]any{}, &run))

	ctx := context.Background()
	count := func(q string, args ...any) int {
		var n int
		require.NoError(t, pool.QueryRow(ctx, q, args...).Scan(&n))
		return n
	}
	// Kill once the first turn is recorded, while the tool it asked for runs.
	require.Eventually(t, func() bool {
		return count(`SELECT count(*) FROM execution_step_turns WHERE execution_id = $1 AND kind = 'model'`, run.ExecutionID) == 1
	}, 30*time.Second, 10*time.Millisecond, "the first turn was never recorded: %s", d.logs)
	require.NoError(t, d.cmd.Process.Signal(syscall.SIGKILL))
	_ = d.cmd.Wait()
	require.Equal(t, 1, seen(0))
	require.Zero(t, seen(1), "the kill came after the second turn")

	d.start()
	require.Eventually(t, func() bool {
		return count(`SELECT count(*) FROM executions WHERE id = $1 AND status IN ('pending', 'running')`, run.ExecutionID) == 0
	}, 120*time.Second, 100*time.Millisecond, "the run did not finish after the restart: %s", d.logs)

	var e struct {
		Status     string
		OutputData struct{ Ask struct{ Text string } }
	}
	require.Equal(t, 200, d.call("GET", "/api/v1/executions/"+run.ExecutionID, tok, nil, &e))
	require.Equal(t, "completed", e.Status, "%s", d.logs)
	require.Contains(t, e.OutputData.Ask.Text, `42`)
	require.Equal(t, 1, seen(0), "the recorded first turn was called again after the restart")
	require.Equal(t, 1, seen(1))

	// The step's turns: two model turns and the tool call between them.
	var recorded struct {
		Items []struct {
			Turn, Seq int
			Kind      string
		}
	}
	require.Equal(t, 200, d.call("GET", "/api/v1/executions/"+run.ExecutionID+"/steps/ask/turns", tok, nil, &recorded))
	latest := map[[2]int]string{}
	for _, r := range recorded.Items {
		latest[[2]int{r.Turn, r.Seq}] = r.Kind
	}
	require.Equal(t, map[[2]int]string{{0, 0}: "model", {0, 1}: "tool", {1, 0}: "model"}, latest)
}
