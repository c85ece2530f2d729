package llmexec

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/executor"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// toolFake is a real HTTP server speaking one provider's tool-call wire
// format. Turn 0 asks for the calls of its scenario (several at once);
// a later turn answers with the tool results it was sent, or (scenario
// "loop") asks for a tool again, for ever.
type toolFake struct {
	provider string
	srv      *httptest.Server
	calls    [][]fakeCall // per scenario: what turn 0 asks for
	mu       sync.Mutex
	bodies   []map[string]any
}

type fakeCall struct {
	id, name string
	args     string // raw arguments (OpenAI may send non-JSON)
}

// fakeResult is a tool result as the fake read it from a request.
type fakeResult struct {
	ID      string
	Content string
	IsError bool
}

func newToolFake(t *testing.T, provider string, calls []fakeCall) *toolFake {
	t.Helper()
	f := &toolFake{provider: provider, calls: [][]fakeCall{calls}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(raw, &body)
		f.mu.Lock()
		f.bodies = append(f.bodies, body)
		f.mu.Unlock()
		model, _ := body["model"].(string)
		if provider == ProviderBedrock {
			model = strings.Split(r.URL.Path, "/")[2]
		}
		results := readResults(provider, body)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case model == "loop":
			writeToolCalls(w, provider, []fakeCall{{id: fmt.Sprintf("again_%d", len(results)), name: "lookup", args: `{"city":"Oslo"}`}})
		case len(results) == 0:
			writeToolCalls(w, provider, calls)
		default:
			b, _ := json.Marshal(results)
			writeOK(w, provider, model, "final: "+string(b), "stop")
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *toolFake) requests() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.bodies...)
}

// readResults reads the tool results of the last message(s) of a request.
func readResults(provider string, body map[string]any) []fakeResult {
	var out []fakeResult
	msgs, _ := body["messages"].([]any)
	for _, m := range msgs {
		mm, _ := m.(map[string]any)
		switch provider {
		case ProviderOpenAI:
			if mm["role"] == "tool" {
				content, _ := mm["content"].(string)
				id, _ := mm["tool_call_id"].(string)
				out = append(out, fakeResult{ID: id, Content: content, IsError: strings.Contains(content, `"error"`)})
			}
		case ProviderAnthropic:
			blocks, _ := mm["content"].([]any)
			for _, b := range blocks {
				bb, _ := b.(map[string]any)
				if bb["type"] != "tool_result" {
					continue
				}
				id, _ := bb["tool_use_id"].(string)
				isErr, _ := bb["is_error"].(bool)
				out = append(out, fakeResult{ID: id, Content: textOf(bb["content"]), IsError: isErr})
			}
		case ProviderBedrock:
			blocks, _ := mm["content"].([]any)
			for _, b := range blocks {
				bb, _ := b.(map[string]any)
				tr, ok := bb["toolResult"].(map[string]any)
				if !ok {
					continue
				}
				id, _ := tr["toolUseId"].(string)
				out = append(out, fakeResult{ID: id, Content: textOf(tr["content"]), IsError: tr["status"] == "error"})
			}
		}
	}
	return out
}

func textOf(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case []any:
		var sb strings.Builder
		for _, e := range t {
			if m, ok := e.(map[string]any); ok {
				s, _ := m["text"].(string)
				sb.WriteString(s)
			}
		}
		return sb.String()
	}
	return ""
}

