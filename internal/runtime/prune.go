package runtime

import (
	"context"
	"fmt"
	"time"
)

// pruneBatch is how many executions one journal call deletes.
const pruneBatch = 500

// PruneExecutions deletes closed executions that stopped before the
// cutoff, from memory and from the journal (with their history), and
// returns how many the journal deleted. A retention job calls it (Step
// Functions keeps closed executions for 90 days). Running executions are
// never pruned.
func (r *Runtime) PruneExecutions(ctx context.Context, before time.Time) (int, error) {
	r.mu.Lock()
	kept := r.closedArns[:0:0]
	for _, arn := range r.closedArns {
		ex, ok := r.execs[arn]
		if !ok {
			continue
		}
		ex.mu.Lock()
		old := ex.rec.Status != StatusRunning && ex.rec.StopDate.Before(before)
		ex.mu.Unlock()
		if old {
			delete(r.execs, arn)
			r.closedMem -= r.closedSize[arn]
			delete(r.closedSize, arn)
			continue
		}
		kept = append(kept, arn)
	}
	r.closedArns = kept
	r.mu.Unlock()
	total := 0
	for {
		n, err := r.journal.PruneExecutions(ctx, before, pruneBatch)
		total += n
		if err != nil {
			return total, fmt.Errorf("prune journal: %w", err)
		}
		if n < pruneBatch {
			return total, nil
		}
	}
}
