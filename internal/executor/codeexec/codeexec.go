// Package codeexec is the executor of code agents (type "code"): JavaScript
// run by the embedded goja interpreter. The agent's source defines
// main(input, ctx) and returns a JSON-serialisable value (a returned Promise
// is awaited); console.log/info/warn/error/debug become execution logs.
//
// # Design: a pool of worker processes
//
// goja has no heap limit, and one native call ('x'.repeat(2**30), new
// Array(1e9)) can allocate a gigabyte at once, so a memory limit cannot be
// enforced inside the process that runs other steps. Scripts therefore run
// in worker processes, each serving one run at a time over a length-prefixed
// JSON protocol on stdin/stdout. The worker is the SAME binary: the host
// re-executes os.Executable() with TURBOCAT_CODE_WORKER=1, and
// [MaybeRunWorker], called first in main (and TestMain), serves and exits.
// No second artefact to build or ship, and it works in AWS Lambda, where
// there are no cgroups: the limits are per-process ones any unprivileged
// process may set on itself.
//
// In the source, {{secrets.NAME}} is replaced by the secret as a JavaScript
// string literal at run time; nothing else is templated.
//
// Inside a worker every run gets a fresh goja runtime (nothing leaks between
// runs or users: prototype pollution dies with the runtime); compiled
// programs are cached by source hash. The worker's environment is empty but
// for its own variables (no host secrets to find), and the runtime has no
// require, no filesystem, no network, no timers and no process object.
//
// Limits, each with its step error:
//   - wall time (default 10 s, never more than the step timeout): a timer
//     calls Runtime.Interrupt, which JavaScript cannot catch →
//     Code.Timeout; the host kills a worker that does not answer within
//     the limit plus a grace period. The backtracking regexp engine
//     (lookahead, backreferences) ignores interrupts, so each match is
//     bounded by regexp2's match timeout set to the run's limit.
//   - call-stack depth (default 2,000 frames) → Code.StackOverflow; the
//     worker's Go stack is capped at 64 MiB as a second line.
//   - memory (default 256 MiB): a watchdog samples the Go heap every 5 ms
//     and interrupts the script above the budget → Code.MemoryLimit; a
//     single allocation too big for the watchdog to see hits the OS limit
//     (RLIMIT_AS, set by the worker on itself to its current address space
//     plus twice the budget plus 256 MiB of runtime headroom), the worker
//     dies with "out of memory", the host reports Code.MemoryLimit and
//     replaces it. The host process is never at risk.
//   - output ≤ 1 MiB → Executor.OutputTooLarge; console lines bounded in
//     count (200), line size (4 KiB) and total (64 KiB), the excess counted.
//
// Cost: one process per pool slot (about 15 MiB resident each when idle),
// started lazily (~10-40 ms, paid once per slot), plus per run a pipe round
// trip and a fresh runtime: ~0.1-0.3 ms warm (see BenchmarkWarmRun). A run
// that kills its worker (memory, hung past the grace period, cancellation)
// pays a restart on the next run. Limits: RLIMIT_AS limits address space,
// not resident memory, so the budget is approximate; the heap watchdog is
// sampled, so allocation faster than 5 ms per budget is caught by the OS
// limit instead; a worker serves one run at a time, so concurrency is the
// pool size (default GOMAXPROCS, at least 2).
package codeexec

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/turbocat/turbocat/internal/executor"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// Defaults of code agents.
const (
	DefaultTimeout       = 10 * time.Second
	DefaultMemoryLimit   = 256 << 20
	DefaultMaxStackDepth = 2000
	MaxOutputBytes       = 1 << 20
	killGrace            = 2 * time.Second
	startTimeout         = 15 * time.Second
	stderrTailBytes      = 16 << 10
)

// Options configures the executor.
type Options struct {
	// Workers is the pool size (concurrent runs); 0 means max(GOMAXPROCS, 2).
	Workers int
	// PerUser caps the workers one user's runs hold at once; 0 means
	// Workers-1 (at least 1), so one user never holds every worker.
	// Waiting runs are served round robin between users.
	PerUser int
	// MemoryLimitBytes is each worker's memory budget; 0 means 256 MiB.
	MemoryLimitBytes int64
	// MaxStackDepth bounds the JavaScript call stack; 0 means 2,000.
	MaxStackDepth int
	// DefaultTimeout applies when neither the config nor the step sets
	// one; 0 means 10 s.
	DefaultTimeout time.Duration
	// Command is the worker command line; empty means os.Executable()
	// with no arguments (the binary must call MaybeRunWorker).
	Command []string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives worker lifecycle events (start, crash, kill); nil
	// discards them.
	Logger *slog.Logger
}

