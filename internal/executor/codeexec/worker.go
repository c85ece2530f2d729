//go:build !turbocat_nojs

package codeexec

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/dlclark/regexp2/v2"
	"github.com/dop251/goja"

	"github.com/turbocat/turbocat/internal/executor"
)

// MaybeRunWorker turns the current process into a code worker when it was
// started as one (WorkerEnv=1): it serves runs over stdin/stdout until stdin
// closes, then exits. Otherwise it returns at once. Call it first thing in
// main (and in TestMain of every package whose tests run code agents),
// since the host re-executes its own binary to get workers.
func MaybeRunWorker() {
	if os.Getenv(WorkerEnv) != "1" {
		return
	}
	mem, _ := strconv.ParseInt(os.Getenv(workerMemEnv), 10, 64)
	code := serveWorker(mem)
	os.Exit(code)
}

// serveWorker is the worker main loop; it returns the exit code.
func serveWorker(mem int64) int {
	// The protocol owns stdout; anything else printed goes to stderr.
	out := os.Stdout
	os.Stdout = os.Stderr
	limit, err := limitMemory(mem)
	if err != nil {
		// Degraded: the heap watchdog and the Go soft limit still hold,
		// but one huge allocation is then stopped only by the OS.
		fmt.Fprintf(os.Stderr, "turbocat code worker: no hard memory limit: %v\n", err)
	}
	in := bufio.NewReaderSize(os.Stdin, 64<<10)
	w := bufio.NewWriterSize(out, 64<<10)
	if err := writeFrame(w, workerHello{Ready: true, Protocol: protocolVersion, Pid: os.Getpid(), RlimitAS: limit}); err != nil || w.Flush() != nil {
		return 4
	}
	s := &sandbox{mem: mem, programs: map[[32]byte]*goja.Program{}}
	// Partial responses (a live run's log lines) are written by the run's
	// flusher while the script runs; the final response only after it
	// stopped.
	s.emit = func(lines []workerLog) error {
		if err := writeFrame(w, &workerResponse{Partial: true, Logs: lines}); err != nil {
			return err
		}
		return w.Flush()
	}
	for {
		var req workerRequest
		if err := readFrame(in, &req); err != nil {
			return 0 // host closed stdin
		}
		resp := s.run(&req)
		if err := writeFrame(w, resp); err != nil {
			fmt.Fprintf(os.Stderr, "turbocat code worker: %v\n", err)
			return 4
		}
		if err := w.Flush(); err != nil {
			return 4
		}
	}
}

// limitMemory sets the OS address-space limit (RLIMIT_AS) to what the
// process maps now plus the budget plus headroom for the Go runtime, and
// the Go soft memory limit to the budget so the collector works hard
// before the hard limit is hit.
func limitMemory(mem int64) (int64, error) {
	if mem <= 0 {
		return 0, nil
	}
	debug.SetMemoryLimit(mem)
	debug.SetMaxStack(64 << 20)
	base, err := vmSize()
	if err != nil {
		return 0, fmt.Errorf("read address space size: %w", err)
	}
	// Headroom: heap arenas are reserved in 64 MiB steps and the collector
	// needs space while the heap is at its budget.
	limit := uint64(base) + uint64(mem)*2 + 256<<20
	rl := syscall.Rlimit{Cur: limit, Max: limit}
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, &rl); err != nil {
		return 0, fmt.Errorf("setrlimit RLIMIT_AS: %w", err)
	}
	return int64(limit), nil
}

// vmSize returns the process's virtual memory size from /proc/self/status.
func vmSize() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("read /proc/self/status: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmSize:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, err := strconv.ParseInt(f[1], 10, 64)
				if err != nil {
					return 0, fmt.Errorf("parse VmSize: %w", err)
				}
				return kb << 10, nil
			}
		}
	}
	return 0, errors.New("VmSize not found")
}

type sandbox struct {
	mem      int64
	programs map[[32]byte]*goja.Program
	// emit sends a partial response (nil: live runs are not streamed).
	emit func([]workerLog) error
}

type interruptReason string

const (
	reasonTimeout interruptReason = "timeout"
	reasonMemory  interruptReason = "memory"
)

func (s *sandbox) program(src string) (*goja.Program, error) {
	key := sha256.Sum256([]byte(src))
	if p, ok := s.programs[key]; ok {
		return p, nil
	}
	p, err := goja.Compile("agent.js", src, false)
	if err != nil {
		return nil, err
	}
	if len(s.programs) >= 256 {
		clear(s.programs)
	}
	s.programs[key] = p
	return p, nil
}

