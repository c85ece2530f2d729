package runtime

import (
	"context"
	"fmt"
	"log/slog"
)

// Resume continues every RUNNING execution loaded from the journal, from
// its last journaled transition. Completed task results are reused, not
// re-run.
func (r *Runtime) Resume(ctx context.Context) error {
	r.mu.Lock()
	var todo []*execution
	for _, arn := range r.execOrder {
		ex, ok := r.execs[arn]
		if !ok {
			continue
		}
		if ex.loaded && ex.rec.Status == StatusRunning && !ex.resumed {
			ex.resumed = true
			todo = append(todo, ex)
		}
	}
	r.mu.Unlock()
	for _, ex := range todo {
		events, err := r.journal.LoadEvents(ctx, ex.rec.ExecutionArn)
		if err != nil {
			return fmt.Errorf("load events of %s: %w", ex.rec.ExecutionArn, err)
		}
		prog, err := r.program(ex.rec.Definition)
		if err != nil {
			return fmt.Errorf("resume %s: %w", ex.rec.ExecutionArn, err)
		}
		ex.mu.Lock()
		ex.events = events
		ex.loaded = false
		ex.mu.Unlock()
		inVal, err := decodeJSON(ex.rec.Input)
		if err != nil {
			return fmt.Errorf("resume %s: decode input: %w", ex.rec.ExecutionArn, err)
		}
		r.log.InfoContext(ctx, "resuming execution", slog.String("execution_arn", ex.rec.ExecutionArn), slog.Int("events", len(events)))
		r.launch(ex, prog, inVal, events, false)
	}
	return nil
}