func writeToolCalls(w http.ResponseWriter, provider string, calls []fakeCall) {
	var v any
	switch provider {
	case ProviderOpenAI:
		var tcs []any
		for _, c := range calls {
			tcs = append(tcs, map[string]any{"id": c.id, "type": "function", "function": map[string]any{"name": c.name, "arguments": c.args}})
		}
		v = map[string]any{"id": "chatcmpl-2", "object": "chat.completion", "created": 1, "model": "ok-2024",
			"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": nil, "tool_calls": tcs}, "finish_reason": "tool_calls"}},
			"usage":   map[string]any{"prompt_tokens": 1200, "completion_tokens": 300, "total_tokens": 1500}}
	case ProviderAnthropic:
		content := []any{map[string]any{"type": "text", "text": "Let me look."}}
		for _, c := range calls {
			var in any
			_ = json.Unmarshal([]byte(c.args), &in)
			content = append(content, map[string]any{"type": "tool_use", "id": c.id, "name": c.name, "input": in})
		}
		v = map[string]any{"id": "msg_2", "type": "message", "role": "assistant", "model": "ok-2024", "content": content,
			"stop_reason": "tool_use", "stop_sequence": nil, "usage": map[string]any{"input_tokens": 1200, "output_tokens": 300}}
	case ProviderBedrock:
		var content []any
		for _, c := range calls {
			var in any
			_ = json.Unmarshal([]byte(c.args), &in)
			content = append(content, map[string]any{"toolUse": map[string]any{"toolUseId": c.id, "name": c.name, "input": in}})
		}
		v = map[string]any{"output": map[string]any{"message": map[string]any{"role": "assistant", "content": content}},
			"stopReason": "tool_use", "usage": map[string]any{"inputTokens": 1200, "outputTokens": 300, "totalTokens": 1500}, "metrics": map[string]any{"latencyMs": 1}}
	}
	_ = json.NewEncoder(w).Encode(v)
}

// lookupTool is a tool whose calls wait for each other (so a test sees
// they run in parallel) and that fails for the city "Nowhere".
type lookupTool struct {
	mu      sync.Mutex
	args    []string
	keys    []string
	started chan struct{}
	want    int
}

func (l *lookupTool) tool() executor.Tool {
	return executor.Tool{Name: "lookup", Agent: "lookup", Description: "Weather of a city.",
		Parameters: json.RawMessage(`{"type":"object","required":["city"],"properties":{"city":{"type":"string"}},"additionalProperties":false}`),
		Run: func(ctx context.Context, args json.RawMessage, key string) (executor.Result, error) {
			l.mu.Lock()
			l.args = append(l.args, string(args))
			l.keys = append(l.keys, key)
			l.mu.Unlock()
			l.started <- struct{}{}
			// Parallel: every call of the turn has started before any ends.
			deadline := time.After(5 * time.Second)
			for {
				l.mu.Lock()
				n := len(l.args)
				l.mu.Unlock()
				if n >= l.want {
					break
				}
				select {
				case <-deadline:
					return executor.Result{}, fmt.Errorf("the other tool calls never started: not parallel")
				case <-time.After(5 * time.Millisecond):
				}
			}
			var in struct{ City string }
			_ = json.Unmarshal(args, &in)
			if in.City == "Nowhere" {
				return executor.Result{}, &turbocat.StepError{Name: executor.ErrAPIHTTP4xx, Cause: "HTTP 404: no such city"}
			}
			return executor.Result{Output: json.RawMessage(`{"city":"` + in.City + `","tempC":21}`)}, nil
		}}
}

