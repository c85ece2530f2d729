package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/turbocat/turbocat/internal/turbocat"
)

// liveChannel is the NOTIFY channel of runs' live text.
const liveChannel = "turbocat_live"

// maxLivePayload keeps a notification under Postgres's 8000-byte limit,
// with room for the envelope; longer text is sent in pieces.
const maxLivePayload = 6000

// LiveHub is the turbocat.LiveStream over Postgres NOTIFY: a step runner
// in any process publishes, and a process with watchers listens (on one
// connection, held only while someone watches) and hands each piece to
// the watchers of its execution.
type LiveHub struct {
	pool   *pgxpool.Pool
	logger *slog.Logger

	mu     sync.Mutex
	subs   map[string]map[chan turbocat.LiveText]struct{}
	stop   context.CancelFunc // the listener's, while it runs
	closed bool
}

// NewLiveHub returns a hub over pool.
func NewLiveHub(pool *pgxpool.Pool, logger *slog.Logger) *LiveHub {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &LiveHub{pool: pool, logger: logger, subs: map[string]map[chan turbocat.LiveText]struct{}{}}
}

// Publish implements turbocat.LiveStream.
func (h *LiveHub) Publish(ctx context.Context, t turbocat.LiveText) error {
	for _, piece := range splitText(t.Text, maxLivePayload) {
		t.Text = piece
		b, err := json.Marshal(t)
		if err != nil {
			return fmt.Errorf("encode live text: %w", err)
		}
		if _, err := h.pool.Exec(ctx, "SELECT pg_notify($1, $2)", liveChannel, string(b)); err != nil {
			return fmt.Errorf("publish live text: %w", err)
		}
	}
	return nil
}

// splitText cuts s into pieces of at most n bytes, on rune boundaries.
func splitText(s string, n int) []string {
	var out []string
	for len(s) > n {
		i := n
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		out = append(out, s[:i])
		s = s[i:]
	}
	return append(out, s)
}

// Subscribe implements turbocat.LiveStream. The channel is buffered; a
// watcher that falls behind misses pieces.
func (h *LiveHub) Subscribe(executionID string) (<-chan turbocat.LiveText, func()) {
	ch := make(chan turbocat.LiveText, 256)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(ch)
		return ch, func() {}
	}
	if h.subs[executionID] == nil {
		h.subs[executionID] = map[chan turbocat.LiveText]struct{}{}
	}
	h.subs[executionID][ch] = struct{}{}
	if h.stop == nil {
		ctx, cancel := context.WithCancel(context.Background())
		h.stop = cancel
		ready := make(chan struct{})
		go h.listen(ctx, ready)
		h.mu.Unlock()
		// Wait (briefly) until LISTEN took effect, so what is published
		// after Subscribe returns is not missed.
		select {
		case <-ready:
		case <-time.After(2 * time.Second):
		}
		h.mu.Lock()
	}
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			delete(h.subs[executionID], ch)
			if len(h.subs[executionID]) == 0 {
				delete(h.subs, executionID)
			}
			if len(h.subs) == 0 && h.stop != nil {
				h.stop()
				h.stop = nil
			}
		})
	}
}

// Close stops the listener; later subscriptions get a closed channel.
func (h *LiveHub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	if h.stop != nil {
		h.stop()
		h.stop = nil
	}
}

// listen delivers notifications until ctx ends, listening again after a
// lost connection.
func (h *LiveHub) listen(ctx context.Context, ready chan struct{}) {
	var once sync.Once
	signal := func() { once.Do(func() { close(ready) }) }
	defer signal()
	delay := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := h.listenOnce(ctx, signal)
		if ctx.Err() != nil {
			return
		}
		h.logger.Warn("live text notifications interrupted; listening again", "retry_in", delay.String(), "error", err.Error())
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(delay*2, 5*time.Second)
	}
}

func (h *LiveHub) listenOnce(ctx context.Context, ready func()) error {
	conn, err := h.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "LISTEN "+liveChannel); err != nil {
		return err
	}
	defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), "UNLISTEN "+liveChannel) }()
	ready()
	for {
		n, err := conn.Conn().WaitForNotification(ctx)
		if err != nil {
			return err
		}
		var t turbocat.LiveText
		if json.Unmarshal([]byte(n.Payload), &t) != nil {
			continue
		}
		h.mu.Lock()
		for ch := range h.subs[t.ExecutionID] {
			select {
			case ch <- t:
			default: // a watcher that fell behind misses this piece
			}
		}
		h.mu.Unlock()
	}
}
