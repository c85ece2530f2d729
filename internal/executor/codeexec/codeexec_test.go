package codeexec

import (
	"context"
	"encoding/json"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/executor"
	"github.com/turbocat/turbocat/internal/turbocat"
)

func TestMain(m *testing.M) {
	MaybeRunWorker()
	os.Exit(m.Run())
}

var (
	sharedOnce sync.Once
	shared     *Executor
)

// sharedExecutor is one pool for the package's tests, as in production.
func sharedExecutor(t *testing.T) *Executor {
	t.Helper()
	sharedOnce.Do(func() {
		var err error
		shared, err = New(Options{Workers: 2, MemoryLimitBytes: 128 << 20})
		if err != nil {
			panic(err)
		}
	})
	return shared
}

func codeConfig(src string, timeoutSeconds float64) json.RawMessage {
	m := map[string]any{"source": src}
	if timeoutSeconds > 0 {
		m["timeoutSeconds"] = timeoutSeconds
	}
	b, _ := json.Marshal(m)
	return b
}

func runCode(t *testing.T, ex *Executor, src, input string, timeoutSeconds float64) (executor.Result, *turbocat.StepError) {
	t.Helper()
	res, err := ex.Execute(context.Background(), executor.Request{AgentID: "agent-1", Type: executor.TypeCode, Config: codeConfig(src, timeoutSeconds), Input: json.RawMessage(input)})
	if err != nil {
		var e *turbocat.StepError
		require.ErrorAs(t, err, &e)
		return res, e
	}
	return res, nil
}

