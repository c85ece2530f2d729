package steprunner

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/turbocat/turbocat/internal/dag"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// Chained claims: where the engine runs this process's steps (turbocat
// dev: Runner.Chain) and a step is followed directly by one other step,
// the step's result and the claim of the step after it are one round trip
// (FinishStepThenStart). The next step's invocation then starts from that
// claim instead of claiming it: a step in a chain costs two statements
// less than its claim and its result.
//
// The claim is a real one (a lease, renewed once the step runs), so a
// duplicate invocation of the next step waits on it as on any other; a
// claim nobody takes (the run was cancelled before the engine got there)
// lapses with its lease, and the run's end cancels its step.

// chains holds the claims taken for the next invocations, by execution
// and step key.
type chains struct {
	mu    sync.Mutex
	claim map[string]chainedClaim
}

type chainedClaim struct {
	started *turbocat.StartedStep
	at      time.Time
}

// put keeps a claim for the invocation of executionID's step key; claims
// older than maxAge (their lease has passed: nobody came for them) go.
func (c *chains) put(executionID, key string, started *turbocat.StartedStep, maxAge time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if c.claim == nil {
		c.claim = map[string]chainedClaim{}
	}
	if len(c.claim) >= 1024 {
		for k, v := range c.claim {
			if now.Sub(v.at) > maxAge {
				delete(c.claim, k)
			}
		}
	}
	c.claim[executionID+"/"+key] = chainedClaim{started: started, at: now}
}

// take returns, and forgets, the claim kept for executionID's step key
// (the key "" marks a run whose end was recorded with its last step's
// result: started is nil, ok true).
func (c *chains) take(executionID, key string) (started *turbocat.StartedStep, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := executionID + "/" + key
	v, ok := c.claim[k]
	if ok {
		delete(c.claim, k)
	}
	return v.started, ok
}

// following returns the step the engine runs right after step, when it
// claims nothing in between: step's only dependent, which depends on step
// alone, is a plain agent step (no condition, no forEach), and the
// workflow is series-parallel (its compiled machine runs the two back to
// back in one branch). nil otherwise, and always without Chain.
func (r *Runner) following(w *turbocat.Workflow, step *turbocat.WorkflowStep) *turbocat.WorkflowStep {
	if !r.Chain {
		return nil
	}
	var next *turbocat.WorkflowStep
	for i := range w.Steps {
		if slices.Contains(w.Steps[i].DependsOn, step.Key) {
			if next != nil {
				return nil
			}
			next = &w.Steps[i]
		}
	}
	if next == nil || len(next.DependsOn) != 1 || next.StepType() != turbocat.StepTypeAgent || next.When != "" || next.ForEach != "" {
		return nil
	}
	if !r.shapeOf(w).seriesParallel {
		return nil
	}
	return next
}

// shape is what chaining needs to know of a workflow version's DAG.
type shape struct {
	seriesParallel bool
	sinks          []string
}

// shapeOf works out w's shape once per workflow version (w is the
// runner's cached, immutable copy); whether it is series-parallel only
// where steps chain (Chain).
func (r *Runner) shapeOf(w *turbocat.Workflow) *shape {
	if v, ok := r.shapes.Load(w); ok {
		return v.(*shape)
	}
	sh := &shape{sinks: sinkKeys(w)}
	if r.Chain {
		nodes := make([]dag.Node, len(w.Steps))
		for i, s := range w.Steps {
			nodes[i] = dag.Node{Key: s.Key, DependsOn: s.DependsOn}
		}
		g, err := dag.New(nodes, dag.Options{})
		sh.seriesParallel = err == nil && g.IsSeriesParallel()
	}
	r.shapes.Store(w, sh)
	return sh
}

// ends reports whether step's success ends its run with the run's default
// output (no output mapping): it is the workflow's only sink, every other
// step its ancestor (series-parallel), so the machine's next state is the
// run's end. Always false without Chain.
func (r *Runner) ends(w *turbocat.Workflow, step *turbocat.WorkflowStep) bool {
	if !r.Chain || len(w.Output) > 0 {
		return false
	}
	sh := r.shapeOf(w)
	return len(sh.sinks) == 1 && sh.sinks[0] == step.Key && sh.seriesParallel
}

// finishStepThen records a step's successful result and, when a step
// follows it directly (following), claims that step in the same round
// trip for its coming invocation; when the step ends its run (ends), it
// records the run's end in the same round trip instead, and the run's
// Finalize invocation has nothing left to do.
func (r *Runner) finishStepThen(ctx context.Context, w *turbocat.Workflow, step *turbocat.WorkflowStep, held turbocat.ClaimedStep, res turbocat.StepResult) (bool, error) {
	next := r.following(w, step)
	if next == nil && r.ends(w, step) {
		meta, err := r.executionMeta(ctx, held.ExecutionID)
		if err != nil {
			return false, err
		}
		end := success(held.ExecutionID, meta, r.shapeOf(w).sinks)
		var ended bool
		ok, err := r.recordResult(ctx, held, func() (ok bool, err error) {
			ok, ended, err = r.Store.FinishStepThenEnd(ctx, held, res, end)
			return ok, err
		})
		if ok && ended {
			r.chained.put(held.ExecutionID, "", nil, r.lease())
			r.ranToEnd(held.ExecutionID)
		}
		return ok, err
	}
	if next == nil {
		return r.finishStep(ctx, held, res)
	}
	var started *turbocat.StartedStep
	ok, err := r.recordResult(ctx, held, func() (ok bool, err error) {
		ok, started, err = r.Store.FinishStepThenStart(ctx, held, res, turbocat.StepStart{ExecutionID: held.ExecutionID, StepKey: next.Key,
			AgentID: next.AgentID, Lease: r.lease(), WithOutputs: needsStepOutputs(next)})
		return ok, err
	})
	if ok && started != nil {
		r.chained.put(held.ExecutionID, next.Key, started, r.lease())
	}
	return ok, err
}