// Executor runs code agents in a pool of worker processes. It is safe for
// concurrent use. Close it to stop the workers.
type Executor struct {
	opts Options
	gate *gate

	mu      sync.Mutex
	idle    []*worker
	all     map[*worker]struct{}
	closed  bool
	started int
}

// New returns a code executor. Workers start on first use.
func New(opts Options) (*Executor, error) {
	if opts.Workers <= 0 {
		opts.Workers = max(runtime.GOMAXPROCS(0), 2)
	}
	if opts.MemoryLimitBytes <= 0 {
		opts.MemoryLimitBytes = DefaultMemoryLimit
	}
	if opts.MaxStackDepth <= 0 {
		opts.MaxStackDepth = DefaultMaxStackDepth
	}
	if opts.DefaultTimeout <= 0 {
		opts.DefaultTimeout = DefaultTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if len(opts.Command) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("code executor: find own executable: %w", err)
		}
		opts.Command = []string{exe}
	}
	if opts.PerUser <= 0 {
		opts.PerUser = max(opts.Workers-1, 1)
	}
	return &Executor{opts: opts, gate: newGate(opts.Workers, opts.PerUser), all: map[*worker]struct{}{}}, nil
}

var _ executor.Executor = (*Executor)(nil)

// WorkersStarted returns how many worker processes were started so far
// (replacements included).
func (e *Executor) WorkersStarted() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.started
}

// Close stops every worker. Runs in flight fail.
func (e *Executor) Close() error {
	e.mu.Lock()
	e.closed = true
	ws := make([]*worker, 0, len(e.all))
	for w := range e.all {
		ws = append(ws, w)
	}
	e.idle = nil
	e.mu.Unlock()
	for _, w := range ws {
		w.kill()
	}
	return nil
}

// Warm starts up to n workers ahead of use.
func (e *Executor) Warm(ctx context.Context, n int) error {
	var ws []*worker
	for i := 0; i < n && i < e.opts.Workers; i++ {
		w, err := e.acquire(ctx, fmt.Sprintf("warm-%d", i))
		if err != nil {
			return err
		}
		ws = append(ws, w)
	}
	for i, w := range ws {
		e.release(w, true, fmt.Sprintf("warm-%d", i))
	}
	return nil
}

// Execute implements executor.Executor.
func (e *Executor) Execute(ctx context.Context, req executor.Request) (executor.Result, error) {
	run := executor.Begin(req, executor.RunOptions{Now: e.opts.Now, MaxOutputBytes: MaxOutputBytes, TimeoutName: executor.ErrCodeTimeout})
	if err := executor.ValidateConfig(executor.TypeCode, req.Config); err != nil {
		return run.Finish(ctx, nil, err)
	}
	var cfg executor.CodeConfig
	if err := json.Unmarshal(req.Config, &cfg); err != nil {
		return run.Finish(ctx, nil, executor.Errorf(executor.ErrInvalidConfig, false, "config: %v", err))
	}
	source, err := e.renderSecrets(ctx, run, cfg.Source)
	if err != nil {
		return run.Finish(ctx, nil, err)
	}
	timeout := executor.Timeout(req.Timeout, cfg.TimeoutSeconds, e.opts.DefaultTimeout)
	input := req.Input
	if len(input) == 0 {
		input = json.RawMessage("null")
	}
	deadline := e.opts.Now().Add(timeout)
	ctxJSON, _ := json.Marshal(map[string]any{"agentId": req.AgentID, "deadline": deadline.UTC().Format(time.RFC3339Nano),
		"timeoutMs": timeout.Milliseconds(), "idempotencyKey": req.IdempotencyKey})
	wreq := &workerRequest{
		Source:         source,
		Input:          input,
		Ctx:            ctxJSON,
		TimeoutMs:      timeout.Milliseconds(),
		MaxOutputBytes: MaxOutputBytes,
		MaxLogLines:    executor.DefaultMaxLogLines,
		MaxLogLineSize: executor.DefaultMaxLogLineSize,
		MaxLogBytes:    executor.DefaultMaxLogBytes,
		MaxStackDepth:  e.opts.MaxStackDepth,
		Live:           run.Streaming(),
	}
	logLines := func(lines []workerLog) {
		for _, l := range lines {
			run.LogAt(time.UnixMilli(l.TimeMs), l.Level, l.Message, nil)
		}
	}
	resp, err := e.roundTrip(ctx, req.UserID, wreq, timeout, logLines)
	if resp != nil {
		logLines(resp.Logs)
		run.AddDropped(resp.Dropped)
	}
	if err != nil {
		return run.Finish(context.WithoutCancel(ctx), nil, err)
	}
	if resp.Error != nil {
		return run.Finish(context.WithoutCancel(ctx), nil, &turbocat.StepError{Name: resp.Error.Name, Cause: resp.Error.Cause, Retryable: resp.Error.Name == executor.ErrCodeTimeout})
	}
	return run.Finish(ctx, resp.Output, nil)
}

