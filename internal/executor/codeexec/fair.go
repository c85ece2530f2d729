package codeexec

import (
	"context"
	"sync"
)

// gate hands out the pool's worker slots fairly between owners (users): at
// most slots at once, at most perOwner to one owner, and waiting owners are
// served round robin (first come, first served within an owner). One user's
// burst of long scripts therefore never holds every worker, and another
// user's run takes the next free slot rather than queueing behind the burst.
type gate struct {
	mu       sync.Mutex
	free     int
	perOwner int
	running  map[string]int
	queues   map[string][]chan struct{}
	ring     []string // owners with waiters, in round-robin order
	next     int
}

func newGate(slots, perOwner int) *gate {
	if perOwner <= 0 || perOwner > slots {
		perOwner = slots
	}
	return &gate{free: slots, perOwner: perOwner, running: map[string]int{}, queues: map[string][]chan struct{}{}}
}

// acquire waits for a slot for owner.
func (g *gate) acquire(ctx context.Context, owner string) error {
	ch := make(chan struct{})
	g.mu.Lock()
	if len(g.queues[owner]) == 0 {
		g.ring = append(g.ring, owner)
	}
	g.queues[owner] = append(g.queues[owner], ch)
	g.dispatch()
	g.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-ch: // granted meanwhile: give it back
		g.releaseLocked(owner)
	default:
		g.dropLocked(owner, ch)
	}
	return ctx.Err()
}

// release returns owner's slot.
func (g *gate) release(owner string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.releaseLocked(owner)
}

func (g *gate) releaseLocked(owner string) {
	g.running[owner]--
	if g.running[owner] == 0 {
		delete(g.running, owner)
	}
	g.free++
	g.dispatch()
}

// dispatch grants free slots to waiters, round robin over owners under
// their cap.
func (g *gate) dispatch() {
	for g.free > 0 && len(g.ring) > 0 {
		granted := false
		for range len(g.ring) {
			if g.next >= len(g.ring) {
				g.next = 0
			}
			owner := g.ring[g.next]
			if g.running[owner] >= g.perOwner {
				g.next++
				continue
			}
			q := g.queues[owner]
			close(q[0])
			g.running[owner]++
			g.free--
			granted = true
			if len(q) == 1 {
				delete(g.queues, owner)
				g.ring = append(g.ring[:g.next], g.ring[g.next+1:]...)
			} else {
				g.queues[owner] = q[1:]
				g.next++
			}
			break
		}
		if !granted {
			return // every waiting owner is at its cap
		}
	}
}

// dropLocked removes a waiter that gave up.
func (g *gate) dropLocked(owner string, ch chan struct{}) {
	q := g.queues[owner]
	for i, c := range q {
		if c == ch {
			q = append(q[:i], q[i+1:]...)
			break
		}
	}
	if len(q) > 0 {
		g.queues[owner] = q
		return
	}
	delete(g.queues, owner)
	for i, o := range g.ring {
		if o == owner {
			g.ring = append(g.ring[:i], g.ring[i+1:]...)
			if g.next > i {
				g.next--
			}
			break
		}
	}
}
