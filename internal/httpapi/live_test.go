package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/config"
)

// TestLiveLogStream: while a run's steps are still running, its log stream
// (GET /executions/{id}/logs?follow=true) shows a code agent's console line
// and the text a model is generating. The model is a local server speaking
// the OpenAI streaming format that holds the rest of its answer until the
// test has seen the first piece in the stream; its secret key, which the
// model echoes, never reaches the stream.
func TestLiveLogStream(t *testing.T) {
	t.Parallel()
	const key = "sk-live-canary-51f0e2"
	release := make(chan struct{})
	model := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		chunk := func(content string, finish any) {
			delta := map[string]any{}
			if content != "" {
				delta["content"] = content
			}
			b, _ := json.Marshal(map[string]any{"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "local-model",
				"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}})
			_, _ = fmt.Fprintf(w, "data: %s\n\n", b)
			w.(http.Flusher).Flush()
		}
		chunk("Thinking about the question, carefully and at some length, with ", nil)
		// The key, split over two pieces: scrubbed all the same.
		chunk(key[:8], nil)
		chunk(key[8:]+" in mind, and then writing enough words to leave the scrubber's hold-back window.", nil)
		select {
		case <-release:
		case <-r.Context().Done():
			return
		case <-time.After(15 * time.Second):
		}
		chunk(" - done.", "stop")
		b, _ := json.Marshal(map[string]any{"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "local-model", "choices": []any{},
			"usage": map[string]any{"prompt_tokens": 10, "completion_tokens": 6, "total_tokens": 16}})
		_, _ = fmt.Fprintf(w, "data: %s\n\ndata: [DONE]\n\n", b)
	}))
	t.Cleanup(model.Close)
	f := setupEngine(t, func(c *config.Config) { c.HTTPAllowCIDRs = []string{"127.0.0.0/8", "::1/128"} })
	tok := f.register("live").AccessToken
	require.Equal(t, 201, f.call("POST", "/api/v1/secrets", tok, map[string]string{"name": "LLM_KEY", "value": key}).Status)
	busy := f.create(tok, "/api/v1/agents", jsAgent("busy", `function main() {
		console.log("started");
		const until = Date.now() + 1500; while (Date.now() < until) {}
		return {ok: true}; }`))
	ask := f.create(tok, "/api/v1/agents", map[string]any{"name": "ask", "type": "llm", "config": map[string]any{
		"provider": "openai", "model": "local-model", "baseUrl": model.URL + "/v1", "apiKeySecret": "LLM_KEY", "prompt": "Think."}})
	wf := f.create(tok, "/api/v1/workflows", map[string]any{"name": "live", "steps": []map[string]any{
		{"key": "busy", "agentId": busy}, {"key": "ask", "agentId": ask}}})
	var run runAnswer
	f.call("POST", "/api/v1/workflows/"+wf+"/execute", tok, nil).data(t, &run)

	req, err := http.NewRequest("GET", f.srv.URL+"/api/v1/executions/"+run.ExecutionID+"/logs?follow=true", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := http.DefaultClient.Do(req.WithContext(ctx))
	require.NoError(t, err)
	defer res.Body.Close()

	stepStatus := func(key string) string {
		var status string
		require.NoError(t, f.pool.QueryRow(context.Background(), `SELECT status FROM execution_steps WHERE execution_id = $1 AND step_key = $2`,
			run.ExecutionID, key).Scan(&status))
		return status
	}
	var text strings.Builder
	var stream strings.Builder
	sawLineWhileRunning, sawTextWhileRunning := false, false
	event := ""
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line := sc.Text()
		stream.WriteString(line + "\n")
		if ev, ok := strings.CutPrefix(line, "event: "); ok {
			event = ev
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		switch event {
		case "log":
			var l struct {
				StepKey   *string `json:"stepKey"`
				Message   string  `json:"message"`
				CreatedAt time.Time
			}
			require.NoError(t, json.Unmarshal([]byte(data), &l))
			if l.Message == "started" && !sawLineWhileRunning {
				require.Equal(t, "running", stepStatus("busy"), "the console line arrived only when its step had ended")
				sawLineWhileRunning = true
			}
		case "text":
			var piece struct{ StepKey, Text string }
			require.NoError(t, json.Unmarshal([]byte(data), &piece))
			require.Equal(t, "ask", piece.StepKey)
			text.WriteString(piece.Text)
			if !sawTextWhileRunning && strings.Contains(text.String(), "[REDACTED] in mind") {
				require.Equal(t, "running", stepStatus("ask"), "the model's text arrived only when its step had ended")
				sawTextWhileRunning = true
			}
			if sawTextWhileRunning {
				select {
				case <-release:
				default:
					close(release)
				}
			}
		}
	}
	require.True(t, sawLineWhileRunning, "no console line while the step ran:\n%s", stream.String())
	require.True(t, sawTextWhileRunning, "no model text while the step ran:\n%s", stream.String())
	const answer = "Thinking about the question, carefully and at some length, with [REDACTED] in mind, and then writing enough words to leave the scrubber's hold-back window. - done."
	require.Equal(t, answer, text.String())
	require.NotContains(t, stream.String(), key[8:], "a piece of the secret reached the stream")
	require.Contains(t, stream.String(), "event: end")

	// The stored run has the whole answer, and the console line once.
	var e struct {
		Status     string
		OutputData json.RawMessage
	}
	f.call("GET", "/api/v1/executions/"+run.ExecutionID, tok, nil).data(t, &e)
	require.Equal(t, "completed", e.Status)
	require.Contains(t, string(e.OutputData), answer)
	require.Equal(t, 1, f.count("execution_logs", "execution_id = $1 AND message = 'started'", run.ExecutionID))
}