func toolConfig(provider, model string, extra map[string]any) json.RawMessage {
	m := map[string]any{"provider": provider, "model": model, "prompt": "Weather in {{input.cities}}?", "timeoutSeconds": 10,
		"tools": []any{map[string]any{"agent": "lookup"}}}
	for k, v := range extra {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	return b
}

func toolExecutor(f *toolFake) *Executor {
	opts := Options{Prices: map[string]Price{"ok": {InputPerMTok: 1, OutputPerMTok: 2}}}
	fakes := map[string]*fakeProvider{}
	for _, p := range []string{ProviderOpenAI, ProviderAnthropic, ProviderBedrock} {
		fakes[p] = &fakeProvider{srv: f.srv}
	}
	ex := newExecutor(fakes)
	ex.opts.Prices = opts.Prices
	ex.prices["ok"] = opts.Prices["ok"]
	return ex
}

// TestToolLoop runs the loop against each provider's wire format: the
// model asks for three calls at once (one for a city the tool fails on,
// one with arguments that do not match the tool's schema); the two valid
// ones run in parallel, every result (the failure and the bad arguments
// as errors) goes back, and the model's second turn is the answer.
func TestToolLoop(t *testing.T) {
	t.Parallel()
	for _, provider := range []string{ProviderOpenAI, ProviderAnthropic, ProviderBedrock} {
		t.Run(provider, func(t *testing.T) {
			t.Parallel()
			calls := []fakeCall{
				{id: "call_paris", name: "lookup", args: `{"city":"Paris"}`},
				{id: "call_nowhere", name: "lookup", args: `{"city":"Nowhere"}`},
				{id: "call_bad", name: "lookup", args: `{"town":"Rome"}`},
			}
			f := newToolFake(t, provider, calls)
			tool := &lookupTool{started: make(chan struct{}, 10), want: 2}
			ex := toolExecutor(f)
			res, err := ex.Execute(context.Background(), executor.Request{Type: executor.TypeLLM, Config: toolConfig(provider, "ok", nil),
				Input: json.RawMessage(`{"cities":"Paris"}`), Tools: []executor.Tool{tool.tool()}, IdempotencyKey: "exec-1:ask"})
			require.NoError(t, err)
			var out Output
			require.NoError(t, json.Unmarshal(res.Output, &out))
			require.Equal(t, 2, out.Turns)
			require.Equal(t, 3, out.ToolCalls)
			require.Equal(t, OutputUsage{2400, 600}, out.Usage, "usage is the sum of both turns")
			require.InDelta(t, 2*(1200*1.0+300*2.0)/1e6, res.Usage.CostUSD, 1e-12)

			// The tool ran for the two calls with valid arguments, in parallel.
			require.ElementsMatch(t, []string{`{"city":"Paris"}`, `{"city":"Nowhere"}`}, tool.args)
			require.ElementsMatch(t, []string{"exec-1:ask:turn0:call_paris", "exec-1:ask:turn0:call_nowhere"}, tool.keys)

			// What the model got back in its second turn.
			reqs := f.requests()
			require.Len(t, reqs, 2)
			results := readResults(provider, reqs[1])
			require.Len(t, results, 3)
			byID := map[string]fakeResult{}
			for _, r := range results {
				byID[r.ID] = r
			}
			require.False(t, byID["call_paris"].IsError)
			require.JSONEq(t, `{"city":"Paris","tempC":21}`, byID["call_paris"].Content)
			require.True(t, byID["call_nowhere"].IsError)
			require.Contains(t, byID["call_nowhere"].Content, "Api.Http4xx")
			require.Contains(t, byID["call_nowhere"].Content, "no such city")
			require.True(t, byID["call_bad"].IsError)
			require.Contains(t, byID["call_bad"].Content, "Tool.InvalidArguments")
			require.Contains(t, out.Text, "call_paris")

			// The tool is declared with its schema, in the provider's format.
			first := mustJSON(reqs[0])
			require.Contains(t, first, `"lookup"`)
			require.Contains(t, first, `"city"`)
			require.Contains(t, first, "Weather of a city.")
			switch provider {
			case ProviderOpenAI:
				require.Equal(t, "auto", reqs[0]["tool_choice"])
				msgs := reqs[1]["messages"].([]any)
				asst := msgs[1].(map[string]any)
				require.Equal(t, "assistant", asst["role"])
				require.Len(t, asst["tool_calls"], 3, "the assistant's calls go back before their results")
			case ProviderAnthropic:
				require.Equal(t, "auto", reqs[0]["tool_choice"].(map[string]any)["type"])
				msgs := reqs[1]["messages"].([]any)
				require.Len(t, msgs, 3, "prompt, assistant tool_use, one user message with every tool_result")
			case ProviderBedrock:
				require.Contains(t, first, `"toolConfig"`)
				msgs := reqs[1]["messages"].([]any)
				require.Len(t, msgs, 3)
				require.Contains(t, mustJSON(msgs[1]), `"toolUse"`)
			}
		})
	}
}

// TestToolLoopMalformedArguments: OpenAI sends arguments as a string,
// which may not be JSON; that goes back to the model as an error.
func TestToolLoopMalformedArguments(t *testing.T) {
	t.Parallel()
	f := newToolFake(t, ProviderOpenAI, []fakeCall{{id: "call_1", name: "lookup", args: `{"city": "Par`}, {id: "call_2", name: "nope", args: `{}`}})
	tool := &lookupTool{started: make(chan struct{}, 10)}
	res, err := toolExecutor(f).Execute(context.Background(), executor.Request{Type: executor.TypeLLM, Config: toolConfig(ProviderOpenAI, "ok", nil),
		Input: json.RawMessage(`{"cities":"Paris"}`), Tools: []executor.Tool{tool.tool()}})
	require.NoError(t, err)
	require.Empty(t, tool.args, "the tool never ran with bad arguments")
	results := readResults(ProviderOpenAI, f.requests()[1])
	require.Len(t, results, 2)
	require.Contains(t, results[0].Content, "not valid JSON")
	require.Contains(t, results[1].Content, `there is no tool named \"nope\"`)
	require.Contains(t, string(res.Output), "final")
}

// TestToolLoopMaxTurns: a model that never stops asking for tools fails
// the step with Llm.MaxTurns after maxTurns model calls.
func TestToolLoopMaxTurns(t *testing.T) {
	t.Parallel()
	for _, provider := range []string{ProviderOpenAI, ProviderAnthropic, ProviderBedrock} {
		f := newToolFake(t, provider, nil)
		tool := &lookupTool{started: make(chan struct{}, 10)}
		_, err := toolExecutor(f).Execute(context.Background(), executor.Request{Type: executor.TypeLLM, Config: toolConfig(provider, "loop", map[string]any{"maxTurns": 3}),
			Input: json.RawMessage(`{"cities":"Oslo"}`), Tools: []executor.Tool{tool.tool()}})
		var se *turbocat.StepError
		require.ErrorAs(t, err, &se, provider)
		require.Equal(t, executor.ErrLLMMaxTurns, se.Name)
		require.Contains(t, se.Cause, "maxTurns 3")
		require.Len(t, f.requests(), 3, provider)
		require.Len(t, tool.args, 3)
	}
}

// TestToolLoopBudgetBeforeEveryTurn: the budget is checked before each
// model turn with what the earlier turns spent; the turn that could pass
// it is never made.
func TestToolLoopBudgetBeforeEveryTurn(t *testing.T) {
	t.Parallel()
	f := newToolFake(t, ProviderOpenAI, []fakeCall{{id: "c1", name: "lookup", args: `{"city":"Paris"}`}})
	tool := &lookupTool{started: make(chan struct{}, 10), want: 1}
	// Turn 0 may cost up to ~$0.002 (1000 output tokens at $2/M) and
	// costs $0.0018; turn 1 could then pass $0.003.
	_, err := toolExecutor(f).Execute(context.Background(), executor.Request{Type: executor.TypeLLM, Config: toolConfig(ProviderOpenAI, "ok", map[string]any{"maxTokens": 1000}),
		Input: json.RawMessage(`{"cities":"Paris"}`), Tools: []executor.Tool{tool.tool()},
		Budgets: []executor.Budget{{Name: "the run's maxCostUsd", Limit: 0.003}}})
	var se *turbocat.StepError
	require.ErrorAs(t, err, &se)
	require.Equal(t, executor.ErrBudgetExceeded, se.Name)
	require.Contains(t, se.Cause, "the run's maxCostUsd")
	require.Contains(t, se.Cause, "$0.001800 of $0.003000 spent")
	require.Len(t, f.requests(), 1, "the second turn was not made")
	require.Len(t, tool.args, 1)
}

// TestToolChoice: required and a named tool force the first turn only.
func TestToolChoice(t *testing.T) {
	t.Parallel()
	f := newToolFake(t, ProviderOpenAI, []fakeCall{{id: "c1", name: "lookup", args: `{"city":"Paris"}`}})
	tool := &lookupTool{started: make(chan struct{}, 10), want: 1}
	_, err := toolExecutor(f).Execute(context.Background(), executor.Request{Type: executor.TypeLLM,
		Config: toolConfig(ProviderOpenAI, "ok", map[string]any{"toolChoice": map[string]any{"name": "lookup"}}),
		Input:  json.RawMessage(`{"cities":"Paris"}`), Tools: []executor.Tool{tool.tool()}})
	require.NoError(t, err)
	reqs := f.requests()
	require.Equal(t, map[string]any{"type": "function", "function": map[string]any{"name": "lookup"}}, reqs[0]["tool_choice"])
	require.Equal(t, "auto", reqs[1]["tool_choice"])

	for _, provider := range []string{ProviderAnthropic, ProviderBedrock} {
		f := newToolFake(t, provider, []fakeCall{{id: "c1", name: "lookup", args: `{"city":"Paris"}`}})
		_, err := toolExecutor(f).Execute(context.Background(), executor.Request{Type: executor.TypeLLM,
			Config: toolConfig(provider, "ok", map[string]any{"toolChoice": "required"}),
			Input:  json.RawMessage(`{"cities":"Paris"}`), Tools: []executor.Tool{(&lookupTool{started: make(chan struct{}, 10), want: 1}).tool()}})
		require.NoError(t, err, provider)
		first := mustJSON(f.requests()[0])
		if provider == ProviderAnthropic {
			require.Contains(t, first, `"tool_choice":{"type":"any"}`)
		} else {
			require.Contains(t, first, `"toolChoice":{"any":{}}`)
		}
	}
}

// memJournal is an in-memory TurnJournal (the Postgres one is tested in
// the steprunner).
type memJournal struct {
	mu    sync.Mutex
	turns []executor.Turn
	// failAfter, when > 0, cancels the run once that many records exist.
	failAfter int
	cancel    context.CancelFunc
}

func (j *memJournal) LoadTurns(context.Context) ([]executor.Turn, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]executor.Turn(nil), j.turns...), nil
}

