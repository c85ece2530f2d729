package llmexec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/turbocat/turbocat/internal/executor"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// MaxToolResultBytes bounds what one tool call gives back to the model; a
// larger output goes back as an error naming the size.
const MaxToolResultBytes = 64 << 10

// spent is what a tool loop's earlier turns used, for the budget check of
// the next one.
type spent struct {
	tokens  int64
	costUSD float64
}

// loopTotal is the usage of a whole tool loop.
type loopTotal struct {
	inputTokens, outputTokens int64
	costUSD                   float64
	priced                    bool
	turns, toolCalls          int
}

// recordedOutput is what a model turn's record holds as its output: enough
// to replay the turn without calling the model again.
type recordedOutput struct {
	Text         string     `json:"text"`
	ToolCalls    []toolCall `json:"toolCalls,omitempty"`
	FinishReason string     `json:"finishReason"`
	Model        string     `json:"model"`
}

// loop runs a tool loop: a model turn; if the model asks for tools, every
// call runs (in parallel) and the results go back in the next turn, until
// the model answers without tools or maxTurns turns were made
// (Llm.MaxTurns). A tool's failure, an unknown tool and arguments that are
// not JSON or do not match the tool's schema go back to the model as an
// error result; the run goes on.
//
// With a journal (req.Turns) every model turn and tool call is recorded as
// it ends, and what an earlier invocation of the step recorded is replayed
// instead of made again: a retry or a restart resumes at the first
// unrecorded turn, and no recorded model call is paid twice. A final answer
// that failed validation (responseSchema, content filter) is recorded with
// its error and asked again by the next attempt.
func (e *Executor) loop(ctx context.Context, run *executor.Run, cfg *executor.LLMConfig, c *call) (executor.Result, error) {
	req := run.Request()
	if len(cfg.Tools) > 0 && req.Tools == nil {
		return run.Finish(ctx, nil, executor.Errorf(executor.ErrInvalidConfig, false, "the agent's %d tools were not resolved", len(cfg.Tools)))
	}
	var err error
	if c.choice, err = executor.ParseToolChoice(cfg.ToolChoice); err != nil {
		return run.Finish(ctx, nil, executor.Errorf(executor.ErrInvalidConfig, false, "toolChoice: %v", err))
	}
	c.tools = req.Tools
	byName := map[string]*executor.Tool{}
	schemas := map[string]*jsonschema.Schema{}
	for i := range c.tools {
		t := &c.tools[i]
		byName[t.Name] = t
		if c.choice.Mode == "tool" && c.choice.Name == t.Agent {
			c.choice.Name = t.Name
		}
		if len(t.Parameters) > 0 {
			s, err := executor.CompileSchema(t.Parameters)
			if err != nil {
				return run.Finish(ctx, nil, executor.Errorf(executor.ErrInvalidConfig, false, "tool %s: inputSchema: %v", t.Agent, err))
			}
			schemas[t.Name] = s
		}
	}
	maxTurns := cfg.MaxTurns
	if maxTurns <= 0 {
		maxTurns = executor.DefaultMaxTurns
	}
	recorded := map[[2]int]executor.Turn{}
	if req.Turns != nil {
		turns, err := req.Turns.LoadTurns(ctx)
		if err != nil {
			run.Logger().Error("load recorded turns", "error", err.Error())
			return run.Finish(ctx, nil, executor.Errorf(executor.ErrInternal, true, "the step's recorded turns could not be loaded; it is retried"))
		}
		for _, t := range turns {
			recorded[[2]int{t.Turn, t.Seq}] = t
		}
	}
	record := func(t executor.Turn) error {
		if req.Turns == nil {
			return nil
		}
		t.Input, t.Output, t.Error = scrubJSON(run, t.Input), scrubJSON(run, t.Output), scrubJSON(run, t.Error)
		if err := req.Turns.RecordTurn(context.WithoutCancel(ctx), t); err != nil {
			run.Logger().Error("record turn", "turn", t.Turn, "seq", t.Seq, "error", err.Error())
			return executor.Errorf(executor.ErrInternal, true, "turn %d could not be recorded; the step is retried and resumes there", t.Turn)
		}
		return nil
	}
	baseKey := c.idempotencyKey
	slice := req.Slice
	if slice != nil && req.Turns == nil {
		return run.Finish(ctx, nil, executor.Errorf(executor.ErrInternal, false, "a slice of a tool loop needs the step's turn records"))
	}
	if slice != nil && slice.Tool {
		return e.sliceTool(ctx, run, slice, recorded, byName, schemas, baseKey, record)
	}
	var total loopTotal
	newMessages := append([]message(nil), c.messages...)
	for turn := 0; ; turn++ {
		if turn >= maxTurns {
			return run.Finish(ctx, nil, executor.Errorf(executor.ErrLLMMaxTurns, false,
				"the model still asked for tools after %d turns (maxTurns %d); raise maxTurns or make the task smaller", turn, maxTurns))
		}
		if turn > 0 {
			if c.choice.Mode == "required" || c.choice.Mode == "tool" {
				c.choice = executor.ToolChoice{Mode: "auto"}
			}
			if baseKey != "" {
				c.idempotencyKey = baseKey + ":turn" + strconv.Itoa(turn)
			}
		}
		// The model turn: replayed when recorded, else checked against
		// the budgets and made.
		var rep *reply
		var turnCost float64
		if rec, ok := recorded[[2]int{turn, 0}]; ok && len(rec.Error) == 0 {
			var ro recordedOutput
			if err := json.Unmarshal(rec.Output, &ro); err != nil {
				return run.Finish(ctx, nil, executor.Errorf(executor.ErrInternal, false, "recorded turn %d is unreadable", turn))
			}
			rep = &reply{text: ro.Text, calls: ro.ToolCalls, finishReason: ro.FinishReason, model: ro.Model, inputTokens: rec.InputTokens, outputTokens: rec.OutputTokens}
			turnCost = rec.CostUSD
			if _, ok := e.price(rep.model); ok {
				total.priced = true
			}
			if slice == nil { // a slice replays every earlier turn by design
				run.Logf(executor.LevelInfo, "turn %d: the recorded model reply is reused (not called again)", turn)
			}
		} else {
			if berr := e.checkBudgets(c, req.Budgets, spent{tokens: total.inputTokens + total.outputTokens, costUSD: total.costUSD}); berr != nil {
				run.Logf(executor.LevelError, "turn %d: %s %s not called: %s", turn, cfg.Provider, c.model, berr.Cause)
				return run.Finish(ctx, nil, berr)
			}
			start := time.Now()
			var err error
			c.turn = turn
			rep, err = e.send(ctx, cfg.Provider, c)
			if err != nil {
				run.Logf(executor.LevelError, "turn %d: %s %s failed", turn, cfg.Provider, c.model)
				return run.Finish(ctx, nil, err)
			}
			if p, ok := e.price(rep.model); ok {
				turnCost = (float64(rep.inputTokens)*p.InputPerMTok + float64(rep.outputTokens)*p.OutputPerMTok) / 1e6
				total.priced = true
			}
			run.Logf(executor.LevelInfo, "turn %d: %s %s: %d input, %d output tokens, %d tool calls, finish %s", turn, cfg.Provider, rep.model,
				rep.inputTokens, rep.outputTokens, len(rep.calls), rep.finishReason)
			rec := executor.Turn{Turn: turn, Kind: executor.TurnModel, Model: rep.model, InputTokens: rep.inputTokens, OutputTokens: rep.outputTokens,
				CostUSD: turnCost, DurationMs: time.Since(start).Milliseconds(), Input: turnInput(c, newMessages, turn),
				Output: mustMarshal(recordedOutput{Text: rep.text, ToolCalls: rep.calls, FinishReason: rep.finishReason, Model: rep.model})}
			if len(rep.calls) == 0 {
				// The final answer: recorded once validated, so an answer
				// that failed is asked again on retry.
				total.add(rep, turnCost)
				out, usage, verr := e.output(c, rep, &total)
				if verr != nil {
					rec.Error = errorJSON(verr)
				}
				if err := record(rec); err != nil {
					return run.Finish(ctx, nil, err)
				}
				res, ferr := run.Finish(ctx, out, verr)
				res.Usage = usage
				return res, ferr
			}
			if err := record(rec); err != nil {
				return run.Finish(ctx, nil, err)
			}
		}
		total.add(rep, turnCost)
		if len(rep.calls) == 0 {
			out, usage, verr := e.output(c, rep, &total)
			res, ferr := run.Finish(ctx, out, verr)
			res.Usage = usage
			return res, ferr
		}
		if slice != nil {
			// A slice stops at the first turn whose calls are not all
			// recorded: each runs as its own slice, then the next turn.
			var pending []int
			for i := range rep.calls {
				if _, ok := recorded[[2]int{turn, i + 1}]; !ok {
					pending = append(pending, i)
				}
			}
			if len(pending) > 0 {
				res, err := run.Finish(ctx, nil, nil)
				res.Wanted = &executor.ToolsWanted{Turn: turn, Calls: pending}
				return res, err
			}
		}
		// The tool calls, in parallel; each result recorded as it ends.
		results := make([]toolResult, len(rep.calls))
		errs := make([]error, len(rep.calls))
		var wg sync.WaitGroup
		for i, tc := range rep.calls {
			if rec, ok := recorded[[2]int{turn, i + 1}]; ok {
				results[i] = toolResult{CallID: tc.ID, Name: tc.Name, Content: toolContent(rec.Output, rec.Error), IsError: len(rec.Error) > 0}
				if slice == nil {
					run.Logf(executor.LevelInfo, "turn %d: tool %s: the recorded result is reused (not run again)", turn, tc.Name)
				}
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], errs[i] = e.callTool(ctx, run, turn, i, tc, byName, schemas, baseKey, record)
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return run.Finish(ctx, nil, err)
		}
		total.toolCalls += len(rep.calls)
		assistant := message{Role: "assistant", Content: rep.text, Calls: rep.calls}
		user := message{Role: "user", Results: results}
		c.messages = append(c.messages, assistant, user)
		newMessages = []message{user}
	}
}