func TestCodeRunsMain(t *testing.T) {
	t.Parallel()
	ex := sharedExecutor(t)
	tests := []struct {
		name, src, input, want string
	}{
		{"transform", `function main(input){ return {sum: input.a + input.b, tags: input.tags.map(s => s.toUpperCase())} }`, `{"a":2,"b":3,"tags":["x"]}`, `{"sum":5,"tags":["X"]}`},
		{"filter", `function main(items){ return items.filter(i => i.n > 1) }`, `[{"n":1},{"n":2},{"n":3}]`, `[{"n":2},{"n":3}]`},
		{"async", `async function main(input){ const v = await Promise.resolve(input * 2); return v + 1 }`, `20`, `41`},
		{"promise then", `function main(){ return Promise.resolve(1).then(v => ({v})) }`, `null`, `{"v":1}`},
		{"undefined is null", `function main(){}`, `{}`, `null`},
		{"ctx", `function main(input, ctx){ return ctx.agentId }`, `{}`, `"agent-1"`},
		{"string", `const main = (s) => s.split("").reverse().join("")`, `"abc"`, `"cba"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, e := runCode(t, ex, tt.src, tt.input, 0)
			require.Nil(t, e)
			require.JSONEq(t, tt.want, string(res.Output))
		})
	}
}

func TestCodeConsoleBecomesLogs(t *testing.T) {
	t.Parallel()
	res, e := runCode(t, sharedExecutor(t), `function main(input){
		console.log("hello", input.name, {a: 1}); console.warn("careful"); console.error(new Error("bad").message); console.debug(42);
		return 1 }`, `{"name":"Ada"}`, 0)
	require.Nil(t, e)
	require.Len(t, res.Logs, 4)
	require.Equal(t, "hello Ada {\"a\":1}", res.Logs[0].Message)
	require.Equal(t, executor.LevelInfo, res.Logs[0].Level)
	require.Equal(t, executor.LevelWarn, res.Logs[1].Level)
	require.Equal(t, executor.LevelError, res.Logs[2].Level)
	require.Equal(t, "bad", res.Logs[2].Message)
	require.Equal(t, executor.LevelDebug, res.Logs[3].Level)
	require.False(t, res.Logs[0].Time.IsZero())
}

func TestCodeErrors(t *testing.T) {
	t.Parallel()
	ex := sharedExecutor(t)
	tests := []struct {
		name, src, wantName, wantCause string
	}{
		{"throw", `function main(){ throw new Error("kaboom") }`, executor.ErrCodeError, "kaboom"},
		{"reject", `async function main(){ throw new TypeError("async kaboom") }`, executor.ErrCodeError, "async kaboom"},
		{"syntax", `function main( {`, executor.ErrCodeError, "compile"},
		{"no main", `const x = 1`, executor.ErrCodeError, "main"},
		{"never settles", `function main(){ return new Promise(() => {}) }`, executor.ErrCodeError, "never settles"},
		{"cyclic output", `function main(){ const a = {}; a.a = a; return a }`, executor.ErrCodeError, ""},
		{"bigint output", `function main(){ return 10n }`, executor.ErrCodeError, ""},
		{"no require", `function main(){ return require("fs") }`, executor.ErrCodeError, "require"},
		{"no process", `function main(){ return process.env }`, executor.ErrCodeError, "process"},
		{"no timers", `function main(){ setTimeout(() => {}, 1) }`, executor.ErrCodeError, "setTimeout"},
		{"no fetch", `function main(){ return fetch("http://169.254.169.254/") }`, executor.ErrCodeError, "fetch"},
		{"replaced JSON.stringify", `JSON.stringify = () => "{not json"; function main(){ return {a: 1, f: () => 1} }`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, e := runCode(t, ex, tt.src, `{}`, 0)
			if tt.wantName == "" {
				require.Nil(t, e)
				require.JSONEq(t, `{"a":1}`, string(res.Output), "the pristine JSON.stringify is used")
				return
			}
			require.NotNil(t, e)
			require.Equal(t, tt.wantName, e.Name, e.Cause)
			require.Contains(t, e.Cause, tt.wantCause)
		})
	}
}

// TestSandboxCorpus: the host survives each hostile script, which fails
// with its step error within its time budget, and the pool keeps working.
func TestSandboxCorpus(t *testing.T) {
	t.Parallel()
	// A pool of its own: these scripts kill workers.
	ex, err := New(Options{Workers: 2, MemoryLimitBytes: 128 << 20})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ex.Close() })
	tests := []struct {
		name     string
		src      string
		timeout  float64
		wantName []string
		budget   time.Duration
	}{
		{"infinite loop", `function main(){ for(;;){} }`, 1, []string{executor.ErrCodeTimeout}, 5 * time.Second},
		{"loop swallowing the interrupt", `function main(){ for(;;){ try { for(;;){} } catch (e) {} finally { continue } } }`, 1, []string{executor.ErrCodeTimeout}, 5 * time.Second},
		{"unbounded recursion", `function f(n){ return f(n+1)+1 } function main(){ return f(0) }`, 5, []string{executor.ErrCodeStackOverflow}, 5 * time.Second},
		{"recursion caught", `function f(){ try { return f() } catch(e) { return f() } } function main(){ return f() }`, 2, []string{executor.ErrCodeStackOverflow, executor.ErrCodeTimeout}, 6 * time.Second},
		{"catastrophic regex (backreference engine)", `function main(){ return /^(a+)+\1$/.test("a".repeat(40) + "b") }`, 1, []string{executor.ErrCodeTimeout}, 6 * time.Second},
		{"catastrophic regex (lookahead)", `function main(){ return /^(?=(a+)+$)\w*b/.test("a".repeat(40) + "!") }`, 1, []string{executor.ErrCodeTimeout}, 6 * time.Second},
		{"string doubling", `function main(){ let s = "x"; for(;;){ s = s + s } }`, 10, []string{executor.ErrCodeMemoryLimit, executor.ErrCodeError}, 15 * time.Second},
		{"repeat 2**30", `function main(){ return 'x'.repeat(2**30).length }`, 10, []string{executor.ErrCodeMemoryLimit, executor.ErrCodeError}, 15 * time.Second},
		{"new Array(1e9)", `function main(){ const a = new Array(1e9); a.fill(1); return a.length }`, 10, []string{executor.ErrCodeMemoryLimit, executor.ErrCodeError, executor.ErrCodeTimeout}, 15 * time.Second},
		// Objects of 4 KiB each reach the budget in ~32k pushes: small
		// objects fill it too, but so slowly on a starved CPU (the collector
		// runs hard near the soft limit) that the time limit can come first.
		{"object flood", `function main(){ const a = []; for(;;){ a.push({i: a.length, s: "y".repeat(4096) + a.length}) } }`, 10, []string{executor.ErrCodeMemoryLimit}, 15 * time.Second},
		{"console flood", `function main(){ for(let i=0;;i++){ console.log("spam ".repeat(1000), i) } }`, 1, []string{executor.ErrCodeTimeout}, 5 * time.Second},
		{"promise job flood", `function main(){ function f(){ return Promise.resolve().then(f) } return f() }`, 1, []string{executor.ErrCodeTimeout, executor.ErrCodeMemoryLimit}, 6 * time.Second},
		{"huge output", `function main(){ return "z".repeat(2 << 20) }`, 5, []string{executor.ErrOutputTooLarge}, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			res, e := runCode(t, ex, tt.src, `{}`, tt.timeout)
			took := time.Since(start)
			require.NotNil(t, e, "the script must fail")
			t.Logf("%s after %s: %s", e.Name, took.Round(time.Millisecond), e.Cause)
			require.Contains(t, tt.wantName, e.Name, e.Cause)
			require.Less(t, took, tt.budget, "time budget")
			require.LessOrEqual(t, len(res.Logs), executor.DefaultMaxLogLines+1)
			// The pool still serves ordinary runs.
			ok, e2 := runCode(t, ex, `function main(i){ return i.n + 1 }`, `{"n":1}`, 0)
			require.Nil(t, e2)
			require.JSONEq(t, `2`, string(ok.Output))
		})
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	require.Less(t, ms.HeapAlloc, uint64(512<<20), "the host's heap did not absorb the scripts' allocations")
}

func TestSandboxIsolation(t *testing.T) {
	t.Parallel()
	ex := sharedExecutor(t)
	// Prototype pollution and globals do not survive into the next run,
	// even on the same worker.
	for i := 0; i < 4; i++ {
		_, e := runCode(t, ex, `function main(){ Object.prototype.polluted = "yes"; Array.prototype.push = null; globalThis.leak = 1; return 1 }`, `{}`, 0)
		require.Nil(t, e)
		res, e := runCode(t, ex, `function main(){ return {p: ({}).polluted === undefined, push: typeof [].push, leak: typeof leak} }`, `{}`, 0)
		require.Nil(t, e)
		require.JSONEq(t, `{"p":true,"push":"function","leak":"undefined"}`, string(res.Output))
	}
	// The global object holds nothing of the host.
	res, e := runCode(t, ex, `function main(){ const g = Function('return this')(); return Object.getOwnPropertyNames(g).filter(n => /require|process|fs|fetch|XMLHttpRequest|Deno|Bun|module|exports|setTimeout|__/.test(n)) }`, `{}`, 0)
	require.Nil(t, e)
	require.JSONEq(t, `[]`, string(res.Output))
}

func TestCodeSecretsNeverReachTheSandboxEnv(t *testing.T) {
	t.Setenv("TURBOCAT_TEST_CANARY_ENV", "env-canary-value")
	ex, err := New(Options{Workers: 1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ex.Close() })
	// Even a sandbox escape could not read the host environment: the
	// worker is started with an empty environment.
	out, e := runCode(t, ex, `function main(){ return 1 }`, `{}`, 0)
	require.Nil(t, e)
	require.JSONEq(t, `1`, string(out.Output))
	ex.mu.Lock()
	var env []string
	for w := range ex.all {
		env = w.cmd.Env
	}
	ex.mu.Unlock()
	require.NotEmpty(t, env)
	require.NotContains(t, strings.Join(env, "\n"), "env-canary-value")
}

func TestCodeCancelAndTimeoutReplaceWorker(t *testing.T) {
	t.Parallel()
	ex, err := New(Options{Workers: 1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ex.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(200 * time.Millisecond); cancel() }()
	_, err = ex.Execute(ctx, executor.Request{Type: executor.TypeCode, Config: codeConfig(`function main(){ for(;;){} }`, 30)})
	var e *turbocat.StepError
	require.ErrorAs(t, err, &e)
	require.Equal(t, executor.ErrCanceled, e.Name)

	// The step timeout is shorter than the script's: the step wins.
	_, err = ex.Execute(context.Background(), executor.Request{Type: executor.TypeCode, Config: codeConfig(`function main(){ for(;;){} }`, 30), Timeout: 300 * time.Millisecond})
	require.ErrorAs(t, err, &e)
	require.Equal(t, executor.ErrCodeTimeout, e.Name)

	res, e2 := runCode(t, ex, `function main(){ return "alive" }`, `{}`, 0)
	require.Nil(t, e2)
	require.JSONEq(t, `"alive"`, string(res.Output))
	require.Equal(t, 2, ex.WorkersStarted(), "the cancelled run's worker was replaced once; the timed-out one was reused")
}

func TestCodeWorkerKilledWhileIdleIsReplaced(t *testing.T) {
	t.Parallel()
	ex, err := New(Options{Workers: 1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ex.Close() })
	_, e := runCode(t, ex, `function main(){ return 1 }`, `{}`, 0)
	require.Nil(t, e)
	ex.mu.Lock()
	for w := range ex.all {
		require.NoError(t, w.cmd.Process.Kill())
		<-w.exited
	}
	ex.mu.Unlock()
	res, e := runCode(t, ex, `function main(){ return "fresh" }`, `{}`, 0)
	require.Nil(t, e)
	require.JSONEq(t, `"fresh"`, string(res.Output))
	require.Equal(t, 2, ex.WorkersStarted())
}

func TestCodeWorkerThatIsNotAWorkerFailsClearly(t *testing.T) {
	t.Parallel()
	truePath := "/bin/true"
	if _, err := os.Stat(truePath); err != nil {
		t.Skip("no /bin/true on this machine")
	}
	ex, err := New(Options{Workers: 1, Command: []string{truePath}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ex.Close() })
	_, e := runCode(t, ex, `function main(){ return 1 }`, `{}`, 0)
	require.NotNil(t, e)
	require.Equal(t, executor.ErrInternal, e.Name)
	require.Contains(t, e.Cause, "MaybeRunWorker")
}

// liveRecorder is an executor.Live that notes when each line arrived.
type liveRecorder struct {
	mu      sync.Mutex
	lines   []executor.LogLine
	arrived []time.Time
}

func (l *liveRecorder) Log(line executor.LogLine) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
	l.arrived = append(l.arrived, time.Now())
}

func (l *liveRecorder) Text(int, string) {}

func TestCodeConsoleLinesArriveWhileRunning(t *testing.T) {
	t.Parallel()
	live := &liveRecorder{}
	src := `function main(){
		console.log("first");
		const until = Date.now() + 800; while (Date.now() < until) {}
		console.log("second");
		return 1 }`
	res, err := sharedExecutor(t).Execute(context.Background(), executor.Request{AgentID: "agent-1", Type: executor.TypeCode,
		Config: codeConfig(src, 0), Input: json.RawMessage(`null`), Live: live})
	returned := time.Now()
	require.NoError(t, err)
	require.JSONEq(t, `1`, string(res.Output))

	live.mu.Lock()
	defer live.mu.Unlock()
	// Every line reached the watcher, in order, and the result holds them too.
	require.Len(t, live.lines, 2)
	require.Len(t, res.Logs, 2)
	for i, want := range []string{"first", "second"} {
		require.Equal(t, want, live.lines[i].Message)
		require.Equal(t, want, res.Logs[i].Message)
	}
	// The first line arrived while the script was still busy, not with the
	// result, and each line keeps the time the script wrote it.
	require.Less(t, live.arrived[0], returned.Add(-400*time.Millisecond), "the first line arrived only %s before the run ended", returned.Sub(live.arrived[0]))
	require.GreaterOrEqual(t, res.Logs[1].Time.Sub(res.Logs[0].Time), 700*time.Millisecond)
}