func (j *memJournal) RecordTurn(_ context.Context, t executor.Turn) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.turns = append(j.turns, t)
	if j.failAfter > 0 && len(j.turns) >= j.failAfter && j.cancel != nil {
		j.cancel()
	}
	return nil
}

// TestToolLoopResumes: a run interrupted after its first model turn was
// recorded resumes there: the model is not called again for that turn.
func TestToolLoopResumes(t *testing.T) {
	t.Parallel()
	f := newToolFake(t, ProviderAnthropic, []fakeCall{{id: "c1", name: "lookup", args: `{"city":"Paris"}`}})
	tool := &lookupTool{started: make(chan struct{}, 10), want: 1}
	ctx, cancel := context.WithCancel(context.Background())
	j := &memJournal{failAfter: 1, cancel: cancel}
	ex := toolExecutor(f)
	req := executor.Request{Type: executor.TypeLLM, Config: toolConfig(ProviderAnthropic, "ok", nil), Input: json.RawMessage(`{"cities":"Paris"}`),
		Tools: []executor.Tool{tool.tool()}, Turns: j}
	_, err := ex.Execute(ctx, req)
	require.Error(t, err)
	require.Len(t, f.requests(), 1)
	require.Len(t, j.turns, 1, "only the model turn was recorded; the interrupted tool call was not")

	j.failAfter = 0
	res, err := ex.Execute(context.Background(), req)
	require.NoError(t, err)
	require.Len(t, f.requests(), 2, "turn 0 was replayed from the record, only turn 1 was made")
	require.Len(t, j.turns, 3)
	var out Output
	require.NoError(t, json.Unmarshal(res.Output, &out))
	require.Equal(t, OutputUsage{2400, 600}, out.Usage, "the replayed turn's usage still counts")

	// A third run finds every turn recorded and calls nothing.
	_, err = ex.Execute(context.Background(), req)
	require.NoError(t, err)
	require.Len(t, f.requests(), 2)
}