// sliceTool runs the slice of one tool call of a recorded model turn and
// records it; a call recorded before is not run again.
func (e *Executor) sliceTool(ctx context.Context, run *executor.Run, s *executor.LoopSlice, recorded map[[2]int]executor.Turn,
	byName map[string]*executor.Tool, schemas map[string]*jsonschema.Schema, baseKey string, record func(executor.Turn) error) (executor.Result, error) {
	rec, ok := recorded[[2]int{s.Turn, 0}]
	if !ok || len(rec.Error) > 0 {
		return run.Finish(ctx, nil, executor.Errorf(executor.ErrInternal, false, "model turn %d is not recorded, so its tool calls cannot run", s.Turn))
	}
	var ro recordedOutput
	if err := json.Unmarshal(rec.Output, &ro); err != nil {
		return run.Finish(ctx, nil, executor.Errorf(executor.ErrInternal, false, "recorded turn %d is unreadable", s.Turn))
	}
	if s.Index < 0 || s.Index >= len(ro.ToolCalls) {
		return run.Finish(ctx, nil, executor.Errorf(executor.ErrInternal, false, "model turn %d asked for %d tool calls; there is no call %d", s.Turn, len(ro.ToolCalls), s.Index))
	}
	tc := ro.ToolCalls[s.Index]
	if _, done := recorded[[2]int{s.Turn, s.Index + 1}]; done {
		run.Logf(executor.LevelInfo, "turn %d: tool %s: the recorded result stands (not run again)", s.Turn, tc.Name)
		return run.Finish(ctx, nil, nil)
	}
	_, err := e.callTool(ctx, run, s.Turn, s.Index, tc, byName, schemas, baseKey, record)
	return run.Finish(ctx, nil, err)
}

