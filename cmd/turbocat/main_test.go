package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/e2e"
	"github.com/turbocat/turbocat/internal/executor/codeexec"
	"github.com/turbocat/turbocat/internal/postgres/pgtest"
)

// TestMain doubles as `turbocat dev` for the kill-and-resume test: the test
// binary re-executes itself with TURBOCAT_TEST_DEV=1 to get a server it can
// SIGKILL.
func TestMain(m *testing.M) {
	codeexec.MaybeRunWorker()
	if os.Getenv("TURBOCAT_TEST_CLI") == "1" {
		os.Exit(runMain(os.Args[1:])) // the binary itself, for the CLI tests
	}
	if os.Getenv("TURBOCAT_TEST_DEV") == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		if err := run(ctx, []string{"dev"}, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, "turbocat:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestHelpAndUnknownCommand(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"--help"}, &out, io.Discard))
	require.Contains(t, out.String(), "turbocat dev")
	err := run(context.Background(), []string{"nope"}, io.Discard, io.Discard)
	require.ErrorContains(t, err, `unknown command "nope"`)
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

type devServer struct {
	t    *testing.T
	env  []string
	base string
	cmd  *exec.Cmd
	logs *bytes.Buffer
}

func (d *devServer) start() {
	d.t.Helper()
	d.cmd = exec.Command(os.Args[0], "-test.run=^$")
	d.cmd.Env = append(os.Environ(), d.env...)
	d.cmd.Stdout, d.cmd.Stderr = d.logs, d.logs
	require.NoError(d.t, d.cmd.Start())
	require.Eventually(d.t, func() bool {
		res, err := http.Get(d.base + "/health")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == 200
	}, 60*time.Second, 50*time.Millisecond, "turbocat dev did not come up: %s", d.logs)
}

func (d *devServer) call(method, path, token string, body any, out any) int {
	d.t.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(method, d.base+path, bytes.NewReader(b))
	require.NoError(d.t, err)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(d.t, err)
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if out != nil {
		var env struct{ Data json.RawMessage }
		require.NoError(d.t, json.Unmarshal(raw, &env), "%s", raw)
		require.NoError(d.t, json.Unmarshal(env.Data, out), "%s", raw)
	}
	return res.StatusCode
}

// killableDev starts turbocat dev (this test binary) on a schema of its
// own, with env added, for a test that SIGKILLs and restarts it; the pool
// reads the schema.
func killableDev(t *testing.T, env ...string) (*pgxpool.Pool, *devServer) {
	t.Helper()
	pool, schema := pgtest.NewSchema(t)
	port := freePort(t)
	d := &devServer{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", port), logs: &bytes.Buffer{}, env: append([]string{
		"TURBOCAT_TEST_DEV=1",
		"DATABASE_URL=" + pgtest.URL() + "&search_path=" + schema,
		fmt.Sprintf("PORT=%d", port),
		"TURBOCAT_SFN_ADDR=127.0.0.1:0",
		"TURBOCAT_JWT_SECRET=kill-test-secret-kill-test-secret-0123",
		"TURBOCAT_LOG_LEVEL=warn",
	}, env...)}
	d.start()
	t.Cleanup(func() {
		if d.cmd.Process != nil {
			_ = d.cmd.Process.Kill()
			_ = d.cmd.Wait()
		}
	})
	return pool, d
}