// TestToolLoopRetryReasksARejectedAnswer: a final answer that failed
// responseSchema is recorded with its error; the step's retry replays the
// tool turn but asks the model for the answer again.
func TestToolLoopRetryReasksARejectedAnswer(t *testing.T) {
	t.Parallel()
	f := newToolFake(t, ProviderOpenAI, []fakeCall{{id: "c1", name: "lookup", args: `{"city":"Paris"}`}})
	tool := &lookupTool{started: make(chan struct{}, 10), want: 1}
	j := &memJournal{}
	req := executor.Request{Type: executor.TypeLLM, Input: json.RawMessage(`{"cities":"Paris"}`), Tools: []executor.Tool{tool.tool()}, Turns: j,
		Config: toolConfig(ProviderOpenAI, "ok", map[string]any{"responseSchema": map[string]any{"type": "object", "required": []string{"label"}}})}
	for attempt := 1; attempt <= 2; attempt++ {
		_, err := toolExecutor(f).Execute(context.Background(), req)
		var se *turbocat.StepError
		require.ErrorAs(t, err, &se)
		require.Equal(t, executor.ErrLLMInvalidOutput, se.Name)
	}
	require.Len(t, f.requests(), 3, "turn 0 once, the answer twice")
	require.Len(t, tool.args, 1, "the tool ran once")
	var finals int
	for _, tr := range j.turns {
		if tr.Turn == 1 {
			finals++
			require.Contains(t, string(tr.Error), "Llm.InvalidOutput")
		}
	}
	require.Equal(t, 2, finals)
}