func (t *loopTotal) add(rep *reply, cost float64) {
	t.inputTokens += rep.inputTokens
	t.outputTokens += rep.outputTokens
	t.costUSD += cost
	t.turns++
}

// callTool runs one tool call and records it. Its error is only what must
// stop the loop (the run was cancelled, the record failed); the tool's own
// failure is a result for the model.
func (e *Executor) callTool(ctx context.Context, run *executor.Run, turn, i int, tc toolCall, byName map[string]*executor.Tool,
	schemas map[string]*jsonschema.Schema, baseKey string, record func(executor.Turn) error) (toolResult, error) {
	start := time.Now()
	res := toolResult{CallID: tc.ID, Name: tc.Name}
	rec := executor.Turn{Turn: turn, Seq: i + 1, Kind: executor.TurnTool, ToolCallID: tc.ID, ToolName: tc.Name}
	var args json.RawMessage
	if json.Valid([]byte(tc.Arguments)) {
		args = json.RawMessage(tc.Arguments)
	} else {
		args = mustMarshal(tc.Arguments)
	}
	rec.Input = args
	var output json.RawMessage
	var failure *turbocat.StepError
	t, ok := byName[tc.Name]
	switch {
	case !ok:
		failure = &turbocat.StepError{Name: "Tool.Unknown", Cause: fmt.Sprintf("there is no tool named %q", tc.Name)}
	case !json.Valid([]byte(tc.Arguments)):
		failure = &turbocat.StepError{Name: "Tool.InvalidArguments", Cause: "the arguments are not valid JSON; send a JSON object matching the tool's parameters"}
	default:
		if s := schemas[t.Name]; s != nil {
			v, _ := jsonschema.UnmarshalJSON(bytes.NewReader(args))
			if err := s.Validate(v); err != nil {
				failure = &turbocat.StepError{Name: "Tool.InvalidArguments", Cause: fmt.Sprintf("the arguments do not match the tool's parameters: %v", err)}
			}
		}
		if failure == nil {
			key := ""
			if baseKey != "" {
				key = fmt.Sprintf("%s:turn%d:%s", baseKey, turn, tc.ID)
			}
			r, err := t.Run(ctx, args, key)
			if ctx.Err() != nil {
				// Interrupted, not failed: not recorded, run again on resume.
				return res, ctx.Err()
			}
			if err != nil {
				failure = executor.AsError(err, "")
			} else {
				output = r.Output
				if len(output) > MaxToolResultBytes {
					failure = &turbocat.StepError{Name: executor.ErrOutputTooLarge, Cause: fmt.Sprintf("the tool's output is %d bytes; at most %d go back to the model", len(output), MaxToolResultBytes)}
					output = nil
				}
			}
		}
	}
	rec.DurationMs = time.Since(start).Milliseconds()
	if failure != nil {
		rec.Error = errorJSON(failure)
		run.Logf(executor.LevelWarn, "turn %d: tool %s failed (%s): %s", turn, tc.Name, failure.Name, failure.Cause)
	} else {
		rec.Output = output
		run.Logf(executor.LevelInfo, "turn %d: tool %s returned %d bytes in %d ms", turn, tc.Name, len(output), rec.DurationMs)
	}
	if err := record(rec); err != nil {
		return res, err
	}
	res.Content, res.IsError = toolContent(scrubJSON(run, rec.Output), scrubJSON(run, rec.Error)), failure != nil
	return res, nil
}

