package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/postgres"
	"github.com/turbocat/turbocat/internal/postgres/pgtest"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// TestLiveHub: a watcher who comes in mid-answer starts with the step's
// text so far (a snapshot), then gets the pieces after it; a watcher in
// another process (another hub on the same database) gets the pieces
// through NOTIFY; each piece reaches each watcher once; other executions'
// text never does.
func TestLiveHub(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	ctx := context.Background()
	runner := postgres.NewLiveHub(pool, nil) // the process running the step
	other := postgres.NewLiveHub(pool, nil)  // another process serving the stream
	t.Cleanup(runner.Close)
	t.Cleanup(other.Close)
	piece := func(exec string, turn int, text string) turbocat.LiveText {
		return turbocat.LiveText{ExecutionID: exec, StepKey: "ask", Turn: turn, Text: text, Time: time.Now()}
	}
	next := func(ch <-chan turbocat.LiveText) turbocat.LiveText {
		t.Helper()
		select {
		case got := <-ch:
			return got
		case <-time.After(5 * time.Second):
			t.Fatal("no live text arrived")
			return turbocat.LiveText{}
		}
	}

	require.NoError(t, runner.Publish(ctx, piece("e1", 0, "Thinking")))
	require.NoError(t, runner.Publish(ctx, piece("e1", 1, "Hel")))
	require.NoError(t, runner.Publish(ctx, piece("e1", 1, "lo")))
	here, stopHere := runner.Subscribe("e1")
	defer stopHere()
	there, stopThere := other.Subscribe("e1")
	defer stopThere()

	snap := next(here)
	require.True(t, snap.Snapshot)
	require.Equal(t, 1, snap.Turn)
	require.Equal(t, "Hello", snap.Text, "the current turn's text so far")

	require.NoError(t, runner.Publish(ctx, piece("e2", 0, "someone else's")))
	require.NoError(t, runner.Publish(ctx, piece("e1", 1, " world")))
	require.Equal(t, " world", next(here).Text)
	got := next(there)
	require.False(t, got.Snapshot)
	require.Equal(t, " world", got.Text)

	// Long text crosses NOTIFY's payload limit in pieces, whole.
	long := strings.Repeat("é", 5000)
	require.NoError(t, runner.Publish(ctx, piece("e1", 1, long)))
	require.Equal(t, long, next(here).Text)
	var heard strings.Builder
	for heard.Len() < len(long) {
		heard.WriteString(next(there).Text)
	}
	require.Equal(t, long, heard.String())
	select {
	case extra := <-here:
		t.Fatalf("a piece arrived twice: %+v", extra)
	case extra := <-there:
		t.Fatalf("a piece arrived twice: %+v", extra)
	case <-time.After(300 * time.Millisecond):
	}
}
