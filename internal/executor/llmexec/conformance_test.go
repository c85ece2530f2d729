package llmexec

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/turbocat/turbocat/internal/executor"
	"github.com/turbocat/turbocat/internal/executor/executortest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	// An OpenAI-compatible server: the model name picks the behaviour.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body struct {
			Model    string `json:"model"`
			Messages []struct {
				Content string `json:"content"`
			} `json:"messages"`
		}
		_ = json.Unmarshal(raw, &body)
		prompt := ""
		if len(body.Messages) > 0 {
			prompt = body.Messages[len(body.Messages)-1].Content
		}
		w.Header().Set("Content-Type", "application/json")
		switch body.Model {
		case "echo", "big":
			text := "You said: " + prompt
			if body.Model == "big" {
				text = strings.Repeat("w", 5<<20)
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"id": "c1", "object": "chat.completion", "created": 1, "model": body.Model,
				"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": text}, "finish_reason": "stop"}},
				"usage":   map[string]any{"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10}})
		case "reject":
			w.WriteHeader(400)
			_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": "prompt rejected: " + prompt, "type": "invalid_request_error"}})
		case "slow":
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}
	}))
	t.Cleanup(srv.Close)
	ex := New(Options{OpenAIBaseURL: srv.URL + "/v1/", OpenAIAPIKey: "sk-test"})
	cfg := func(model string) func(*testing.T) json.RawMessage {
		return func(*testing.T) json.RawMessage {
			b, _ := json.Marshal(map[string]any{"provider": "openai", "model": model, "prompt": "{{input.msg}} with key " + executortest.SecretRef})
			return b
		}
	}
	executortest.Run(t, executortest.Harness{
		Type:         executor.TypeLLM,
		Executor:     ex,
		TimeoutName:  executor.ErrLLMTimeout,
		OversizeName: executor.ErrOutputTooLarge,
		Echo:         cfg("echo"),
		Fail:         cfg("reject"),
		Slow:         cfg("slow"),
		Oversize:     cfg("big"),
		Invalid:      json.RawMessage(`{"provider":"openai","model":"m"}`),
	})
}
