package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/turbocat"
)

// Writing events wakes the dispatchers listening for them (the NOTIFY is
// sent after the write commits, no longer inside it, by a DB told to
// notify), and what wakes them is already committed.
func TestEventsWakeListeners(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	db.NotifyEvents()
	u := newUser(t, db, "notify@example.com")

	conn, err := db.Pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	_, err = conn.Exec(ctx, "LISTEN turbocat_events")
	require.NoError(t, err)

	ev := turbocat.NewEvent(u.ID, turbocat.EventExecutionStarted, map[string]any{"executionId": "x"})
	require.NoError(t, db.AddEvents(ctx, ev))

	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = conn.Conn().WaitForNotification(wctx)
	require.NoError(t, err, "a listener is woken after events are written")

	claimed, err := db.ClaimEvents(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, claimed, 1)
	require.Equal(t, ev.ID, claimed[0].ID)
}