// run executes one request in a fresh runtime.
func (s *sandbox) run(req *workerRequest) (resp *workerResponse) {
	resp = &workerResponse{}
	timeout := time.Duration(req.TimeoutMs) * time.Millisecond
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	// The backtracking regexp engine ignores interrupts; bound each match.
	regexp2.DefaultMatchTimeout = timeout

	logs := &logSink{max: req.MaxLogLines, maxLine: req.MaxLogLineSize, maxBytes: req.MaxLogBytes}
	stopLive := func() {}
	if req.Live && s.emit != nil {
		stopLive = logs.stream(s.emit, liveInterval)
	}
	defer func() {
		if r := recover(); r != nil {
			resp.Output = nil
			resp.Error = &workerError{Name: executor.ErrCodeError, Cause: fmt.Sprintf("sandbox fault: %v", r)}
		}
		stopLive()
		resp.Logs, resp.Dropped = logs.unsent()
	}()

	prog, err := s.program(req.Source)
	if err != nil {
		resp.Error = &workerError{Name: executor.ErrCodeError, Cause: "compile: " + err.Error()}
		return resp
	}
	vm := goja.New()
	if req.MaxStackDepth > 0 {
		vm.SetMaxCallStackSize(req.MaxStackDepth)
	}
	js := captureJSON(vm)
	installConsole(vm, js, logs)

	done := make(chan struct{})
	defer close(done)
	timer := time.AfterFunc(timeout, func() { vm.Interrupt(reasonTimeout) })
	defer timer.Stop()
	if s.mem > 0 {
		go watchMemory(vm, s.mem, done)
	}

	out, err := callMain(vm, js, prog, req)
	if err != nil {
		resp.Error = classify(err, timeout)
		return resp
	}
	if req.MaxOutputBytes > 0 && len(out) > req.MaxOutputBytes {
		resp.Error = &workerError{Name: executor.ErrOutputTooLarge, Cause: fmt.Sprintf("output is %d bytes, the limit is %d", len(out), req.MaxOutputBytes)}
		return resp
	}
	resp.Output = out
	return resp
}

// jsonFuncs are the pristine JSON.parse and JSON.stringify of a runtime,
// taken before the script runs so that it cannot replace them.
type jsonFuncs struct {
	obj              *goja.Object
	parse, stringify goja.Callable
}

func captureJSON(vm *goja.Runtime) jsonFuncs {
	obj := vm.Get("JSON").ToObject(vm)
	parse, _ := goja.AssertFunction(obj.Get("parse"))
	stringify, _ := goja.AssertFunction(obj.Get("stringify"))
	return jsonFuncs{obj: obj, parse: parse, stringify: stringify}
}

func callMain(vm *goja.Runtime, js jsonFuncs, prog *goja.Program, req *workerRequest) ([]byte, error) {
	if _, err := vm.RunProgram(prog); err != nil {
		return nil, err
	}
	mainFn, ok := goja.AssertFunction(vm.Get("main"))
	if !ok {
		return nil, &scriptError{"the script must define function main(input, ctx)"}
	}
	jsonObj, parse, stringify := js.obj, js.parse, js.stringify
	input := string(req.Input)
	if input == "" {
		input = "null"
	}
	inVal, err := parse(jsonObj, vm.ToValue(input))
	if err != nil {
		return nil, err
	}
	ctxJSON := string(req.Ctx)
	if ctxJSON == "" {
		ctxJSON = "{}"
	}
	ctxVal, err := parse(jsonObj, vm.ToValue(ctxJSON))
	if err != nil {
		return nil, err
	}
	result, err := mainFn(goja.Undefined(), inVal, ctxVal)
	if err != nil {
		return nil, err
	}
	// Promise jobs have run when the call returned (there is no event loop
	// and no timers), so a returned promise is settled or never will be.
	if p, ok := result.Export().(*goja.Promise); ok {
		switch p.State() {
		case goja.PromiseStateFulfilled:
			result = p.Result()
		case goja.PromiseStateRejected:
			return nil, &scriptError{"main rejected: " + describe(p.Result())}
		default:
			return nil, &scriptError{"main returned a promise that never settles (there are no timers or I/O in the sandbox)"}
		}
	}
	if result == nil || goja.IsUndefined(result) {
		return []byte("null"), nil
	}
	s, err := stringify(jsonObj, result)
	if err != nil {
		return nil, err
	}
	if goja.IsUndefined(s) {
		return []byte("null"), nil
	}
	out := []byte(s.String())
	if !json.Valid(out) {
		return nil, &scriptError{"main's return value is not JSON-serialisable"}
	}
	return out, nil
}

type scriptError struct{ msg string }

func (e *scriptError) Error() string { return e.msg }