// toolContent is the text a tool result gives the model: the tool's output
// JSON, or its error as {"error", "cause"}, compact, so a result read back
// from its record (Postgres spaces jsonb) reads as it did when it was made.
func toolContent(output, errJSON json.RawMessage) string {
	doc := output
	if len(errJSON) > 0 {
		doc = errJSON
	}
	if len(doc) == 0 {
		return "null"
	}
	var b bytes.Buffer
	if json.Compact(&b, doc) != nil {
		return string(doc)
	}
	return b.String()
}

func errorJSON(err error) json.RawMessage {
	se := executor.AsError(err, "")
	return mustMarshal(map[string]string{"error": se.Name, "cause": se.Cause})
}

// turnInput is what a model turn's record holds as its input: the
// messages new in this turn (the prompt for the first, the tool results
// after), not the whole conversation again.
func turnInput(c *call, msgs []message, turn int) json.RawMessage {
	in := map[string]any{"messages": msgs, "toolChoice": c.choice.Mode}
	if turn == 0 && c.system != "" {
		in["system"] = c.system
	}
	if c.choice.Name != "" {
		in["toolName"] = c.choice.Name
	}
	return mustMarshal(in)
}

func scrubJSON(run *executor.Run, v json.RawMessage) json.RawMessage {
	if len(v) == 0 {
		return v
	}
	return run.Scrubber().JSON(v)
}

func mustMarshal(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage("null")
	}
	return b
}
