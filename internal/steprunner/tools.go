package steprunner

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/turbocat/turbocat/internal/executor"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// WorkflowTools runs workflows as the tool calls of llm agents.
type WorkflowTools interface {
	// ResolveWorkflow finds one of the user's workflows by name or id
	// (ENOTFOUND when there is none).
	ResolveWorkflow(ctx context.Context, userID, ref string) (*turbocat.Workflow, error)
	// RunWorkflowTool runs it on input as a child run of parent (nil for
	// an agent test run) keyed by key, and waits within ctx for its end.
	RunWorkflowTool(ctx context.Context, userID string, parent *turbocat.Execution, stepKey, workflow, key string, input json.RawMessage) (*turbocat.Execution, error)
}

// ErrToolWorkflowFailed: a workflow run as a tool ended without output (its
// failure goes back to the model).
const ErrToolWorkflowFailed = "Tool.WorkflowFailed"

// tools resolves the tools of an LLM agent: each names a code or api agent
// of the same user (never another user's: the lookup is scoped by userID),
// run through the same executors as a step, with the step's scrubber; a
// workflow of the same user, run as a child run of the step's run; or an
// MCP server whose session close ends.
func (r *Runner) tools(ctx context.Context, userID string, agent *turbocat.Agent, req executor.Request, step *stepOf) (out []executor.Tool, close func(), err error) {
	var cfg struct {
		Tools []executor.LLMTool `json:"tools"`
	}
	var closers []func()
	close = func() {
		for _, c := range closers {
			c()
		}
	}
	if json.Unmarshal(agent.Config, &cfg) != nil || len(cfg.Tools) == 0 {
		return nil, close, nil
	}
	if r.Agents == nil {
		return nil, close, executor.Errorf(executor.ErrInvalidConfig, false, "tools are not available on this server")
	}
	names := make([]string, 0, len(cfg.Tools))
	for _, t := range cfg.Tools {
		if t.MCP == nil && t.Workflow == "" {
			names = append(names, t.Agent)
		}
	}
	agents, err := r.Agents.AgentsByName(ctx, userID, names)
	if err != nil {
		return nil, close, fmt.Errorf("load tool agents of %s: %w", agent.ID, err)
	}
	used := map[string]bool{}
	out = make([]executor.Tool, 0, len(cfg.Tools))
	defer func() {
		if err != nil {
			close()
		}
	}()
	for _, t := range cfg.Tools {
		if t.MCP != nil {
			tools, c, err := r.mcpTools(ctx, userID, t, req.Scrubber, used)
			if err != nil {
				return nil, close, err
			}
			closers = append(closers, c)
			out = append(out, tools...)
			continue
		}
		if t.Workflow != "" {
			tool, err := r.workflowTool(ctx, userID, t.Workflow, step, used)
			if err != nil {
				return nil, close, err
			}
			out = append(out, tool)
			continue
		}
		ta, ok := agents[t.Agent]
		switch {
		case !ok:
			return nil, close, executor.Errorf(executor.ErrInvalidConfig, false, "tool agent %q does not exist (renamed or deleted?)", t.Agent)
		case ta.Type == turbocat.AgentLLM:
			return nil, close, executor.Errorf(executor.ErrInvalidConfig, false, "tool agent %q is an llm agent; tools are code or api agents", t.Agent)
		case ta.Status != turbocat.AgentActive:
			return nil, close, executor.Errorf(executor.ErrInvalidConfig, false, "tool agent %q is %s", t.Agent, ta.Status)
		}
		scrub := req.Scrubber
		out = append(out, executor.Tool{Name: toolName(ta.Name, used), Agent: ta.Name, Description: ta.Description, Parameters: ta.InputSchema,
			Run: func(ctx context.Context, args json.RawMessage, key string) (executor.Result, error) {
				var timeout time.Duration
				if d, ok := ctx.Deadline(); ok {
					timeout = time.Until(d)
				}
				return r.RunAgent(ctx, userID, ta, executor.Request{Input: args, Timeout: timeout, Scrubber: scrub, IdempotencyKey: key})
			}})
	}
	return out, close, nil
}