func classify(err error, timeout time.Duration) *workerError {
	var ie *goja.InterruptedError
	if errors.As(err, &ie) {
		if ie.Value() == reasonMemory {
			return &workerError{Name: executor.ErrCodeMemoryLimit, Cause: "the script exceeded its memory limit"}
		}
		return &workerError{Name: executor.ErrCodeTimeout, Cause: fmt.Sprintf("the script exceeded its time limit of %s", timeout)}
	}
	var so *goja.StackOverflowError
	if errors.As(err, &so) {
		return &workerError{Name: executor.ErrCodeStackOverflow, Cause: "maximum call stack size exceeded"}
	}
	var ex *goja.Exception
	if errors.As(err, &ex) {
		return &workerError{Name: executor.ErrCodeError, Cause: truncate(ex.Error(), 4096)}
	}
	return &workerError{Name: executor.ErrCodeError, Cause: truncate(err.Error(), 4096)}
}

// watchMemory interrupts the VM when the Go heap exceeds the budget.
func watchMemory(vm *goja.Runtime, limit int64, done <-chan struct{}) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			if heapObjects(sample) <= limit {
				continue
			}
			// The sample includes garbage not yet swept: collect, then
			// judge the live heap.
			runtime.GC()
			if heapObjects(sample) > limit {
				vm.Interrupt(reasonMemory)
				return
			}
		}
	}
}

// liveInterval is how often a live run's new log lines are sent.
const liveInterval = 100 * time.Millisecond

// logSink collects a run's console lines, bounded; a live run's flusher
// takes the new ones while the script runs.
type logSink struct {
	mu                     sync.Mutex
	max, maxLine, maxBytes int
	bytes                  int
	lines                  []workerLog
	sent                   int // lines already sent in partial responses
	dropped                int
}

// full reports whether a new line would be dropped (counting it if so).
func (l *logSink) full() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) >= l.max || l.bytes >= l.maxBytes {
		l.dropped++
		return true
	}
	return false
}

func (l *logSink) add(level, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) >= l.max || l.bytes >= l.maxBytes {
		l.dropped++
		return
	}
	if len(msg) > l.maxLine {
		msg = truncate(msg, l.maxLine) + "…[truncated]"
	}
	l.bytes += len(msg)
	l.lines = append(l.lines, workerLog{TimeMs: time.Now().UnixMilli(), Level: level, Message: msg})
}

// unsent returns the lines not sent yet (marking them sent) and the count
// of dropped lines.
func (l *logSink) unsent() ([]workerLog, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.lines[l.sent:]
	l.sent = len(l.lines)
	return out, l.dropped
}

// stream sends the new lines every interval until the returned func is
// called (which waits for a send in progress). A failed send stops the
// streaming; the lines not sent then go in the final response.
func (l *logSink) stream(emit func([]workerLog) error, interval time.Duration) func() {
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				l.mu.Lock()
				lines := l.lines[l.sent:]
				l.mu.Unlock()
				if len(lines) == 0 {
					continue
				}
				if emit(lines) != nil {
					return
				}
				l.mu.Lock()
				l.sent += len(lines)
				l.mu.Unlock()
			}
		}
	}()
	return func() { close(stop); <-done }
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

func installConsole(vm *goja.Runtime, js jsonFuncs, logs *logSink) {
	console := vm.NewObject()
	mk := func(level string) func(goja.FunctionCall) goja.Value {
		return func(call goja.FunctionCall) goja.Value {
			if logs.full() {
				return goja.Undefined()
			}
			var b bytes.Buffer
			for i, a := range call.Arguments {
				if i > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(formatArg(js, a))
				if b.Len() > logs.maxLine {
					break
				}
			}
			logs.add(level, b.String())
			return goja.Undefined()
		}
	}
	_ = console.Set("log", mk(executor.LevelInfo))
	_ = console.Set("info", mk(executor.LevelInfo))
	_ = console.Set("debug", mk(executor.LevelDebug))
	_ = console.Set("warn", mk(executor.LevelWarn))
	_ = console.Set("error", mk(executor.LevelError))
	_ = vm.Set("console", console)
}

// formatArg renders a console argument: strings as is, objects as JSON.
func formatArg(js jsonFuncs, v goja.Value) string {
	if v == nil || goja.IsUndefined(v) {
		return "undefined"
	}
	if _, ok := v.Export().(string); ok {
		return v.String()
	}
	if o, ok := v.(*goja.Object); ok {
		if _, isFn := goja.AssertFunction(o); !isFn {
			if s, err := js.stringify(js.obj, o); err == nil && !goja.IsUndefined(s) {
				return s.String()
			}
		}
	}
	return v.String()
}

// describe renders a thrown or rejected value (an Error's stack when it has one).
func describe(v goja.Value) string {
	if o, ok := v.(*goja.Object); ok {
		if st := o.Get("stack"); st != nil && !goja.IsUndefined(st) {
			return truncate(st.String(), 4096)
		}
	}
	if v == nil {
		return "undefined"
	}
	return truncate(v.String(), 4096)
}

func heapObjects(sample []metrics.Sample) int64 {
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(sample[0].Value.Uint64())
}
