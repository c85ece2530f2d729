package steprunner

import (
	"context"
	"fmt"
	"time"

	"github.com/turbocat/turbocat/internal/executor"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// Error names of a replay's steps.
const (
	// ErrReplayNoRecording: a replay reached an api or llm step that its
	// source run did not complete (a new step, or one that failed or never
	// ran there), so there is no recorded response to take.
	ErrReplayNoRecording = "Replay.NoRecording"
	// ErrReplayUnsupported: a replay reached a step it cannot run without
	// side effects (a sub-workflow step would start a real run).
	ErrReplayUnsupported = "Replay.Unsupported"
)

// runOrReplay runs a step's agent, or, in a replay (an execution with
// ReplayOf), takes the source run's recorded output for the same step key
// instead of running an api or llm agent: no HTTP request, no model call,
// no usage. Code agents run for real (sandboxed, without network), so a
// change to their code shows in the replay's outputs.
func (r *Runner) runOrReplay(ctx context.Context, e *turbocat.Execution, agent *turbocat.Agent, key string, req executor.Request) (executor.Result, error) {
	if !e.IsReplay() || agent.Type == turbocat.AgentCode {
		return r.runAgent(ctx, e.UserID, agent, req, &stepOf{execution: e, key: key})
	}
	if e.ReplayOf == nil {
		return executor.Result{}, &turbocat.StepError{Name: ErrReplayNoRecording, Cause: fmt.Sprintf(
			"step %s has no recorded response to replay: the run this replay replays has been deleted", key)}
	}
	source := *e.ReplayOf
	rec, err := r.stepRecord(ctx, source, key)
	if err != nil && turbocat.ErrorCodeOf(err) != turbocat.ENOTFOUND {
		return executor.Result{}, fmt.Errorf("recorded step %s of execution %s: %w", key, source, err)
	}
	if rec == nil || rec.Status != turbocat.StepCompleted {
		why := "did not run"
		if rec != nil {
			why = "ended " + rec.Status
		}
		return executor.Result{}, &turbocat.StepError{Name: ErrReplayNoRecording, Cause: fmt.Sprintf(
			"step %s has no recorded response to replay: it %s in execution %s; a replay never calls %s agents, so it can only replay steps that completed in the run it replays",
			key, why, source, agent.Type)}
	}
	return executor.Result{Output: rec.Output, Logs: []executor.LogLine{{Time: time.Now(), Level: executor.LevelInfo,
		Message: fmt.Sprintf("replay: step %s (%s agent %q) took its recorded output from execution %s; nothing was called", key, agent.Type, agent.Name, source)}}}, nil
}