// workflowTool is the tool of a workflow: its name, description and
// inputSchema; a call runs it as a child run of the step's run and answers
// the run's output, or its error as the tool's failure.
func (r *Runner) workflowTool(ctx context.Context, userID, ref string, step *stepOf, used map[string]bool) (executor.Tool, error) {
	if r.WorkflowTools == nil {
		return executor.Tool{}, executor.Errorf(executor.ErrInvalidConfig, false, "workflow tools are not available on this server")
	}
	w, err := r.WorkflowTools.ResolveWorkflow(ctx, userID, ref)
	if turbocat.ErrorCodeOf(err) == turbocat.ENOTFOUND {
		return executor.Tool{}, executor.Errorf(executor.ErrInvalidConfig, false, "tool workflow %q does not exist (renamed or deleted?)", ref)
	}
	if err != nil {
		return executor.Tool{}, fmt.Errorf("load tool workflow %q: %w", ref, err)
	}
	var parent *turbocat.Execution
	stepKey := ""
	if step != nil {
		parent, stepKey = step.execution, step.key
	}
	return executor.Tool{Name: toolName(w.Name, used), Agent: w.Name, Description: w.Description, Parameters: w.InputSchema,
		Run: func(ctx context.Context, args json.RawMessage, key string) (executor.Result, error) {
			start := time.Now()
			e, err := r.WorkflowTools.RunWorkflowTool(ctx, userID, parent, stepKey, w.ID, key, args)
			if err != nil {
				if se := turbocat.AsError(err); se != nil && se.Code != turbocat.EINTERNAL && se.Code != turbocat.EUNAVAILABLE {
					// The arguments do not fit, the workflow is gone: the
					// model is told, as for any tool error.
					cause := se.Message
					for _, d := range se.Details {
						cause += "; " + d.Field + ": " + d.Message
					}
					return executor.Result{}, &turbocat.StepError{Name: "Tool.InvalidArguments", Cause: fmt.Sprintf("workflow %s: %s", w.Name, cause)}
				}
				return executor.Result{}, err
			}
			switch e.Status {
			case turbocat.ExecutionCompleted:
				return executor.Result{Output: e.OutputData, DurationMs: time.Since(start).Milliseconds()}, nil
			case turbocat.ExecutionFailed, turbocat.ExecutionCancelled, turbocat.ExecutionTimedOut:
				name, cause := decodeError(e.Error)
				return executor.Result{}, &turbocat.StepError{Name: ErrToolWorkflowFailed,
					Cause: fmt.Sprintf("workflow %s run %s %s: %s: %s", w.Name, e.ID, e.Status, name, cause)}
			}
			return executor.Result{}, &turbocat.StepError{Name: ErrToolWorkflowFailed, Retryable: true,
				Cause: fmt.Sprintf("workflow %s run %s had not ended when the call's time ran out (%s)", w.Name, e.ID, e.Status)}
		}}, nil
}

// toolName makes an agent name a valid tool name for every provider
// (letters, digits, _ and -, at most 64), unique among the agent's tools.
func toolName(name string, used map[string]bool) string {
	var b strings.Builder
	for _, c := range name {
		if c < 128 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	if len(s) > 60 {
		s = s[:60]
	}
	out := s
	for i := 2; used[out]; i++ {
		out = s + "_" + strconv.Itoa(i)
	}
	used[out] = true
	return out
}

// turnJournal records a step attempt's tool loop in the execution store.
type turnJournal struct {
	store       turbocat.ExecutionStore
	transient   func(error) bool // database errors worth waiting out (nil: none)
	patience    time.Duration    // how long they are waited out
	executionID string
	stepKey     string
	attempt     int
}

// LoadTurns implements executor.TurnJournal.
func (j *turnJournal) LoadTurns(ctx context.Context) ([]executor.Turn, error) {
	var rows []*turbocat.StepTurn
	// Like a record, the load outlasts a database that is briefly away (a
	// restart as the step starts): failing here would fail the step.
	_, err := outlast(ctx, j.transient, j.patience, func() (err error) {
		rows, err = j.store.LatestStepTurns(ctx, j.executionID, j.stepKey)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]executor.Turn, len(rows))
	for i, t := range rows {
		out[i] = executor.Turn{Turn: t.Turn, Seq: t.Seq, Attempt: t.Attempt, Kind: t.Kind, ToolCallID: t.ToolCallID, ToolName: t.ToolName,
			Input: t.Input, Output: t.Output, Error: t.Error, Model: t.Model, InputTokens: t.InputTokens, OutputTokens: t.OutputTokens,
			CostUSD: t.CostUSD, DurationMs: t.DurationMs, CreatedAt: t.CreatedAt}
	}
	return out, nil
}

// RecordTurn implements executor.TurnJournal. While the database is
// unavailable it tries again, for up to the runner's RecordPatience (a
// record written twice is kept once): a model answer given up is paid for
// again when the step is retried.
func (j *turnJournal) RecordTurn(ctx context.Context, t executor.Turn) error {
	rec := &turbocat.StepTurn{ExecutionID: j.executionID, StepKey: j.stepKey, Attempt: j.attempt,
		Turn: t.Turn, Seq: t.Seq, Kind: t.Kind, ToolCallID: t.ToolCallID, ToolName: t.ToolName, Model: t.Model,
		Input: nulSafe(t.Input), Output: nulSafe(t.Output), Error: nulSafe(t.Error),
		InputTokens: t.InputTokens, OutputTokens: t.OutputTokens, CostUSD: t.CostUSD, DurationMs: t.DurationMs}
	_, err := outlast(ctx, j.transient, j.patience, func() error { return j.store.RecordStepTurn(ctx, rec) })
	return err
}

// nulSafe keeps a document Postgres cannot store in jsonb (a NUL
// character) as text.
func nulSafe(doc json.RawMessage) json.RawMessage {
	if nulPath(doc) == "" {
		return doc
	}
	b, _ := json.Marshal(map[string]string{"text": strings.ReplaceAll(string(doc), `\u0000`, `\uFFFD`)})
	return b
}
