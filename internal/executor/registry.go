package executor

import (
	"context"
	"fmt"
	"sort"
	"sync"
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
// an *Error becomes Executor.Internal.
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
	res, err := e.Execute(ctx, req)
	if err != nil {
		ee := AsError(err, "")
		if req.Scrubber != nil {
			c := *ee
			c.Cause = req.Scrubber.String(c.Cause)
			ee = &c
		}
		return res, ee
	}
	return res, nil
}

var _ Executor = (*Registry)(nil)

// String describes the registry (for logs).
func (r *Registry) String() string { return fmt.Sprintf("executor.Registry%v", r.Types()) }
