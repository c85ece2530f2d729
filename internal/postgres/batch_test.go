package postgres

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestBatcherGroupsWritesThatWait: while the only slot's statement is in
// flight, later writes wait and then go together in one statement; each
// caller gets its own result, and an error reaches every caller of that
// statement.
func TestBatcherGroupsWritesThatWait(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var batches [][]int
	b := newBatcher(1, 100, func(_ context.Context, vs []int) ([]int, error) {
		mu.Lock()
		batches = append(batches, append([]int(nil), vs...))
		first := len(batches) == 1
		mu.Unlock()
		if first {
			<-release
		}
		if len(vs) > 0 && vs[0] < 0 {
			return nil, errors.New("refused")
		}
		out := make([]int, len(vs))
		for i, v := range vs {
			out[i] = v * 10
		}
		return out, nil
	})
	ctx := context.Background()
	results := make([]int, 6)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); results[0], _ = b.do(ctx, 0) }()
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(batches) == 1 })
	for i := 1; i < 6; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); results[i], _ = b.do(ctx, i) }()
	}
	waitFor(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return len(b.pending) == 5 })
	close(release)
	wg.Wait()
	if len(batches) != 2 || len(batches[1]) != 5 {
		t.Fatalf("batches = %v, want [0] then the 5 writes that waited together", batches)
	}
	for i, r := range results {
		if r != i*10 {
			t.Errorf("write %d got %d, want %d", i, r, i*10)
		}
	}
	if _, err := b.do(ctx, -1); err == nil || err.Error() != "refused" {
		t.Errorf("a failed statement's error reaches its caller, got %v", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.busy != 0 || len(b.pending) != 0 {
		t.Errorf("after the writes: %d slots busy, %d writes pending, want none", b.busy, len(b.pending))
	}
}

// TestBatcherCallerGivesUp: a caller whose context ends stops waiting, and
// the writes of the others still go.
func TestBatcherCallerGivesUp(t *testing.T) {
	release := make(chan struct{})
	b := newBatcher(1, 100, func(_ context.Context, vs []string) ([]string, error) {
		<-release
		return vs, nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := b.do(ctx, "gives up"); errc <- err }()
	waitFor(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.busy == 1 })
	other := make(chan string, 1)
	go func() { v, _ := b.do(context.Background(), "waits"); other <- v }()
	waitFor(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return len(b.pending) == 1 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("the caller that gave up got %v, want context.Canceled", err)
	}
	close(release)
	if v := <-other; v != "waits" {
		t.Fatalf("the other write got %q", v)
	}
}

// TestBatcherRefusedWriteFailsAlone: a batch the database refuses for one
// write's data is written again one by one, so only that write's caller
// gets the error.
func TestBatcherRefusedWriteFailsAlone(t *testing.T) {
	release := make(chan struct{})
	var calls int
	b := newBatcher(1, 100, func(_ context.Context, vs []string) ([]string, error) {
		calls++
		if calls == 1 {
			<-release
		}
		for _, v := range vs {
			if v == "bad" {
				return nil, &pgconn.PgError{Code: "22P05", Message: "unsupported Unicode escape sequence"}
			}
		}
		return vs, nil
	})
	ctx := context.Background()
	first := make(chan error, 1)
	go func() { _, err := b.do(ctx, "first"); first <- err }()
	waitFor(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.busy == 1 })
	type res struct {
		v   string
		err error
	}
	out := make(chan res, 3)
	for _, v := range []string{"a", "bad", "b"} {
		go func() { r, err := b.do(ctx, v); out <- res{v + "=" + r, err} }()
	}
	waitFor(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return len(b.pending) == 3 })
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for range 3 {
		r := <-out
		switch r.v {
		case "a=a", "b=b":
			if r.err != nil {
				t.Errorf("%s failed with its neighbour: %v", r.v, r.err)
			}
		case "bad=":
			if r.err == nil {
				t.Error("the refused write got no error")
			}
		default:
			t.Errorf("unexpected result %q (%v)", r.v, r.err)
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 5s")
}
