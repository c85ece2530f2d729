package executor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/turbocat/turbocat/internal/secrets"
	"github.com/turbocat/turbocat/internal/tmpl"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// Default bounds of a run's logs.
const (
	DefaultMaxLogLines    = 200
	DefaultMaxLogLineSize = 4 << 10
	DefaultMaxLogBytes    = 64 << 10
)

// RunOptions tunes Begin.
type RunOptions struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxLogLines, MaxLogLineSize and MaxLogBytes bound the captured logs;
	// zero means the defaults above.
	MaxLogLines, MaxLogLineSize, MaxLogBytes int
	// MaxOutputBytes bounds the output; zero means no bound here.
	MaxOutputBytes int
	// TimeoutName is the error name a context deadline maps to.
	TimeoutName string
}

// Run is the state shared by every executor for one run: rendering with the
// run's input and secrets, log capture, scrubbing and the final Result.
type Run struct {
	req      Request
	opts     RunOptions
	scrubber *secrets.Scrubber
	logger   *slog.Logger
	start    time.Time

	mu        sync.Mutex
	logs      []LogLine
	logBytes  int
	dropped   int
	truncated int
}

// Begin starts a run of req. Executors call it first and return r.Finish(...).
func Begin(req Request, opts RunOptions) *Run {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxLogLines <= 0 {
		opts.MaxLogLines = DefaultMaxLogLines
	}
	if opts.MaxLogLineSize <= 0 {
		opts.MaxLogLineSize = DefaultMaxLogLineSize
	}
	if opts.MaxLogBytes <= 0 {
		opts.MaxLogBytes = DefaultMaxLogBytes
	}
	sc := req.Scrubber
	if sc == nil {
		sc = secrets.NewScrubber()
	}
	lg := req.Logger
	if lg == nil {
		lg = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Run{req: req, opts: opts, scrubber: sc, logger: lg, start: opts.Now()}
}

// IdempotencyKey returns the step attempt's idempotency key ("" for test
// runs).
func (r *Run) IdempotencyKey() string { return r.req.IdempotencyKey }

// Scrubber returns the run's scrubber (every secret resolved so far).
func (r *Run) Scrubber() *secrets.Scrubber { return r.scrubber }

// Logger returns the operational logger (never log secret values to it
// without r.Scrubber().String).
func (r *Run) Logger() *slog.Logger { return r.logger }

// Request returns the run's request.
func (r *Run) Request() Request { return r.req }

// Secret resolves a secret and registers its value with the scrubber.
func (r *Run) Secret(ctx context.Context, name string) (string, error) {
	if r.req.Secrets == nil {
		return "", Errorf(ErrInvalidConfig, false, "secret %q is not available: no secrets are configured", name)
	}
	v, err := r.req.Secrets.ResolveSecret(ctx, name)
	if err != nil {
		return "", &turbocat.StepError{Name: ErrInvalidConfig, Cause: fmt.Sprintf("secret %q: %v", name, err)}
	}
	r.scrubber.Add(v)
	return v, nil
}

func (r *Run) tmplContext() tmpl.Context {
	input := r.req.Input
	if len(input) == 0 {
		input = json.RawMessage("null")
	}
	return tmpl.Context{
		Values:  map[string]any{"input": input},
		Secrets: r.Secret,
	}
}

// Render renders the templates of a config value ({{input.x}},
// {{secrets.NAME}}). A failure is an Executor.InvalidConfig *turbocat.StepError; a
// secret resolver failure keeps its name.
func (r *Run) Render(ctx context.Context, value json.RawMessage) (json.RawMessage, error) {
	out, err := tmpl.RenderContext(ctx, value, r.tmplContext())
	if err != nil {
		return nil, r.renderError(err)
	}
	return out, nil
}

// RenderString renders a template string as text.
func (r *Run) RenderString(ctx context.Context, s string) (string, error) {
	out, err := tmpl.RenderString(ctx, s, r.tmplContext())
	if err != nil {
		return "", r.renderError(err)
	}
	return out, nil
}

func (r *Run) renderError(err error) error {
	var e *turbocat.StepError
	if errors.As(err, &e) {
		return e
	}
	return &turbocat.StepError{Name: ErrInvalidConfig, Cause: "template: " + err.Error()}
}

// Log appends a log line (bounded: lines beyond the count or byte budget are
// counted and reported in a final line; long messages are truncated).
func (r *Run) Log(level, msg string, data json.RawMessage) {
	r.LogAt(r.opts.Now(), level, msg, data)
}

// LogAt is Log for a line written at t (by a sandbox, before it reached
// the host).
func (r *Run) LogAt(t time.Time, level, msg string, data json.RawMessage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.logs) >= r.opts.MaxLogLines || r.logBytes >= r.opts.MaxLogBytes {
		r.dropped++
		return
	}
	if len(msg) > r.opts.MaxLogLineSize {
		msg = truncateUTF8(msg, r.opts.MaxLogLineSize) + "…[truncated]"
		r.truncated++
	}
	if len(data) > r.opts.MaxLogLineSize {
		data = nil
		r.truncated++
	}
	r.logBytes += len(msg) + len(data)
	line := LogLine{Time: t.UTC(), Level: level, Message: msg, Data: data}
	r.logs = append(r.logs, line)
	if r.req.Live != nil {
		r.req.Live.Log(line) // under the lock: in the order of r.logs
	}
}

