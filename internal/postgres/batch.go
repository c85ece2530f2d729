package postgres

import (
	"context"
	"sync"
	"time"
)

// batcher is group commit for one kind of write: while slots statements
// of that kind are in flight, further writes wait, and the next free slot
// sends every write that waited as one statement (up to max). A write
// sent alone costs what it did before; under load, N concurrent writes
// cost one statement, one commit and one round trip instead of N. Each
// caller still returns only once the statement holding its write has
// committed, so what a write promised (durable, visible) is unchanged.
type batcher[T, R any] struct {
	slots, max int
	// write sends items as one statement and returns each item's result
	// (in order), or one error for all of them.
	write func(ctx context.Context, items []T) ([]R, error)

	mu      sync.Mutex
	busy    int
	pending []*batchItem[T, R]
}

type batchItem[T, R any] struct {
	v    T
	r    R
	err  error
	done chan struct{}
}

// batchTimeout bounds one batch's statement: the batch is not bound to any
// one caller's context (a caller that gives up leaves the others' writes
// going), so it has its own deadline.
const batchTimeout = 30 * time.Second

func newBatcher[T, R any](slots, max int, write func(context.Context, []T) ([]R, error)) *batcher[T, R] {
	return &batcher[T, R]{slots: max1(slots), max: max1(max), write: write}
}

func max1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}

// do writes v (with whatever other writes are waiting) and returns its
// result once the statement has committed. A caller whose ctx ends first
// gets ctx's error; its write may still be sent.
func (b *batcher[T, R]) do(ctx context.Context, v T) (R, error) {
	it := &batchItem[T, R]{v: v, done: make(chan struct{})}
	b.mu.Lock()
	b.pending = append(b.pending, it)
	lead := b.busy < b.slots
	if lead {
		b.busy++
	}
	b.mu.Unlock()
	if lead {
		go b.send(context.WithoutCancel(ctx))
	}
	select {
	case <-it.done:
		return it.r, it.err
	case <-ctx.Done():
		var zero R
		return zero, ctx.Err()
	}
}

// send writes the waiting items in one statement, holding a slot, then
// the items that arrived meanwhile, until none wait. It runs apart from
// the callers, so each can stop waiting when its context ends.
func (b *batcher[T, R]) send(ctx context.Context) {
	for {
		b.mu.Lock()
		n := min(len(b.pending), b.max)
		if n == 0 {
			b.busy--
			b.mu.Unlock()
			return
		}
		items := b.pending[:n:n]
		b.pending = append([]*batchItem[T, R](nil), b.pending[n:]...)
		b.mu.Unlock()

		vs := make([]T, n)
		for i, it := range items {
			vs[i] = it.v
		}
		wctx, cancel := context.WithTimeout(ctx, batchTimeout)
		rs, err := b.write(wctx, vs)
		if err != nil && n > 1 && !IsTransient(err) {
			// What the statement refused may be one write's data (a string
			// jsonb cannot hold, say): each alone, so only its own caller
			// fails.
			for i, it := range items {
				r, err := b.write(wctx, vs[i:i+1])
				it.err = err
				if err == nil && len(r) == 1 {
					it.r = r[0]
				}
				close(it.done)
			}
			cancel()
			continue
		}
		cancel()
		for i, it := range items {
			if err == nil && i < len(rs) {
				it.r = rs[i]
			}
			it.err = err
			close(it.done)
		}
	}
}
