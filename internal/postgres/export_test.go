package postgres

import (
	"context"

	"github.com/turbocat/turbocat/internal/turbocat"
)

// FinishStepsTogether records results in one statement, as the group
// commit of concurrent FinishStep calls sends them.
func (db *DB) FinishStepsTogether(ctx context.Context, steps []turbocat.ClaimedStep, rs []turbocat.StepResult) ([]bool, error) {
	batch := make([]stepResult, len(steps))
	for i := range steps {
		batch[i] = stepResult{step: steps[i], r: rs[i]}
	}
	return db.recordResults(ctx, batch)
}
