package executor

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"

	"github.com/turbocat/turbocat/internal/secrets"
)

// Registry maps agent types to executors and dispatches runs. It validates
// the config against the type's schema before the executor sees it.
type Registry struct {
	mu sync.RWMutex
	m  map[string]Executor
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{m: map[string]Executor{}} }

// Register sets the executor of an agent type ("code", "api", "llm").
func (r *Registry) Register(typ string, e Executor) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m[typ] = e
}

// Types lists the registered types, sorted.
func (r *Registry) Types() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.m))
	for t := range r.m {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Execute implements Executor by dispatching on req.Type. It returns
// Executor.UnknownType for an unregistered type and Executor.InvalidConfig
// when the config does not validate; any error of the executor that is not
// an *turbocat.StepError becomes Executor.Internal.
func (r *Registry) Execute(ctx context.Context, req Request) (Result, error) {
	r.mu.RLock()
	e, ok := r.m[req.Type]
	r.mu.RUnlock()
	if !ok {
		return Result{}, Errorf(ErrUnknownType, false, "no executor for agent type %q", req.Type)
	}
	if err := ValidateConfig(req.Type, req.Config); err != nil {
		return Result{}, AsError(err, "")
	}
	if req.Scrubber == nil {
		req.Scrubber = secrets.NewScrubber()
	}
	logger := req.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	res, err := e.Execute(ctx, req)
	if err != nil {
		c := *AsError(err, "")
		c.Cause = req.Scrubber.String(c.Cause)
		logger.LogAttrs(ctx, slog.LevelWarn, "agent run failed", slog.String("agent_id", req.AgentID), slog.String("agent_type", req.Type),
			slog.String("error_name", c.Name), slog.String("error_cause", c.Cause), slog.Int64("duration_ms", res.DurationMs))
		return res, &c
	}
	logger.LogAttrs(ctx, slog.LevelInfo, "agent run succeeded", slog.String("agent_id", req.AgentID), slog.String("agent_type", req.Type),
		slog.Int64("duration_ms", res.DurationMs), slog.Int("output_bytes", len(res.Output)), slog.Int("log_lines", len(res.Logs)))
	return res, nil
}

var _ Executor = (*Registry)(nil)

// String describes the registry (for logs).
func (r *Registry) String() string { return fmt.Sprintf("executor.Registry%v", r.Types()) }
