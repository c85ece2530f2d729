package codeexec

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/executor"
)

func TestGateIsFairAndCapped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g := newGate(2, 1)
	require.NoError(t, g.acquire(ctx, "a"))

	// a is at its cap: its next run waits even though a slot is free,
	// and b's run takes that slot at once.
	aWaits := make(chan error, 1)
	go func() { aWaits <- g.acquire(ctx, "a") }()
	require.NoError(t, g.acquire(ctx, "b"))
	select {
	case <-aWaits:
		t.Fatal("a got a second slot past its cap")
	case <-time.After(50 * time.Millisecond):
	}

	// Round robin: with a, b and c waiting, freed slots go to the owners
	// in turn, not to whoever queued most.
	g2 := newGate(1, 1)
	require.NoError(t, g2.acquire(ctx, "x"))
	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	enqueue := func(owner string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			require.NoError(t, g2.acquire(ctx, owner))
			mu.Lock()
			order = append(order, owner)
			mu.Unlock()
			g2.release(owner)
		}()
		time.Sleep(10 * time.Millisecond) // queue in this order
	}
	for _, o := range []string{"a", "a", "a", "b", "c"} {
		enqueue(o)
	}
	g2.release("x")
	wg.Wait()
	require.Equal(t, []string{"a", "b", "c", "a", "a"}, order)

	// A waiter that gives up leaves no trace.
	g3 := newGate(1, 1)
	require.NoError(t, g3.acquire(ctx, "x"))
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, g3.acquire(cctx, "y"), context.DeadlineExceeded)
	g3.release("x")
	require.NoError(t, g3.acquire(ctx, "z"), "the slot is free for the next owner")
}

// TestOneUserCannotStarveAnother: one user's four scripts that loop until
// their time limit do not hold every worker: another user's trivial run
// finishes at once.
func TestOneUserCannotStarveAnother(t *testing.T) {
	t.Parallel()
	ex, err := New(Options{Workers: 2, MemoryLimitBytes: 128 << 20})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ex.Close() })
	require.NoError(t, ex.Warm(context.Background(), 2))
	loop := codeConfig(`function main() { while (true) {} }`, 1.5)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = ex.Execute(context.Background(), executor.Request{UserID: "hog", Type: executor.TypeCode, Config: loop})
		}()
	}
	time.Sleep(200 * time.Millisecond) // the hog's runs hold what they may
	start := time.Now()
	res, err := ex.Execute(context.Background(), executor.Request{UserID: "other", Type: executor.TypeCode,
		Config: codeConfig(`function main(i) { return {ok: true}; }`, 0), Input: json.RawMessage(`{}`)})
	waited := time.Since(start)
	require.NoError(t, err)
	require.JSONEq(t, `{"ok":true}`, string(res.Output))
	require.Less(t, waited, time.Second, "the other user's run waited behind the hog's loops")
	wg.Wait()
}
