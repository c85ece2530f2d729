package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
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

// Bounds of the text a hub keeps for the watchers who come later.
const (
	maxLiveKept     = 64 << 10 // bytes per step
	maxLiveSteps    = 10000    // steps
	liveKeptTimeout = 10 * time.Minute
)

// LiveHub is the turbocat.LiveStream over Postgres NOTIFY: a step runner
// in any process publishes, and a process with watchers listens (on one
// connection, while it has watchers) and hands each piece to the
// watchers of its execution. What a process publishes reaches its own
// watchers directly. The connection is given back when the last watcher
// leaves. The hub keeps each step's text of its current turn
// (what it published or heard, bounded) so that a watcher who comes in
// mid-answer starts with the text so far.
type LiveHub struct {
	pool   *pgxpool.Pool
	logger *slog.Logger
	origin string // this hub's id: its own notifications are not heard twice

	mu        sync.Mutex
	subs      map[string]map[chan turbocat.LiveText]struct{}
	kept      map[[2]string]*keptText // (execution, step) → its current turn's text
	listening bool
	stop      context.CancelFunc
	closed    bool
}

type keptText struct {
	turn    int
	text    strings.Builder
	updated time.Time
}

// livePayload is a notification: the text and the hub that sent it.
type livePayload struct {
	turbocat.LiveText
	Origin string `json:"origin"`
}

// NewLiveHub returns a hub over pool.
func NewLiveHub(pool *pgxpool.Pool, logger *slog.Logger) *LiveHub {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	return &LiveHub{pool: pool, logger: logger, origin: hex.EncodeToString(id[:]),
		subs: map[string]map[chan turbocat.LiveText]struct{}{}, kept: map[[2]string]*keptText{}}
}

// Publish implements turbocat.LiveStream.
func (h *LiveHub) Publish(ctx context.Context, t turbocat.LiveText) error {
	h.deliver(t)
	for _, piece := range splitText(t.Text, maxLivePayload) {
		p := livePayload{LiveText: t, Origin: h.origin}
		p.Text = piece
		b, err := json.Marshal(p)
		if err != nil {
			return fmt.Errorf("encode live text: %w", err)
		}
		if _, err := h.pool.Exec(ctx, "SELECT pg_notify($1, $2)", liveChannel, string(b)); err != nil {
			return fmt.Errorf("publish live text: %w", err)
		}
	}
	return nil
}

// deliver keeps a piece and hands it to the execution's watchers.
func (h *LiveHub) deliver(t turbocat.LiveText) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.keep(t)
	for ch := range h.subs[t.ExecutionID] {
		select {
		case ch <- t:
		default: // a watcher that fell behind misses this piece
		}
	}
}

// keep adds a piece to its step's kept text (a new turn starts it over).
func (h *LiveHub) keep(t turbocat.LiveText) {
	now := time.Now()
	key := [2]string{t.ExecutionID, t.StepKey}
	k := h.kept[key]
	if k == nil {
		if len(h.kept) >= maxLiveSteps {
			for key, old := range h.kept {
				if now.Sub(old.updated) > liveKeptTimeout {
					delete(h.kept, key)
				}
			}
			if len(h.kept) >= maxLiveSteps {
				return
			}
		}
		k = &keptText{turn: t.Turn}
		h.kept[key] = k
	}
	if k.turn != t.Turn {
		k.turn = t.Turn
		k.text.Reset()
	}
	k.updated = now
	if k.text.Len()+len(t.Text) <= maxLiveKept {
		k.text.WriteString(t.Text)
	}
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
	if h.closed {
		h.mu.Unlock()
		close(ch)
		return ch, func() {}
	}
	// What is kept of the execution's running steps comes first.
	now := time.Now()
	for key, k := range h.kept {
		if key[0] == executionID && now.Sub(k.updated) < liveKeptTimeout && k.text.Len() > 0 {
			ch <- turbocat.LiveText{ExecutionID: executionID, StepKey: key[1], Turn: k.turn, Text: k.text.String(), Time: k.updated.UTC(), Snapshot: true}
			if len(ch) == cap(ch)/2 {
				break
			}
		}
	}
	if h.subs[executionID] == nil {
		h.subs[executionID] = map[chan turbocat.LiveText]struct{}{}
	}
	h.subs[executionID][ch] = struct{}{}
	start := !h.listening
	var ready chan struct{}
	if start {
		h.listening = true
		ctx, cancel := context.WithCancel(context.Background())
		h.stop = cancel
		ready = make(chan struct{})
		go h.listen(ctx, ready)
	}
	h.mu.Unlock()
	if start {
		// Wait (briefly) until LISTEN took effect, so what other
		// processes publish after Subscribe returns is not missed.
		select {
		case <-ready:
		case <-time.After(2 * time.Second):
		}
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
				// Nobody watches: give the connection back.
				h.stop()
				h.stop, h.listening = nil, false
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

// listen delivers other processes' notifications until ctx ends, listening
// again after a lost connection.
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
		var p livePayload
		if json.Unmarshal([]byte(n.Payload), &p) != nil || p.Origin == h.origin {
			continue // this hub delivered its own pieces when it published them
		}
		h.deliver(p.LiveText)
	}
}