// TestKillAndResume: 50 runs of a 5-step DAG (a chain with a parallel
// pair) are in flight when turbocat dev is SIGKILLed; after a restart every
// run completes, none is lost, and no step's agent ran twice to completion.
func TestKillAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills turbocat dev twice; skipped with -short")
	}
	pool, d := killableDev(t, "TURBOCAT_CODE_WORKERS=2",
		"TURBOCAT_RATE_LIMIT=100000", "TURBOCAT_RATE_BURST=100000", "TURBOCAT_IP_RATE_LIMIT=100000")

	var sess struct{ AccessToken string }
	require.Equal(t, 201, d.call("POST", "/api/v1/auth/register", "", map[string]string{"email": "kill@example.com", "password": "correct horse battery"}, &sess))
	tok := sess.AccessToken
	var agent, wf struct{ ID string }
	require.Equal(t, 201, d.call("POST", "/api/v1/agents", tok, map[string]any{"name": "work", "type": "code", "config": map[string]any{
		"source": `function main(input) { const end = Date.now() + 20; while (Date.now() < end) {} console.log("ran"); return {ok: true}; }`}}, &agent))
	step := func(key string, deps ...string) map[string]any {
		return map[string]any{"key": key, "agentId": agent.ID, "dependsOn": deps}
	}
	require.Equal(t, 201, d.call("POST", "/api/v1/workflows", tok, map[string]any{"name": "five", "steps": []map[string]any{
		step("a"), step("b", "a"), step("c", "a"), step("d", "b", "c"), step("e", "d")}}, &wf))
	const runs = 50
	for range runs {
		require.Equal(t, 202, d.call("POST", "/api/v1/workflows/"+wf.ID+"/execute", tok, map[string]any{}, nil))
	}

	ctx := context.Background()
	count := func(q string) int {
		var n int
		require.NoError(t, pool.QueryRow(ctx, q).Scan(&n))
		return n
	}
	// Kill mid-flight: some steps done, most not.
	require.Eventually(t, func() bool { return count(`SELECT count(*) FROM execution_steps WHERE status = 'completed'`) >= 20 },
		60*time.Second, 10*time.Millisecond)
	require.NoError(t, d.cmd.Process.Signal(syscall.SIGKILL))
	_ = d.cmd.Wait()
	doneAtKill := count(`SELECT count(*) FROM execution_steps WHERE status = 'completed'`)
	require.Less(t, doneAtKill, runs*5, "the kill came before the end")
	t.Logf("killed with %d of %d steps completed", doneAtKill, runs*5)

	d.start()
	require.Eventually(t, func() bool {
		return count(`SELECT count(*) FROM executions WHERE status IN ('pending', 'running')`) == 0
	}, 120*time.Second, 100*time.Millisecond, "runs did not finish after the restart: %s", d.logs)

	assertResumed(t, pool, runs)
}

func assertResumed(t *testing.T, pool *pgxpool.Pool, runs int) {
	t.Helper()
	ctx := context.Background()
	var statuses []string
	rows, err := pool.Query(ctx, `SELECT status || ':' || count(*) FROM executions GROUP BY status`)
	require.NoError(t, err)
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		statuses = append(statuses, s)
	}
	require.Equal(t, []string{fmt.Sprintf("completed:%d", runs)}, statuses, "every run completed; none lost")
	var steps, completed, maxLogs int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE status = 'completed') FROM execution_steps`).Scan(&steps, &completed))
	require.Equal(t, runs*5, steps)
	require.Equal(t, runs*5, completed)
	// An agent run records its log line when it completes: one line per
	// step means no step's agent ran to completion twice.
	require.NoError(t, pool.QueryRow(ctx, `SELECT coalesce(max(n), 0) FROM (
		SELECT count(*) AS n FROM execution_logs WHERE message = 'ran' GROUP BY execution_id, step_key) x`).Scan(&maxLogs))
	require.Equal(t, 1, maxLogs)
	var logRows int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM execution_logs WHERE message = 'ran'`).Scan(&logRows))
	require.Equal(t, runs*5, logRows)
	var dupSeq int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT execution_id, sequence FROM execution_logs GROUP BY 1, 2 HAVING count(*) > 1) x`).Scan(&dupSeq))
	require.Zero(t, dupSeq)
}

// TestEndToEndOnDev runs the end-to-end scenario (internal/e2e) against a
// real turbocat dev process; make test-localstack runs the same scenario
// against a deployed stack.
func TestEndToEndOnDev(t *testing.T) {
	if testing.Short() {
		t.Skip("starts turbocat dev; skipped with -short")
	}
	e2e.Run(t, startDev(t).base)
}

// TestDevListensOnLoopbackOnly: turbocat dev binds 127.0.0.1 unless
// TURBOCAT_LISTEN says otherwise, so other machines cannot reach it.
func TestDevListensOnLoopbackOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("starts turbocat dev; skipped with -short")
	}
	var other net.IP
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			other = n.IP
			break
		}
	}
	if other == nil {
		t.Skip("this machine has no non-loopback IPv4 address to try")
	}
	d := startDev(t)
	u, err := url.Parse(d.base)
	require.NoError(t, err)
	c, err := net.DialTimeout("tcp", net.JoinHostPort(other.String(), u.Port()), 2*time.Second)
	if err == nil {
		c.Close()
	}
	require.Error(t, err, "turbocat dev answers on %s, a non-loopback address", other)
	c, err = net.DialTimeout("tcp", u.Host, 2*time.Second)
	require.NoError(t, err, "and on loopback")
	c.Close()
}