// secretRef matches {{secrets.NAME}} in a code agent's source.
var secretRef = regexp.MustCompile(`\{\{\s*secrets\.([A-Za-z0-9_$-]+)\s*\}\}`)

// renderSecrets replaces each {{secrets.NAME}} of the source by the secret
// as a JavaScript string literal. Nothing else in the source is templated
// (the input is main's first argument), so "{{" stays ordinary JavaScript.
func (e *Executor) renderSecrets(ctx context.Context, run *executor.Run, src string) (string, error) {
	var firstErr error
	out := secretRef.ReplaceAllStringFunc(src, func(m string) string {
		name := secretRef.FindStringSubmatch(m)[1]
		v, err := run.Secret(ctx, name)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			return m
		}
		lit, _ := json.Marshal(v) // a JSON string is a JavaScript string literal
		return string(lit)
	})
	return out, firstErr
}

// roundTrip sends one request to a worker and waits for its answer, the
// context, or the hard deadline (timeout plus grace), whichever comes first.
// The log lines of partial answers go to partial as they arrive.
func (e *Executor) roundTrip(ctx context.Context, owner string, req *workerRequest, timeout time.Duration, partial func([]workerLog)) (*workerResponse, error) {
	w, err := e.acquire(ctx, owner)
	if err != nil {
		return nil, err
	}
	if err := writeFrame(w.stdin, req); err != nil {
		// The worker died before this run started: not the script's
		// fault, so try once more on a fresh worker.
		e.release(w, false, owner)
		if w, err = e.acquire(ctx, owner); err != nil {
			return nil, err
		}
		if err := writeFrame(w.stdin, req); err != nil {
			cerr := w.crashError(fmt.Errorf("send to worker: %w", err))
			e.release(w, false, owner)
			return nil, cerr
		}
	}
	healthy := false
	defer func() { e.release(w, healthy, owner) }()

	type answer struct {
		resp *workerResponse
		err  error
	}
	ch := make(chan answer, 1)
	go func() {
		for {
			var resp workerResponse
			err := readFrame(w.stdout, &resp)
			if err == nil && resp.Partial {
				partial(resp.Logs)
				continue
			}
			ch <- answer{&resp, err}
			return
		}
	}()
	hard := time.NewTimer(timeout + killGrace)
	defer hard.Stop()
	select {
	case a := <-ch:
		if a.err != nil {
			cerr := w.crashError(a.err)
			e.opts.Logger.Warn("code worker crashed and will be replaced", slog.Int("pid", w.pid()), slog.String("error", cerr.Error()))
			return nil, cerr
		}
		healthy = true
		return a.resp, nil
	case <-ctx.Done():
		w.kill()
		<-ch
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, executor.Errorf(executor.ErrCodeTimeout, true, "the script exceeded the step's time limit")
		}
		return nil, &turbocat.StepError{Name: executor.ErrCanceled, Cause: "run cancelled: " + ctx.Err().Error()}
	case <-hard.C:
		e.opts.Logger.Warn("code worker unresponsive past its deadline, killed", slog.Int("pid", w.pid()), slog.Duration("timeout", timeout))
		w.kill()
		<-ch
		return nil, executor.Errorf(executor.ErrCodeTimeout, true, "the script exceeded its time limit of %s and its worker was stopped", timeout)
	}
}

// acquire takes a worker for owner (a user) when the gate grants a slot.
func (e *Executor) acquire(ctx context.Context, owner string) (*worker, error) {
	if err := e.gate.acquire(ctx, owner); err != nil {
		return nil, fmt.Errorf("wait for a code worker: %w", err)
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		e.gate.release(owner)
		return nil, executor.Errorf(executor.ErrInternal, true, "code executor is closed")
	}
	for len(e.idle) > 0 {
		n := len(e.idle)
		w := e.idle[n-1]
		e.idle = e.idle[:n-1]
		if w.dead() {
			// Died while idle (killed from outside): drop it.
			delete(e.all, w)
			e.opts.Logger.Warn("code worker died while idle", slog.Int("pid", w.pid()))
			continue
		}
		e.mu.Unlock()
		return w, nil
	}
	e.started++
	e.mu.Unlock()
	w, err := startWorker(e.opts.Command, e.opts.MemoryLimitBytes)
	if err == nil {
		w.logger = e.opts.Logger
	}
	if err != nil {
		e.gate.release(owner)
		return nil, executor.Errorf(executor.ErrInternal, true, "start code worker: %v", err)
	}
	e.mu.Lock()
	e.all[w] = struct{}{}
	e.mu.Unlock()
	e.opts.Logger.Debug("code worker started", slog.Int("pid", w.pid()))
	return w, nil
}

