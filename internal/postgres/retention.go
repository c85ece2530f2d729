package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/turbocat/turbocat/internal/postgres/dbsqlc"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// pruneBatch bounds one DELETE of the retention job, so that pruning a
// large backlog never holds long locks or a long transaction.
const pruneBatch = 10000

// Prune implements turbocat.Pruner.
func (db *DB) Prune(ctx context.Context, before, signaturesBefore time.Time) (turbocat.Pruned, error) {
	var p turbocat.Pruned
	for {
		n, err := db.q.LogsPrune(ctx, dbsqlc.LogsPruneParams{Before: before, MaxRows: pruneBatch})
		if err != nil {
			return p, fmt.Errorf("prune logs: %w", err)
		}
		p.Logs += n
		if n < pruneBatch {
			break
		}
	}
	for {
		n, err := db.q.StepTurnsPrune(ctx, dbsqlc.StepTurnsPruneParams{Before: before, MaxRows: pruneBatch})
		if err != nil {
			return p, fmt.Errorf("prune turns: %w", err)
		}
		p.Turns += n
		if n < pruneBatch {
			break
		}
	}
	var err error
	if p.Deliveries, err = db.q.DeliveriesPrune(ctx, before); err != nil {
		return p, fmt.Errorf("prune deliveries: %w", err)
	}
	if p.Signatures, err = db.q.WebhookSignaturesPrune(ctx, signaturesBefore); err != nil {
		return p, fmt.Errorf("prune webhook signatures: %w", err)
	}
	return p, nil
}