// Text passes a piece of generated text of the given model turn to the
// run's live watcher, if any.
func (r *Run) Text(turn int, text string) {
	if r.req.Live != nil && text != "" {
		r.req.Live.Text(turn, text)
	}
}

// Streaming reports whether someone watches the run live (an LLM agent
// then streams the model's answer).
func (r *Run) Streaming() bool { return r.req.Live != nil }

// Logf appends a formatted log line.
func (r *Run) Logf(level, format string, args ...any) {
	r.Log(level, fmt.Sprintf(format, args...), nil)
}

// AddDropped records n log lines dropped elsewhere (e.g. by the sandbox).
func (r *Run) AddDropped(n int) {
	r.mu.Lock()
	r.dropped += n
	r.mu.Unlock()
}

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// Finish builds the Result: it checks the output's size and validity, scrubs
// the resolved secret values from output, logs and error cause, and maps err
// to an *turbocat.StepError (context deadline → the type's timeout name).
func (r *Run) Finish(ctx context.Context, output json.RawMessage, err error) (Result, error) {
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err == nil {
		if len(output) == 0 {
			output = json.RawMessage("null")
		}
		if r.opts.MaxOutputBytes > 0 && len(output) > r.opts.MaxOutputBytes {
			err = Errorf(ErrOutputTooLarge, false, "output is %d bytes, the limit is %d", len(output), r.opts.MaxOutputBytes)
		} else if !json.Valid(output) {
			err = Errorf(ErrInternal, false, "executor produced invalid JSON output")
		}
	}
	res := Result{}
	r.mu.Lock()
	logs := r.logs
	if r.dropped > 0 {
		logs = append(logs, LogLine{Time: r.opts.Now().UTC(), Level: LevelWarn, Message: fmt.Sprintf("%d log lines dropped (limit %d lines, %d bytes)", r.dropped, r.opts.MaxLogLines, r.opts.MaxLogBytes)})
	}
	r.mu.Unlock()
	res.Logs = make([]LogLine, len(logs))
	for i, l := range logs {
		l.Message = r.scrubber.String(l.Message)
		if len(l.Data) > 0 {
			l.Data = r.scrubber.JSON(l.Data)
		}
		res.Logs[i] = l
	}
	res.DurationMs = r.opts.Now().Sub(r.start).Milliseconds()
	if err != nil {
		e := AsError(err, r.opts.TimeoutName)
		clean := *e
		clean.Cause = r.scrubber.String(clean.Cause)
		return res, &clean
	}
	res.Output = r.scrubber.JSON(output)
	return res, nil
}

// Timeout returns the effective timeout of a run: the agent's configured
// seconds (or def when unset), never more than the step's timeout.
func Timeout(step time.Duration, configSeconds float64, def time.Duration) time.Duration {
	d := def
	if configSeconds > 0 {
		d = time.Duration(configSeconds * float64(time.Second))
	}
	if step > 0 && step < d {
		d = step
	}
	return d
}
