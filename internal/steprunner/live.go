package steprunner

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/turbocat/turbocat/internal/executor"
	"github.com/turbocat/turbocat/internal/secrets"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// liveFlushInterval is how often a running step's new log lines are stored
// and its new model text is published. A step that ends sooner stores its
// lines with its result, in the same statement, as before.
const liveFlushInterval = 200 * time.Millisecond

// liveStep is the executor.Live of one step run: it stores the step's log
// lines while the step runs (so the run's log stream shows them, with the
// time each was written, before the step ends) and publishes the model's
// text to the run's watchers, scrubbed of the step's secrets.
type liveStep struct {
	store       turbocat.ExecutionStore
	stream      turbocat.LiveStream // nil: text is not published
	executionID string
	stepKey     string
	scrub       *secrets.Scrubber
	logger      *slog.Logger

	mu        sync.Mutex
	pending   []executor.LogLine  // received, not stored yet
	stored    int                 // lines stored so far: the first ones of the result's logs
	turn      int                 // the turn whose text is in text (-1: none yet)
	text      strings.Builder     // that turn's text so far
	published int                 // bytes of that turn's scrubbed text queued or published
	queued    []turbocat.LiveText // text to publish at the next flush

	flushing sync.Mutex  // one flush at a time
	timer    *time.Timer // the next flush; no goroutine waits for it
	ended    bool        // under mu: end began, no more periodic flushes
}

// startLive starts the live output of a step run; end stops it. Nothing
// runs for a step that ends within liveFlushInterval but a timer.
func (r *Runner) startLive(ctx context.Context, executionID, stepKey string, scrub *secrets.Scrubber) *liveStep {
	l := &liveStep{store: r.Store, stream: r.Live, executionID: executionID, stepKey: stepKey, scrub: scrub, logger: r.logger(),
		turn: -1}
	ctx = context.WithoutCancel(ctx)
	l.timer = time.AfterFunc(liveFlushInterval, func() { l.tick(ctx) })
	return l
}

// tick is the periodic flush, re-armed until the step ends.
func (l *liveStep) tick(ctx context.Context) {
	l.flush(ctx, false)
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.ended {
		l.timer.Reset(liveFlushInterval)
	}
}

// Log implements executor.Live.
func (l *liveStep) Log(line executor.LogLine) {
	l.mu.Lock()
	l.pending = append(l.pending, line)
	l.mu.Unlock()
}

// Text implements executor.Live.
func (l *liveStep) Text(turn int, text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if turn != l.turn {
		l.queueTextLocked(true) // the rest of the previous turn
		l.turn, l.published = turn, 0
		l.text.Reset()
	}
	l.text.WriteString(text)
}

// queueTextLocked queues the current turn's text not queued yet. Unless
// all is set it holds back the last bytes that could be the start of a
// secret value (one shorter than the longest the scrubber knows), so a
// value split across pieces is scrubbed whole before any of it is sent.
func (l *liveStep) queueTextLocked(all bool) {
	if l.turn < 0 {
		return
	}
	clean := l.scrub.String(l.text.String())
	end := len(clean)
	if !all {
		end -= max(l.scrub.MaxLen()-1, 0)
	}
	for end > l.published && end < len(clean) && !utf8.RuneStart(clean[end]) {
		end--
	}
	if end <= l.published {
		return
	}
	l.queued = append(l.queued, turbocat.LiveText{ExecutionID: l.executionID, StepKey: l.stepKey, Turn: l.turn,
		Text: clean[l.published:end], Time: time.Now().UTC()})
	l.published = end
}

// flush stores the pending log lines and publishes the queued text. The
// final flush (last) publishes all the text and leaves the lines to the
// step's result.
func (l *liveStep) flush(ctx context.Context, last bool) {
	l.flushing.Lock()
	defer l.flushing.Unlock()
	l.mu.Lock()
	if l.ended && !last {
		l.mu.Unlock()
		return // a tick that fired as the step ended: end flushes
	}
	l.queueTextLocked(last)
	texts := l.queued
	l.queued = nil
	var lines []executor.LogLine
	if !last {
		lines = l.pending
	}
	l.mu.Unlock()

	if l.stream != nil {
		for _, t := range texts {
			if err := l.stream.Publish(ctx, t); err != nil {
				l.logger.Warn("publish live text", "execution_id", l.executionID, "step_key", l.stepKey, "error", err.Error())
				break // a preview: what is lost is in the step's output
			}
		}
	}
	if len(lines) == 0 {
		return
	}
	key := l.stepKey
	if err := l.store.AppendLogs(ctx, l.executionID, &key, toLogLines(lines, l.scrub)); err != nil {
		// Kept: they are stored at the next flush or with the result.
		l.logger.Warn("store live log lines", "execution_id", l.executionID, "step_key", l.stepKey, "error", err.Error())
		return
	}
	l.mu.Lock()
	l.pending = l.pending[len(lines):]
	l.stored += len(lines)
	l.mu.Unlock()
}

// end stops the live output: the rest of the text is published, and it
// returns how many of the step's first log lines are stored already (the
// result stores the others).
func (l *liveStep) end(ctx context.Context) int {
	l.mu.Lock()
	l.ended = true
	l.mu.Unlock()
	l.timer.Stop()
	l.flush(context.WithoutCancel(ctx), true)
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stored
}
