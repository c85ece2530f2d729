package llmexec

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/executor"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// streamFake is a model server that streams its answers in the provider's
// own server-sent-events format: on the first call a tool call (its
// arguments split over several events), on the second the text "Hello
// world" in pieces. After the first piece of text it holds the stream
// until the test releases it (or 5 s pass), so the test can see the text
// arrive before the answer ends.
type streamFake struct {
	srv     *httptest.Server
	release chan struct{}
	mu      sync.Mutex
	bodies  []map[string]any
}

func newStreamFake(t *testing.T, provider string) *streamFake {
	t.Helper()
	f := &streamFake{release: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(raw, &body)
		f.mu.Lock()
		f.bodies = append(f.bodies, body)
		first := len(f.bodies) == 1
		f.mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		fl := w.(http.Flusher)
		send := func(event string, v any) {
			b, _ := json.Marshal(v)
			if event != "" {
				_, _ = fmt.Fprintf(w, "event: %s\n", event)
			}
			_, _ = fmt.Fprintf(w, "data: %s\n\n", b)
			fl.Flush()
		}
		hold := func() {
			select {
			case <-f.release:
			case <-time.After(5 * time.Second):
			}
		}
		switch provider {
		case ProviderOpenAI:
			chunk := func(delta map[string]any, finish any) map[string]any {
				return map[string]any{"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "ok",
					"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}}
			}
			usage := map[string]any{"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "ok", "choices": []any{},
				"usage": map[string]any{"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}}
			if first {
				send("", chunk(map[string]any{"role": "assistant", "tool_calls": []any{map[string]any{"index": 0, "id": "call_1", "type": "function",
					"function": map[string]any{"name": "lookup", "arguments": ""}}}}, nil))
				send("", chunk(map[string]any{"tool_calls": []any{map[string]any{"index": 0, "function": map[string]any{"arguments": `{"city":`}}}}, nil))
				send("", chunk(map[string]any{"tool_calls": []any{map[string]any{"index": 0, "function": map[string]any{"arguments": `"Paris"}`}}}}, nil))
				send("", chunk(map[string]any{}, "tool_calls"))
				send("", usage)
			} else {
				send("", chunk(map[string]any{"role": "assistant", "content": "Hello"}, nil))
				hold()
				send("", chunk(map[string]any{"content": " world"}, nil))
				send("", chunk(map[string]any{}, "stop"))
				send("", usage)
			}
			_, _ = fmt.Fprint(w, "data: [DONE]\n\n")
		case ProviderAnthropic:
			send("message_start", map[string]any{"type": "message_start", "message": map[string]any{"id": "msg_1", "type": "message", "role": "assistant",
				"model": "ok", "content": []any{}, "stop_reason": nil, "stop_sequence": nil, "usage": map[string]any{"input_tokens": 100, "output_tokens": 1}}})
			stop := "end_turn"
			if first {
				send("content_block_start", map[string]any{"type": "content_block_start", "index": 0,
					"content_block": map[string]any{"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": map[string]any{}}})
				send("content_block_delta", map[string]any{"type": "content_block_delta", "index": 0, "delta": map[string]any{"type": "input_json_delta", "partial_json": `{"city":`}})
				send("content_block_delta", map[string]any{"type": "content_block_delta", "index": 0, "delta": map[string]any{"type": "input_json_delta", "partial_json": `"Paris"}`}})
				stop = "tool_use"
			} else {
				send("content_block_start", map[string]any{"type": "content_block_start", "index": 0, "content_block": map[string]any{"type": "text", "text": ""}})
				send("content_block_delta", map[string]any{"type": "content_block_delta", "index": 0, "delta": map[string]any{"type": "text_delta", "text": "Hello"}})
				hold()
				send("content_block_delta", map[string]any{"type": "content_block_delta", "index": 0, "delta": map[string]any{"type": "text_delta", "text": " world"}})
			}
			send("content_block_stop", map[string]any{"type": "content_block_stop", "index": 0})
			send("message_delta", map[string]any{"type": "message_delta", "delta": map[string]any{"stop_reason": stop, "stop_sequence": nil},
				"usage": map[string]any{"output_tokens": 20}})
			send("message_stop", map[string]any{"type": "message_stop"})
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// textWatcher is an executor.Live that releases the fake once it has seen
// the first piece of text.
type textWatcher struct {
	mu      sync.Mutex
	pieces  []string
	turns   []int
	release chan struct{}
	once    sync.Once
}

func (w *textWatcher) Log(executor.LogLine) {}

func (w *textWatcher) Text(turn int, text string) {
	w.mu.Lock()
	w.pieces = append(w.pieces, text)
	w.turns = append(w.turns, turn)
	w.mu.Unlock()
	w.once.Do(func() { close(w.release) })
}

// TestStreamedTurns: a watched run asks each provider to stream; the text
// reaches the watcher while the model is still generating (the fake
// holds the rest of the answer until it has), tool calls whose arguments
// come in pieces are put back together and run, and the result and usage
// are those of an unstreamed run.
func TestStreamedTurns(t *testing.T) {
	t.Parallel()
	for _, provider := range []string{ProviderOpenAI, ProviderAnthropic} {
		t.Run(provider, func(t *testing.T) {
			t.Parallel()
			f := newStreamFake(t, provider)
			ex := toolExecutor(&toolFake{srv: f.srv})
			tool := &lookupTool{started: make(chan struct{}, 10), want: 1}
			watch := &textWatcher{release: f.release}
			start := time.Now()
			res, err := ex.Execute(context.Background(), executor.Request{Type: executor.TypeLLM, Config: toolConfig(provider, "ok", nil),
				Input: json.RawMessage(`{"cities":"Paris"}`), Tools: []executor.Tool{tool.tool()}, Live: watch})
			require.NoError(t, err)
			require.Less(t, time.Since(start), 4*time.Second, "the fake held its stream until it timed out: the text did not arrive while it was generated")

			var out Output
			require.NoError(t, json.Unmarshal(res.Output, &out))
			require.Equal(t, "Hello world", out.Text)
			require.Equal(t, "stop", out.FinishReason)
			require.Equal(t, 2, out.Turns)
			require.Equal(t, 1, out.ToolCalls)
			require.Equal(t, int64(200), res.Usage.InputTokens)
			require.Equal(t, int64(40), res.Usage.OutputTokens)
			tool.mu.Lock()
			require.Equal(t, []string{`{"city":"Paris"}`}, tool.args)
			tool.mu.Unlock()

			watch.mu.Lock()
			require.Equal(t, []string{"Hello", " world"}, watch.pieces)
			require.Equal(t, []int{1, 1}, watch.turns)
			watch.mu.Unlock()
			f.mu.Lock()
			defer f.mu.Unlock()
			require.Len(t, f.bodies, 2)
			for _, b := range f.bodies {
				require.Equal(t, true, b["stream"])
			}
			if provider == ProviderOpenAI {
				require.Equal(t, map[string]any{"include_usage": true}, f.bodies[0]["stream_options"])
			}
		})
	}
}

// TestStreamingServerThatAnswersWhole: an OpenAI-compatible server that
// ignores "stream": true and answers with the whole completion is still
// understood (many local model servers do this).
func TestStreamingServerThatAnswersWhole(t *testing.T) {
	t.Parallel()
	fakes := map[string]*fakeProvider{}
	for _, p := range []string{ProviderOpenAI, ProviderAnthropic, ProviderBedrock} {
		fakes[p] = newFake(t, p)
	}
	ex := newExecutor(fakes)
	for _, provider := range []string{ProviderOpenAI, ProviderAnthropic} {
		watch := &textWatcher{release: make(chan struct{})}
		res, err := ex.Execute(context.Background(), executor.Request{Type: executor.TypeLLM, Config: llmConfig(provider, "ok", nil),
			Input: json.RawMessage(`{"text":"x"}`), Live: watch})
		require.NoError(t, err, provider)
		var out Output
		require.NoError(t, json.Unmarshal(res.Output, &out))
		require.Equal(t, replyText, out.Text, provider)
		require.Equal(t, int64(1200), res.Usage.InputTokens, provider)
		require.Equal(t, true, fakes[provider].last(t).body["stream"], provider)
		require.Empty(t, watch.pieces, provider)
	}
	// Errors keep their meaning when streaming was asked for.
	_, err := ex.Execute(context.Background(), executor.Request{Type: executor.TypeLLM, Config: llmConfig(ProviderOpenAI, "ratelimit", nil),
		Input: json.RawMessage(`{"text":"x"}`), Live: &textWatcher{release: make(chan struct{})}})
	var se *turbocat.StepError
	require.ErrorAs(t, err, &se)
	require.Equal(t, executor.ErrLLMRateLimited, se.Name)
	require.Contains(t, se.Cause, "429")
}