func (e *Executor) release(w *worker, healthy bool, owner string) {
	e.mu.Lock()
	if healthy && !e.closed && !w.dead() {
		e.idle = append(e.idle, w)
	} else {
		delete(e.all, w)
		healthy = false
	}
	e.mu.Unlock()
	if !healthy {
		w.kill()
	}
	e.gate.release(owner)
}

// worker is one sandbox process.
type worker struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr *tailBuffer
	exited chan struct{}
	once   sync.Once
	logger *slog.Logger
}

func startWorker(command []string, mem int64) (*worker, error) {
	args := command[1:]
	if len(args) == 0 && strings.HasSuffix(command[0], ".test") {
		// A Go test binary whose TestMain forgot MaybeRunWorker must not
		// run the package's tests again as a "worker".
		args = []string{"-test.run=^$", "-test.bench=^$", "-test.fuzz=^$"}
	}
	cmd := exec.Command(command[0], args...)
	cmd.Env = []string{WorkerEnv + "=1", workerMemEnv + "=" + strconv.FormatInt(mem, 10), "GOMAXPROCS=2", "GOTRACEBACK=single"}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("stdin pipe: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("stdout pipe: %w", err)
	}
	tail := &tailBuffer{max: stderrTailBytes}
	cmd.Stderr = tail
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", command[0], err)
	}
	w := &worker{cmd: cmd, stdin: stdin, stdout: bufio.NewReaderSize(stdout, 64<<10), stderr: tail, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(w.exited)
	}()
	// Handshake: a binary that does not call MaybeRunWorker first would
	// do something else entirely; fail clearly instead of hanging.
	hello := make(chan error, 1)
	go func() {
		var h workerHello
		err := readFrame(w.stdout, &h)
		if err == nil && (!h.Ready || h.Protocol != protocolVersion) {
			err = fmt.Errorf("unexpected hello %+v", h)
		}
		hello <- err
	}()
	t := time.NewTimer(startTimeout)
	defer t.Stop()
	select {
	case err := <-hello:
		if err == nil {
			return w, nil
		}
		w.kill()
		return nil, fmt.Errorf("worker %s did not start (%v; stderr: %q): does its main (or TestMain) call codeexec.MaybeRunWorker() first?", command[0], err, firstLine(tail.String()))
	case <-t.C:
		w.kill()
		<-hello
		return nil, fmt.Errorf("worker %s did not answer within %s: does its main (or TestMain) call codeexec.MaybeRunWorker() first?", command[0], startTimeout)
	}
}

func (w *worker) pid() int {
	if w.cmd.Process == nil {
		return 0
	}
	return w.cmd.Process.Pid
}

func (w *worker) dead() bool {
	select {
	case <-w.exited:
		return true
	default:
		return false
	}
}

func (w *worker) kill() {
	w.once.Do(func() {
		_ = w.stdin.Close()
		if w.cmd.Process != nil {
			_ = w.cmd.Process.Kill()
		}
	})
	select {
	case <-w.exited:
	case <-time.After(5 * time.Second):
	}
}

// crashError explains a worker that stopped answering, from its stderr.
func (w *worker) crashError(err error) error {
	w.kill()
	msg := w.stderr.String()
	switch {
	case strings.Contains(msg, "out of memory") || strings.Contains(msg, "cannot allocate memory") ||
		strings.Contains(msg, "failed to allocate") || strings.Contains(msg, "errno: 12"):
		return executor.Errorf(executor.ErrCodeMemoryLimit, false, "the script exceeded its memory limit (the sandbox worker ran out of memory and was replaced)")
	case strings.Contains(msg, "stack overflow") || strings.Contains(msg, "stack exceeds"):
		return executor.Errorf(executor.ErrCodeStackOverflow, false, "the script exhausted the sandbox stack (the worker was replaced)")
	}
	// What the worker printed (a Go panic, paths of the host) stays in
	// the server log; the run says what happened.
	w.logger.Warn("code worker crashed", slog.Int("pid", w.pid()), slog.String("error", err.Error()), slog.String("stderr", firstLine(msg)))
	return executor.Errorf(executor.ErrCodeError, false, "the sandbox worker crashed while running the script and was replaced")
}

func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}

// tailBuffer keeps the last max bytes written (a worker's stderr).
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
