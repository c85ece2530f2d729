package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/cli"
	"github.com/turbocat/turbocat/internal/postgres/pgtest"
)

// cliResult is what a user sees of one turbocat invocation.
type cliResult struct {
	stdout, stderr string
	code           int
}

// cliCommand is this binary run as the turbocat command (TestMain turns the
// test binary into it) with env added to a clean environment.
func cliCommand(t *testing.T, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append([]string{"TURBOCAT_TEST_CLI=1", "PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	return cmd
}

// turbocat runs this binary as the turbocat command (TestMain turns the
// test binary into it) with env added to a clean environment.
func turbocat(t *testing.T, env []string, stdin string, args ...string) cliResult {
	t.Helper()
	cmd := cliCommand(t, env, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Stdin = strings.NewReader(stdin)
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return cliResult{stdout: out.String(), stderr: errb.String(), code: code}
}

// turbocatTTY runs the turbocat command on a pseudo-terminal, as a user at
// a terminal does: once the terminal shows prompt (if any), it types input.
// It returns what the terminal showed.
func turbocatTTY(t *testing.T, env []string, prompt, input string, args ...string) cliResult {
	t.Helper()
	cmd := cliCommand(t, append([]string{"TERM=xterm"}, env...), args...)
	tty, err := pty.Start(cmd)
	require.NoError(t, err)
	defer tty.Close()
	var mu sync.Mutex
	var out bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf) // EIO once the command has exited
			mu.Lock()
			out.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	shown := func() string {
		mu.Lock()
		defer mu.Unlock()
		return out.String()
	}
	if input != "" {
		if prompt != "" {
			require.Eventually(t, func() bool { return strings.Contains(shown(), prompt) }, 20*time.Second, 10*time.Millisecond,
				"the terminal never showed %q", prompt)
		}
		_, err = io.WriteString(tty, input)
		require.NoError(t, err)
	}
	<-done
	code := 0
	if err := cmd.Wait(); err != nil {
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee)
		code = ee.ExitCode()
	}
	return cliResult{stdout: screen(shown()), code: code}
}

// screen is the text a terminal shows for out: "\r\x1b[K" (carriage
// return, erase line) removes the line written so far.
func screen(out string) string {
	out = strings.ReplaceAll(out, "\r\n", "\n")
	var b strings.Builder
	for {
		before, after, found := strings.Cut(out, "\r\x1b[K")
		b.WriteString(before)
		if !found {
			return b.String()
		}
		s := b.String()
		b.Reset()
		b.WriteString(s[:strings.LastIndexByte(s, '\n')+1])
		out = after
	}
}

// startDev starts turbocat dev on a fresh schema, as TestEndToEndOnDev does.
func startDev(t *testing.T) *devServer {
	t.Helper()
	_, schema := pgtest.NewSchema(t)
	port := freePort(t)
	d := &devServer{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", port), logs: &bytes.Buffer{}, env: []string{
		"TURBOCAT_TEST_DEV=1",
		"DATABASE_URL=" + pgtest.URL() + "&search_path=" + schema,
		fmt.Sprintf("PORT=%d", port),
		fmt.Sprintf("TURBOCAT_PUBLIC_URL=http://127.0.0.1:%d", port),
		"TURBOCAT_SFN_ADDR=127.0.0.1:0",
		"TURBOCAT_JWT_SECRET=cli-test-secret-cli-test-secret-0123456",
		"TURBOCAT_SECRETS_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
		"TURBOCAT_LOG_LEVEL=warn",
		// The subtests share one user, and apply sends a request per
		// resource: on a fast machine they outran the default burst.
		"TURBOCAT_RATE_LIMIT=1000", "TURBOCAT_RATE_BURST=1000",
	}}
	d.start()
	t.Cleanup(func() {
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		_ = d.cmd.Wait()
	})
	return d
}

// TestCLIAgainstDev drives the turbocat client commands against a real
// turbocat dev: login with an API key, run --wait of a parallel workflow
// and of a failing one, logs -f, listings.
func TestCLIAgainstDev(t *testing.T) {
	if testing.Short() {
		t.Skip("starts turbocat dev; skipped with -short")
	}
	d := startDev(t)

	var sess struct{ AccessToken string }
	require.Equal(t, 201, d.call("POST", "/api/v1/auth/register", "", map[string]string{"email": "cli@example.com", "password": "correct horse battery"}, &sess))
	tok := sess.AccessToken
	var key struct{ Key string }
	require.Equal(t, 201, d.call("POST", "/api/v1/api-keys", tok, map[string]any{"name": "cli", "scopes": []string{
		"agents:read", "agents:write", "templates:read", "workflows:read", "workflows:write", "workflows:execute", "executions:read", "executions:write", "deployments:read", "deployments:write", "secrets:read", "secrets:write"}}, &key))
	var ok, bad struct{ ID string }
	require.Equal(t, 201, d.call("POST", "/api/v1/agents", tok, map[string]any{"name": "work", "type": "code", "config": map[string]any{
		"source": `function main(input) { console.log("ran " + input.key); return {key: input.key}; }`}}, &ok))
	require.Equal(t, 201, d.call("POST", "/api/v1/agents", tok, map[string]any{"name": "boom", "type": "code", "config": map[string]any{
		"source": `function main(input) { throw new Error("kaboom"); }`}}, &bad))
	step := func(agent, k string, deps ...string) map[string]any {
		return map[string]any{"key": k, "agentId": agent, "dependsOn": deps, "inputs": map[string]any{"key": k}}
	}
	require.Equal(t, 201, d.call("POST", "/api/v1/workflows", tok, map[string]any{"name": "fan", "steps": []map[string]any{
		step(ok.ID, "a"), step(ok.ID, "b", "a"), step(ok.ID, "c", "a"), step(ok.ID, "d", "b", "c")}}, nil))
	require.Equal(t, 201, d.call("POST", "/api/v1/workflows", tok, map[string]any{"name": "fails", "steps": []map[string]any{
		step(ok.ID, "first"), step(bad.ID, "second", "first")}}, nil))

	cfg := t.TempDir()
	env := []string{"TURBOCAT_API_URL=" + d.base, "XDG_CONFIG_HOME=" + cfg}

	r := turbocat(t, env, "", "whoami")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "not logged in")

	// A server that is not there: the error says what to check.
	closed := "http://127.0.0.1:" + fmt.Sprint(freePort(t))
	r = turbocat(t, []string{"TURBOCAT_API_URL=" + closed, "XDG_CONFIG_HOME=" + t.TempDir(), "TURBOCAT_API_KEY=tc_x"}, "", "workflows", "list")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "cannot reach the Turbocat API at "+closed+": check TURBOCAT_API_URL")

	r = turbocat(t, env, "", "login", "--api-key", "tc_000000000000_"+strings.Repeat("0", 72))
	require.Equal(t, 1, r.code, r.stdout)
	require.Contains(t, r.stderr, "UNAUTHORIZED")

	r = turbocat(t, env, "", "login", "--api-key", key.Key)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "Logged in to "+d.base+" as cli@example.com")
	credFile := filepath.Join(cfg, "turbocat", "credentials.json")
	st, err := os.Stat(credFile)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	raw, err := os.ReadFile(credFile)
	require.NoError(t, err)
	require.Contains(t, string(raw), key.Key)

	r = turbocat(t, env, "", "whoami")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "cli@example.com")
	require.Contains(t, r.stdout, "API key")

	// CI: the key in the environment, nothing stored.
	r = turbocat(t, []string{"TURBOCAT_API_URL=" + d.base, "XDG_CONFIG_HOME=" + t.TempDir(), "TURBOCAT_API_KEY=" + key.Key}, "", "whoami", "-o", "json")
	require.Equal(t, 0, r.code, r.stderr)
	var me map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &me), r.stdout)
	require.Equal(t, "cli@example.com", me["email"])

	t.Run("login with email and password", func(t *testing.T) {
		env := []string{"TURBOCAT_API_URL=" + d.base, "XDG_CONFIG_HOME=" + t.TempDir()}
		r := turbocat(t, env, "wrong password\n", "login", "--email", "cli@example.com", "--password-stdin")
		require.Equal(t, 1, r.code)
		require.Contains(t, r.stderr, "login: UNAUTHORIZED")
		r = turbocat(t, env, "correct horse battery\n", "login", "--email", "cli@example.com", "--password-stdin")
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stdout, "as cli@example.com")
		r = turbocat(t, env, "", "whoami")
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stdout, "cli@example.com")
		require.Contains(t, r.stdout, "via session")
		r = turbocat(t, env, "", "logout")
		require.Equal(t, 0, r.code, r.stderr)

		// At a terminal the password is asked for and not echoed.
		r = turbocatTTY(t, env, "Password: ", "correct horse battery\n", "login", "--email", "cli@example.com")
		require.Equal(t, 0, r.code, r.stdout)
		require.Contains(t, r.stdout, "Password: \nLogged in to "+d.base+" as cli@example.com")
		require.NotContains(t, r.stdout, "correct horse battery")
		r = turbocat(t, env, "", "logout")
		require.Equal(t, 0, r.code, r.stderr)
		r = turbocat(t, env, "", "whoami")
		require.Equal(t, 1, r.code)
		require.Contains(t, r.stderr, "not logged in")
	})

	t.Run("run --wait of a parallel workflow succeeds", func(t *testing.T) {
		r := turbocat(t, env, "", "run", "fan", "--wait")
		t.Logf("turbocat run fan --wait:\n%s", r.stdout)
		require.Equal(t, 0, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		require.Regexp(t, `^execution [0-9a-f-]{36} started$`, lines[0])
		for _, k := range []string{"a", "b", "c", "d"} {
			require.Regexp(t, `(?m)^step `+k+` completed`, r.stdout)
		}
		require.Regexp(t, `^execution [0-9a-f-]{36} completed`, lines[len(lines)-2])
		require.True(t, strings.HasPrefix(lines[len(lines)-1], "output: "), r.stdout)
		// a ends before b and c, which end before d.
		idx := func(k string) int { return strings.Index(r.stdout, "step "+k+" ") }
		require.Less(t, idx("a"), idx("b"))
		require.Less(t, idx("a"), idx("c"))
		require.Less(t, idx("b"), idx("d"))
		require.Less(t, idx("c"), idx("d"))

		id := strings.Fields(lines[0])[1]
		var ex struct{ Status string }
		d.call("GET", "/api/v1/executions/"+id, tok, nil, &ex)
		require.Equal(t, "completed", ex.Status)
	})

	t.Run("replay prints the changed step and exits 2", func(t *testing.T) {
		// An account of its own: the other subtests count the first one's
		// agents and workflows.
		var sess struct{ AccessToken string }
		require.Equal(t, 201, d.call("POST", "/api/v1/auth/register", "", map[string]string{"email": "replay@example.com", "password": "correct horse battery"}, &sess))
		tok := sess.AccessToken
		var key struct{ Key string }
		require.Equal(t, 201, d.call("POST", "/api/v1/api-keys", tok, map[string]any{"name": "cli", "scopes": []string{
			"agents:read", "workflows:read", "workflows:execute", "executions:read", "executions:write"}}, &key))
		env := []string{"TURBOCAT_API_URL=" + d.base, "XDG_CONFIG_HOME=" + t.TempDir(), "TURBOCAT_API_KEY=" + key.Key}
		var echo, count struct{ ID string }
		require.Equal(t, 201, d.call("POST", "/api/v1/agents", tok, map[string]any{"name": "echo", "type": "code", "config": map[string]any{
			"source": `function main(input) { return input; }`}}, &echo))
		require.Equal(t, 201, d.call("POST", "/api/v1/agents", tok, map[string]any{"name": "count", "type": "code", "config": map[string]any{
			"source": `function main(input) { return {n: 1, key: input.key}; }`}}, &count))
		require.Equal(t, 201, d.call("POST", "/api/v1/workflows", tok, map[string]any{"name": "counted", "steps": []map[string]any{
			step(echo.ID, "a"), step(count.ID, "b", "a")}}, nil))
		r := turbocat(t, env, "", "run", "counted", "--wait")
		require.Equal(t, 0, r.code, r.stderr)
		run := strings.Fields(r.stdout)[1]

		r = turbocat(t, env, "", "replay", run)
		require.Equal(t, 0, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
		require.Contains(t, r.stdout, "= a\n= b\nno step changed\n")

		require.Equal(t, 200, d.call("PATCH", "/api/v1/agents/"+count.ID, tok, map[string]any{"config": map[string]any{
			"source": `function main(input) { return {n: 2, key: input.key}; }`}}, nil))
		r = turbocat(t, env, "", "replay", run)
		t.Logf("turbocat replay:\n%s", r.stdout)
		require.Equal(t, 2, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
		require.Contains(t, r.stdout, "= a\n~ b\n    $.n: 1 → 2\n1 step changed: b\n")
	})

	t.Run("run --wait on a terminal marks the steps", func(t *testing.T) {
		r := turbocatTTY(t, env, "", "", "run", "fan", "--wait")
		t.Logf("terminal:\n%q", r.stdout)
		require.Equal(t, 0, r.code, r.stdout)
		for _, k := range []string{"a", "b", "c", "d"} {
			require.Regexp(t, `(?m)^  \x{2713} `+k+` \d+(\.\d+)?m?s$`, r.stdout)
		}
		require.NotContains(t, r.stdout, "step a completed", "plain lines are for pipes")
		require.Regexp(t, `(?m)^execution [0-9a-f-]{36} completed in `, r.stdout)

		r = turbocatTTY(t, env, "", "", "run", "fails", "--wait")
		require.Equal(t, 1, r.code, r.stdout)
		require.Regexp(t, `(?m)^  \x{2713} first `, r.stdout)
		require.Regexp(t, `(?m)^  \x{2717} second .*kaboom`, r.stdout)
	})

	t.Run("run --logs streams the log lines, then the outcome", func(t *testing.T) {
		r := turbocat(t, env, "", "run", "fan", "--logs")
		require.Equal(t, 0, r.code, "%s %s", r.stdout, r.stderr)
		for _, k := range []string{"a", "b", "c", "d"} {
			require.Regexp(t, `(?m) info  \[`+k+`\] ran `+k+`$`, r.stdout)
		}
		require.Regexp(t, `(?m)^execution [0-9a-f-]{36} completed in `, r.stdout)
		require.Less(t, strings.Index(r.stdout, "[d] ran d"), strings.Index(r.stdout, " completed in "), "the outcome comes after the lines")
		r = turbocat(t, env, "", "run", "fails", "--logs")
		require.Equal(t, 1, r.code, r.stdout)
		require.Regexp(t, `(?m)^execution [0-9a-f-]{36} failed`, r.stdout)
	})

	t.Run("run --wait of a failing workflow exits 1", func(t *testing.T) {
		r := turbocat(t, env, "", "run", "fails", "--wait", "--input", `{"n": 1}`)
		require.Equal(t, 1, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
		require.Regexp(t, `(?m)^step first completed`, r.stdout)
		require.Regexp(t, `(?m)^step second failed.*kaboom`, r.stdout)
		require.Regexp(t, `(?m)^execution [0-9a-f-]{36} failed`, r.stdout)
		require.Contains(t, r.stderr, "failed")
	})

	t.Run("run of an unknown workflow prints the API error", func(t *testing.T) {
		r := turbocat(t, env, "", "run", "nope", "--wait")
		require.Equal(t, 1, r.code)
		require.Contains(t, r.stderr, `NOT_FOUND: no workflow named "nope"`)
		r = turbocat(t, env, "", "run", "fan", "--input", "[1]")
		require.Equal(t, 1, r.code)
		require.Contains(t, r.stderr, "--input must be a JSON object")
	})

	t.Run("logs -f ends when the run ends", func(t *testing.T) {
		r := turbocat(t, env, "", "run", "fan")
		require.Equal(t, 0, r.code, r.stderr)
		id := strings.TrimSpace(r.stdout)
		require.Regexp(t, `^[0-9a-f-]{36}$`, id)
		r = turbocat(t, env, "", "logs", "-f", id)
		require.Equal(t, 0, r.code, r.stderr)
		for _, k := range []string{"a", "b", "c", "d"} {
			require.Regexp(t, `(?m)\[`+k+`\] ran `+k+`$`, r.stdout)
		}
		var ex struct{ Status string }
		d.call("GET", "/api/v1/executions/"+id, tok, nil, &ex)
		require.Equal(t, "completed", ex.Status, "logs -f returned only once the run ended")

		// Without -f the same lines, and -o json gives one object a line.
		r2 := turbocat(t, env, "", "logs", id, "-o", "json")
		require.Equal(t, 0, r2.code, r2.stderr)
		n := 0
		for _, l := range strings.Split(strings.TrimSpace(r2.stdout), "\n") {
			var line struct{ Sequence int64 }
			require.NoError(t, json.Unmarshal([]byte(l), &line))
			require.Positive(t, line.Sequence)
			n++
		}
		require.Equal(t, strings.Count(r.stdout, "\n"), n)
	})

	t.Run("cancel a running run", func(t *testing.T) {
		var slow struct{ ID string }
		require.Equal(t, 201, d.call("POST", "/api/v1/agents", tok, map[string]any{"name": "slow", "type": "code", "config": map[string]any{
			"source": `function main(input) { const end = Date.now() + 3000; while (Date.now() < end) {} return {}; }`}}, &slow))
		require.Equal(t, 201, d.call("POST", "/api/v1/workflows", tok, map[string]any{"name": "slow", "steps": []map[string]any{
			step(slow.ID, "wait")}}, nil))
		r := turbocat(t, env, "", "run", "slow")
		require.Equal(t, 0, r.code, r.stderr)
		id := strings.TrimSpace(r.stdout)
		r = turbocat(t, env, "", "executions", "cancel", id)
		require.Equal(t, 0, r.code, r.stderr)
		require.Equal(t, "execution "+id+" cancelled\n", r.stdout)
		r = turbocat(t, env, "", "run", "slow", "--wait", "-o", "json")
		require.Equal(t, 0, r.code, "a run that completes exits 0: %s", r.stderr)
		var ex struct{ Status string }
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &ex), r.stdout)
		require.Equal(t, "completed", ex.Status)
		d.call("GET", "/api/v1/executions/"+id, tok, nil, &ex)
		require.Equal(t, "cancelled", ex.Status)
		require.Equal(t, 200, d.call("DELETE", "/api/v1/workflows/"+mustID(t, d, tok, "slow"), tok, nil, nil))
		require.Equal(t, 200, d.call("DELETE", "/api/v1/agents/"+slow.ID, tok, nil, nil))
	})

	t.Run("listings", func(t *testing.T) {
		r := turbocat(t, env, "", "workflows", "list")
		require.Equal(t, 0, r.code, r.stderr)
		require.Regexp(t, `^ID\s+NAME\s+VERSION\s+STEPS`, r.stdout)
		require.Regexp(t, `(?m)\sfan\s+1\s+4\s`, r.stdout)
		require.Regexp(t, `(?m)\sfails\s+1\s+2\s`, r.stdout)

		r = turbocat(t, env, "", "agents", "get", "boom", "-o", "json")
		require.Equal(t, 0, r.code, r.stderr)
		var agent map[string]any
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &agent))
		require.Equal(t, bad.ID, agent["id"])

		r = turbocat(t, env, "", "executions", "list", "--workflow", "fails", "-o", "json")
		require.Equal(t, 0, r.code, r.stderr)
		var execs []map[string]any
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &execs))
		require.Len(t, execs, 3, "the failing workflow ran three times: on a terminal, with --logs and with --wait")
		for _, e := range execs {
			require.Equal(t, "failed", e["status"])
		}

		r = turbocat(t, env, "", "executions", "list", "--workflow", "fails")
		require.Equal(t, 0, r.code, r.stderr)
		require.Regexp(t, `(?m)^[0-9a-f-]{36}\s+fails\s+1\s+failed\s+api\s`, r.stdout, "tables name the workflow")

		r = turbocat(t, env, "", "executions", "get", execs[0]["id"].(string))
		require.Equal(t, 0, r.code, r.stderr)
		require.Regexp(t, `(?m)^[0-9a-f-]{36}\s+fails\s+1\s+failed\s`, r.stdout)
		require.Regexp(t, `(?m)^second\s+failed`, r.stdout)

		r = turbocat(t, env, "", "executions", "retry", execs[0]["id"].(string), "--wait")
		require.Equal(t, 1, r.code, "a retry of a failing run fails again: %s", r.stdout)
		require.Regexp(t, `(?m)^execution [0-9a-f-]{36} failed`, r.stdout)

		r = turbocat(t, env, "", "templates", "list", "-o", "yaml")
		require.Equal(t, 1, r.code)
		require.Contains(t, r.stderr, `unknown output format "yaml"`)
	})

	t.Run("workflows as files", func(t *testing.T) {
		examples := filepath.Join("..", "..", "examples", "workflows")
		r := turbocat(t, env, "", "validate", "-f", examples)
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stdout, "OK: 4 agent(s), 1 workflow(s), 1 deployment(s), 0 secret(s)")

		bad := filepath.Join(t.TempDir(), "bad.yaml")
		require.NoError(t, os.WriteFile(bad, []byte(badFile), 0o600))
		r = turbocat(t, env, "", "validate", "-f", bad)
		require.Equal(t, 1, r.code)
		require.Contains(t, r.stderr, bad+":8: unknown Workflow field \"colour\"")
		require.Contains(t, r.stderr, bad+":15: workflow \"loop\": steps[1].dependsOn[0]: dependency cycle: x → y → x")
		require.Contains(t, r.stderr, bad+":21: workflow \"refs\": step \"first\": agent \"ghost\" is not defined in the files")
		require.Contains(t, r.stderr, `steps[0].inputs: {{steps.second.output}} references step "second", which is not upstream of "first"`)
		require.Contains(t, r.stderr, bad+`:27: workflow "refs": schedule: `)
		require.Contains(t, r.stderr, bad+`:32: agent "a2" uses secret "TOKEN": declare it in the files (kind: Secret, name: TOKEN)`)
		require.Contains(t, r.stderr, bad+`:38: deployment refs/Prod: environment must be 1 to 32 lowercase letters`)
		require.Contains(t, r.stderr, bad+`:41: deployment ghost/dev: workflow "ghost" is not defined in the files`)
		require.Contains(t, r.stderr, bad+`:47: deployment refs/dev: timezone "Mars/Olympus" is not an IANA time zone`)
		require.Contains(t, r.stderr, bad+`:51: secret values never go in files: remove value and set it with `+"`turbocat secrets set TOKEN2`")

		r = turbocat(t, env, "", "plan", "-f", examples)
		require.Equal(t, 2, r.code, "changes pending: %s %s", r.stdout, r.stderr)
		require.Contains(t, r.stdout, "+ create agent split-words\n")
		require.Contains(t, r.stdout, "+ create workflow text-stats\n")
		require.Contains(t, r.stdout, "+ create deployment text-stats/staging\n")
		require.Contains(t, r.stdout, "Plan: 6 to create, 0 to update, 0 to delete.")

		r = turbocat(t, env, "", "apply", "-f", examples)
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stdout, "created workflow text-stats")
		require.Regexp(t, `created deployment text-stats/staging\n  deployment [0-9a-f-]{36}, version 1, webhook http://\S+/hooks/\S+\n  signing secret not shown`, r.stdout)
		require.NotContains(t, r.stdout, "whsec_", "apply keeps signing secrets out of CI logs unless asked")

		for _, args := range [][]string{{"plan", "-f", examples}, {"apply", "-f", examples}} {
			r = turbocat(t, env, "", args...)
			require.Equal(t, 0, r.code, "%v: %s %s", args, r.stdout, r.stderr)
			require.Contains(t, r.stdout, "No changes", "%v", args)
		}

		// The applied workflow runs: its parallel steps join in report.
		r = turbocat(t, env, "", "run", "text-stats", "--wait", "--input", `{"text": "the quick brown fox"}`)
		require.Equal(t, 0, r.code, "%s %s", r.stdout, r.stderr)
		require.Contains(t, r.stdout, `4 words, the longest is quick`)

		// Deploy to prod (the secret shown once), redeploy, roll back.
		r = turbocat(t, env, "", "deploy", "text-stats")
		require.Equal(t, 1, r.code)
		require.Contains(t, r.stderr, "--env is required")
		r = turbocat(t, env, "", "deploy", "text-stats", "--env", "prod", "-o", "json")
		require.Equal(t, 0, r.code, r.stderr)
		var dep struct {
			ID, Status, SigningSecret, EndpointURL string
			Version                                int
		}
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &dep))
		require.Equal(t, "active", dep.Status)
		require.True(t, strings.HasPrefix(dep.SigningSecret, "whsec_"))
		r = turbocat(t, env, "", "rollback", dep.ID)
		require.Equal(t, 1, r.code, "nothing to roll back to yet")
		require.Contains(t, r.stderr, "CONFLICT")
		r = turbocat(t, env, "", "deploy", "text-stats", "--env", "prod")
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stdout, "signing secret unchanged: the environment keeps its webhook URL and secret\n")
		require.Contains(t, r.stdout, "webhook: "+dep.EndpointURL+"\n")
		r = turbocat(t, env, "", "run", "text-stats", "--env", "prod", "--wait", "-o", "json", "--input", `{"text": "a bb"}`)
		require.Equal(t, 0, r.code, "%s %s", r.stdout, r.stderr)
		var deployedRun struct {
			Status       string
			DeploymentID string
		}
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &deployedRun), r.stdout)
		require.Equal(t, "completed", deployedRun.Status)
		require.NotEmpty(t, deployedRun.DeploymentID, "the run is recorded with prod's deployment")
		r = turbocat(t, env, "", "run", "text-stats", "--env", "nowhere")
		require.Equal(t, 1, r.code)
		require.Contains(t, r.stderr, `NOT_FOUND: the workflow has no active deployment in "nowhere"`)
		r = turbocat(t, env, "", "deploy", "text-stats", "--env", "qa")
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stdout, "signing secret (shown once, store it now): whsec_")

		// A changed description is an update of that field only.
		dir := t.TempDir()
		for _, f := range []string{"agents.yaml", "text-stats.yaml"} {
			b, err := os.ReadFile(filepath.Join(examples, f))
			require.NoError(t, err)
			b = bytes.ReplaceAll(b, []byte("computed in parallel"), []byte("in parallel, v2"))
			require.NoError(t, os.WriteFile(filepath.Join(dir, f), b, 0o600))
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, "deployments.yaml"), []byte("kind: Deployment\nworkflow: text-stats\nenvironment: staging\n"), 0o600))
		r = turbocat(t, env, "", "plan", "-f", dir)
		require.Equal(t, 2, r.code, r.stderr)
		require.Equal(t, `~ update workflow text-stats (description)
    description: "Word statistics of a text, computed in parallel" → "Word statistics of a text, in parallel, v2"
~ update deployment text-stats/staging (version)
    version: 1 → 2
Plan: 0 to create, 2 to update, 0 to delete.
`, r.stdout)
		r = turbocat(t, env, "", "plan", "-f", dir, "-o", "json")
		require.Equal(t, 2, r.code, r.stderr)
		var planned []struct {
			Action, Kind, Name string
			Fields             []string
			Diff               map[string]struct{ Server, Files any }
		}
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &planned), r.stdout)
		require.Len(t, planned, 2)
		require.Equal(t, "Workflow", planned[0].Kind)
		require.Equal(t, "Word statistics of a text, in parallel, v2", planned[0].Diff["description"].Files)
		require.Equal(t, "Word statistics of a text, computed in parallel", planned[0].Diff["description"].Server)
		require.Equal(t, []string{"version"}, planned[1].Fields)
		require.Equal(t, 2.0, planned[1].Diff["version"].Files)
		r = turbocat(t, env, "", "apply", "-f", dir)
		require.Equal(t, 0, r.code, r.stderr)
		require.Regexp(t, `updated deployment text-stats/staging\n  deployment [0-9a-f-]{36}, version 2,`, r.stdout)
		var wf struct {
			Description string
			Version     int
		}
		var list struct{ Items []struct{ ID, Name string } }
		require.Equal(t, 200, d.call("GET", "/api/v1/workflows?search=text-stats", tok, nil, &list))
		require.Len(t, list.Items, 1)
		d.call("GET", "/api/v1/workflows/"+list.Items[0].ID, tok, nil, &wf)
		require.Equal(t, "Word statistics of a text, in parallel, v2", wf.Description)
		require.Equal(t, 2, wf.Version)

		// A step's change shows as a diff of the steps, with context.
		b, err := os.ReadFile(filepath.Join(dir, "text-stats.yaml"))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "text-stats.yaml"), bytes.Replace(b, []byte("timeoutSeconds: 30"), []byte("timeoutSeconds: 45"), 1), 0o600))
		r = turbocat(t, env, "", "plan", "-f", dir)
		require.Equal(t, 2, r.code, r.stderr)
		t.Logf("plan of a step change:\n%s", r.stdout)
		require.Contains(t, r.stdout, "~ update workflow text-stats (steps)\n    steps:\n")
		require.Contains(t, r.stdout, "\n      -   timeoutSeconds: 30\n      +   timeoutSeconds: 45\n")
		require.Contains(t, r.stdout, "    version: 2 → 3\n")
		r = turbocat(t, env, "", "apply", "-f", dir)
		require.Equal(t, 0, r.code, r.stderr)

		// export writes files that validate and plan back to no change.
		r = turbocat(t, env, "", "export")
		require.Equal(t, 0, r.code, r.stderr)
		t.Logf("turbocat export:\n%s", r.stdout)
		exported := filepath.Join(t.TempDir(), "all.yaml")
		require.NoError(t, os.WriteFile(exported, []byte(r.stdout), 0o600))
		require.Contains(t, r.stdout, "kind: Deployment\nworkflow: text-stats\nenvironment: prod\nversion: 1\n", "prod stayed on version 1: export pins it")
		r = turbocat(t, env, "", "validate", "-f", exported)
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stdout, "OK: 6 agent(s), 3 workflow(s), 3 deployment(s), 0 secret(s)")
		r = turbocat(t, env, "", "plan", "-f", exported, "--prune")
		require.Equal(t, 0, r.code, "%s %s", r.stdout, r.stderr)
		r = turbocat(t, env, "", "apply", "-f", exported, "--prune")
		require.Equal(t, 0, r.code, "%s %s", r.stdout, r.stderr)
		require.Equal(t, "No changes: the server matches the files.\n", r.stdout)

		// As a tree of files, and as JSON: the same round trip.
		tree := filepath.Join(t.TempDir(), "repo")
		r = turbocat(t, env, "", "export", "--dir", tree)
		require.Equal(t, 0, r.code, r.stderr)
		require.Equal(t, "wrote 9 file(s) to "+tree+"\n", r.stdout, "6 agents and 3 workflows")
		wfFile, err := os.ReadFile(filepath.Join(tree, "workflows", "text-stats.yaml"))
		require.NoError(t, err)
		require.Contains(t, string(wfFile), "kind: Workflow\nname: text-stats\n")
		require.Equal(t, 3, strings.Count(string(wfFile), "kind: Deployment"), "a workflow's file holds its deployments")
		require.FileExists(t, filepath.Join(tree, "agents", "split-words.yaml"))
		r = turbocat(t, env, "", "plan", "-f", tree, "--prune")
		require.Equal(t, 0, r.code, "%s %s", r.stdout, r.stderr)
		r = turbocat(t, env, "", "export", "--dir", tree)
		require.Equal(t, 1, r.code)
		require.Contains(t, r.stderr, "is not empty")
		r = turbocat(t, env, "", "export", "--format", "json")
		require.Equal(t, 0, r.code, r.stderr)
		asJSON := filepath.Join(t.TempDir(), "all.json")
		require.NoError(t, os.WriteFile(asJSON, []byte(r.stdout), 0o600))
		r = turbocat(t, env, "", "plan", "-f", asJSON, "--prune")
		require.Equal(t, 0, r.code, "%s %s", r.stdout, r.stderr)

		// Promotion: prod moves when its pinned version does.
		b, err = os.ReadFile(exported)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(exported, bytes.Replace(b, []byte("environment: prod\nversion: 1\n"), []byte("environment: prod\nversion: 9\n"), 1), 0o600))
		r = turbocat(t, env, "", "plan", "-f", exported)
		require.Equal(t, 1, r.code, "%s %s", r.stdout, r.stderr)
		require.Contains(t, r.stderr, "deployment text-stats/prod: workflow text-stats has no version 9 (apply leaves it at version 3)")
		require.NoError(t, os.WriteFile(exported, bytes.Replace(b, []byte("environment: prod\nversion: 1\n"), []byte("environment: prod\nversion: 3\n"), 1), 0o600))
		r = turbocat(t, env, "", "plan", "-f", exported)
		require.Equal(t, 2, r.code, "%s %s", r.stdout, r.stderr)
		require.Equal(t, "~ update deployment text-stats/prod (version)\n    version: 1 → 3\nPlan: 0 to create, 1 to update, 0 to delete.\n", r.stdout)
		r = turbocat(t, env, "", "apply", "-f", exported)
		require.Equal(t, 0, r.code, "%s %s", r.stdout, r.stderr)
		require.Regexp(t, `updated deployment text-stats/prod\n  deployment [0-9a-f-]{36}, version 3,`, r.stdout)

		// --prune deletes what the files do not define, once confirmed:
		// --yes, or an answer at a terminal.
		r = turbocat(t, env, "", "apply", "-f", dir, "--prune")
		require.Equal(t, 1, r.code)
		require.Contains(t, r.stderr, "add --yes")
		r = turbocatTTY(t, env, "Type yes to confirm:", "no\n", "apply", "-f", dir, "--prune")
		require.Equal(t, 1, r.code, r.stdout)
		require.Contains(t, r.stdout, "- delete workflow fan\n")
		require.Contains(t, r.stdout, "Type yes to confirm:")
		require.Contains(t, r.stdout, "apply cancelled: nothing changed")
		r = turbocat(t, env, "", "plan", "-f", dir, "--prune")
		require.Equal(t, 2, r.code)
		require.Contains(t, r.stdout, "- delete deployment text-stats/prod (its webhook and schedule stop)\n")
		require.Contains(t, r.stdout, "- delete workflow fan\n")
		require.Contains(t, r.stdout, "- delete agent boom\n")
		r = turbocat(t, env, "", "apply", "-f", dir, "--prune", "--yes")
		require.Equal(t, 0, r.code, "%s %s", r.stdout, r.stderr)
		r = turbocat(t, env, "", "workflows", "list", "-o", "json")
		require.Equal(t, 0, r.code, r.stderr)
		var names []map[string]any
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &names))
		require.Len(t, names, 1)
		require.Equal(t, "text-stats", names[0]["name"])
		r = turbocat(t, env, "", "deployments", "list", "-o", "json")
		require.Equal(t, 0, r.code, r.stderr)
		var deps []map[string]any
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &deps))
		require.Len(t, deps, 1, "prod deactivated, staging kept: %s", r.stdout)
		require.Equal(t, "staging", deps[0]["environment"])
	})

	t.Run("secrets by name and scheduled deployments", func(t *testing.T) {
		notify := filepath.Join("..", "..", "examples", "notify")
		r := turbocat(t, env, "", "validate", "-f", notify)
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stdout, "OK: 2 agent(s), 1 workflow(s), 2 deployment(s), 1 secret(s)")

		r = turbocat(t, env, "", "plan", "-f", notify)
		require.Equal(t, 1, r.code, "a declared secret missing on the server fails the plan: %s", r.stdout)
		require.Contains(t, r.stdout, "! secret SLACK_WEBHOOK_URL is not set on the server: set it with `turbocat secrets set SLACK_WEBHOOK_URL`\n")
		require.Contains(t, r.stderr, "1 secret(s) the files declare are not set on the server (SLACK_WEBHOOK_URL)")
		r = turbocat(t, env, "", "apply", "-f", notify)
		require.Equal(t, 1, r.code)
		require.Contains(t, r.stderr, "SLACK_WEBHOOK_URL")
		require.Empty(t, r.stdout, "nothing applied")

		const value = "https://hooks.slack.example/services/T0/B0/canary-7f3a9"
		r = turbocat(t, env, "", "secrets", "set", "SLACK_WEBHOOK_URL", "--from-env", "SLACK_URL")
		require.Equal(t, 1, r.code)
		require.Contains(t, r.stderr, "environment variable SLACK_URL is empty or not set")
		r = turbocat(t, append(slices.Clone(env), "SLACK_URL="+value), "", "secrets", "set", "SLACK_WEBHOOK_URL", "--from-env", "SLACK_URL")
		require.Equal(t, 0, r.code, r.stderr)
		require.Equal(t, "secret SLACK_WEBHOOK_URL set\n", r.stdout)
		r = turbocat(t, env, value+"\n", "secrets", "set", "OTHER")
		require.Equal(t, 0, r.code, r.stderr)
		r = turbocatTTY(t, env, "Value of TYPED: ", value+"\n", "secrets", "set", "TYPED")
		require.Equal(t, 0, r.code, r.stdout)
		require.Contains(t, r.stdout, "secret TYPED set")
		require.NotContains(t, r.stdout, value, "a typed secret is not echoed")
		r = turbocat(t, env, "", "secrets", "delete", "TYPED")
		require.Equal(t, 0, r.code, r.stderr)
		r = turbocat(t, env, "", "secrets", "list")
		require.Equal(t, 0, r.code, r.stderr)
		require.Regexp(t, `(?m)^OTHER\s`, r.stdout)
		require.Regexp(t, `(?m)^SLACK_WEBHOOK_URL\s`, r.stdout)

		r = turbocat(t, env, "", "plan", "-f", notify)
		require.Equal(t, 2, r.code, "%s %s", r.stdout, r.stderr)
		require.Contains(t, r.stdout, "+ create deployment daily-hello/prod\n")
		require.Contains(t, r.stdout, "Plan: 5 to create, 0 to update, 0 to delete.")
		r = turbocat(t, env, "", "apply", "-f", notify, "--show-secrets")
		require.Equal(t, 0, r.code, "%s %s", r.stdout, r.stderr)
		require.Equal(t, 2, strings.Count(r.stdout, "signing secret (shown once, store it now): whsec_"), r.stdout)
		r = turbocat(t, env, "", "plan", "-f", notify)
		require.Equal(t, 0, r.code, "%s %s", r.stdout, r.stderr)

		r = turbocat(t, env, "", "deployments", "list", "--workflow", "daily-hello")
		require.Equal(t, 0, r.code, r.stderr)
		require.Regexp(t, `(?m)\sprod\s+1\s+active\s+cron\(0 9 \? \* MON-FRI \*\) Europe/Paris\s`, r.stdout)
		require.Regexp(t, `(?m)\sstaging\s+1\s+active\s+-\s`, r.stdout)
		var prodID string
		r = turbocat(t, env, "", "deployments", "list", "--workflow", "daily-hello", "--env", "prod", "-o", "json")
		require.Equal(t, 0, r.code, r.stderr)
		var deps []map[string]any
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &deps))
		require.Len(t, deps, 1)
		prodID = deps[0]["id"].(string)
		r = turbocat(t, env, "", "deployments", "get", prodID)
		require.Equal(t, 0, r.code, r.stderr)
		require.Regexp(t, `next runs: \S+T09:00:00\+0[12]:00, `, r.stdout, "09:00 in Paris time")
		r = turbocat(t, env, "", "deployments", "rotate-secret", prodID)
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stdout, "new signing secret (shown once, store it now): whsec_")

		// export declares the secrets by name; their values appear nowhere.
		r = turbocat(t, env, "", "export")
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stdout, "kind: Secret\nname: SLACK_WEBHOOK_URL\n")
		require.Contains(t, r.stdout, "kind: Deployment\nworkflow: daily-hello\nenvironment: staging\nschedule: \"\"\n")
		require.NotContains(t, r.stdout, "canary-7f3a9")
		require.NotContains(t, d.logs.String(), "canary-7f3a9")

		// A changed schedule redeploys that environment only.
		dir := t.TempDir()
		b, err := os.ReadFile(filepath.Join(notify, "notify.yaml"))
		require.NoError(t, err)
		b = bytes.Replace(b, []byte("timezone: Europe/Paris"), []byte("timezone: America/New_York"), 1)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "notify.yaml"), b, 0o600))
		r = turbocat(t, env, "", "plan", "-f", dir)
		require.Equal(t, 2, r.code, r.stderr)
		require.Equal(t, "~ update deployment daily-hello/prod (timezone)\n    timezone: \"Europe/Paris\" → \"America/New_York\"\nPlan: 0 to create, 1 to update, 0 to delete.\n", r.stdout)
		r = turbocat(t, env, "", "apply", "-f", dir)
		require.Equal(t, 0, r.code, r.stderr)
		r = turbocat(t, env, "", "plan", "-f", dir)
		require.Equal(t, 0, r.code, "%s %s", r.stdout, r.stderr)

		// Both directories together, pruned: nothing of either is lost,
		// and the secret no file declares is kept (values cannot be
		// restored).
		r = turbocat(t, env, "", "apply", "-f", dir, "-f", filepath.Join("..", "..", "examples", "workflows"), "--prune", "--yes")
		require.Equal(t, 0, r.code, "%s %s", r.stdout, r.stderr)
		require.NotContains(t, r.stdout, "deleted deployment daily-hello")
		r = turbocat(t, env, "", "secrets", "list", "-o", "json")
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stdout, `"OTHER"`)
		r = turbocat(t, env, "", "secrets", "delete", "OTHER")
		require.Equal(t, 0, r.code, r.stderr)
		r = turbocat(t, env, "", "secrets", "delete", "OTHER")
		require.Equal(t, 1, r.code)
		require.Contains(t, r.stderr, "NOT_FOUND")
	})

	t.Run("apply an llm agent whose tool is a workflow of the same files", func(t *testing.T) {
		// The workflow runs the llm agent, whose tool is that workflow:
		// neither can be saved first as the files say.
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "all.yaml"), []byte(wfToolFiles), 0o600))
		r := turbocat(t, env, "", "validate", "-f", dir)
		require.Equal(t, 0, r.code, r.stderr)
		r = turbocat(t, env, "", "apply", "-f", dir)
		require.Equal(t, 0, r.code, "%s %s", r.stdout, r.stderr)
		require.Contains(t, r.stdout, "created agent researcher\n")
		require.Contains(t, r.stdout, "created workflow research\n")
		require.Contains(t, r.stdout, "updated agent researcher (its workflow tools)\n")
		var agents struct {
			Items []struct {
				Name   string
				Config struct{ Tools []map[string]any }
			}
		}
		require.Equal(t, 200, d.call("GET", "/api/v1/agents?search=researcher", tok, nil, &agents))
		require.Len(t, agents.Items, 1)
		require.Equal(t, []map[string]any{{"agent": "lookup-tool"}, {"workflow": "research"}}, agents.Items[0].Config.Tools)
		r = turbocat(t, env, "", "plan", "-f", dir)
		require.Equal(t, 0, r.code, "applied files plan to no change: %s %s", r.stdout, r.stderr)
	})
}

const wfToolFiles = `kind: Agent
name: lookup-tool
type: code
config: {source: "function main(i) { return {found: i.q}; }"}
---
kind: Agent
name: researcher
type: llm
config:
  provider: openai
  model: gpt-4o-mini
  baseUrl: http://127.0.0.1:9/v1
  prompt: "Research {{input.q}}"
  tools:
    - agent: lookup-tool
    - workflow: research
---
kind: Workflow
name: research
steps:
  - key: ask
    agent: researcher
    inputs: {q: "{{inputs.q}}"}
`

const badFile = `kind: Agent
name: a1
type: code
config: {source: "function main(i) { return i; }"}
---
kind: Workflow
name: loop
colour: red
steps:
  - key: x
    agent: a1
    dependsOn: [y]
  - key: y
    agent: a1
    dependsOn: [x]
---
kind: Workflow
name: refs
steps:
  - key: first
    agent: ghost
    inputs:
      v: "{{steps.second.output}}"
  - key: second
    agent: a1
    dependsOn: [first]
schedule: rate(0 minutes)
---
kind: Agent
name: a2
type: api
config:
  method: GET
  url: "https://example.com/?t={{secrets.TOKEN}}"
---
kind: Deployment
workflow: refs
environment: Prod
---
kind: Deployment
workflow: ghost
environment: dev
---
kind: Deployment
workflow: refs
environment: dev
timezone: Mars/Olympus
---
kind: Secret
name: TOKEN2
value: hunter2
`

func mustID(t *testing.T, d *devServer, tok, name string) string {
	t.Helper()
	var list struct{ Items []struct{ ID, Name string } }
	require.Equal(t, 200, d.call("GET", "/api/v1/workflows?search="+name, tok, nil, &list))
	for _, w := range list.Items {
		if w.Name == name {
			return w.ID
		}
	}
	t.Fatalf("no workflow %s", name)
	return ""
}

// TestEveryCommandHelpHasExamples: `turbocat CMD --help` shows examples for
// every command and subcommand.
func TestEveryCommandHelpHasExamples(t *testing.T) {
	t.Parallel()
	root := newRoot(&cli.Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard})
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		for _, sub := range c.Commands() {
			if sub.Name() == "help" || sub.Name() == "completion" || sub.Hidden {
				continue
			}
			p := append(slices.Clone(path), sub.Name())
			paths = append(paths, p)
			walk(sub, p)
		}
	}
	walk(root, nil)
	require.Greater(t, len(paths), 20)
	for _, p := range append(paths, []string{}) {
		var out bytes.Buffer
		require.NoError(t, run(context.Background(), append(slices.Clone(p), "--help"), &out, io.Discard))
		require.Contains(t, out.String(), "Examples:\n  ", "turbocat %s --help", strings.Join(p, " "))
	}
}

// TestCIExampleUsesRealCommands: every turbocat command line of the GitHub
// Actions example names a real command with flags it accepts.
func TestCIExampleUsesRealCommands(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("..", "..", "examples", "ci", "turbocat.yml"))
	require.NoError(t, err)
	var lines []string
	for _, l := range strings.Split(string(raw), "\n") {
		l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "run:"))
		if strings.HasPrefix(l, "turbocat ") {
			lines = append(lines, l)
		}
	}
	require.GreaterOrEqual(t, len(lines), 4, "validate, plan, secrets set, apply")
	for _, l := range lines {
		root := newRoot(&cli.Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard})
		cmd, rest, err := root.Find(strings.Fields(l)[1:])
		require.NoError(t, err, l)
		require.NotEqual(t, root, cmd, l)
		require.NoError(t, cmd.ParseFlags(rest), l)
		require.NoError(t, cmd.ValidateArgs(cmd.Flags().Args()), l)
	}
}

// TestInit: turbocat init writes a starter repository whose files validate
// and whose CI workflow is the example's; it never overwrites.
func TestInit(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "repo")
	r := turbocat(t, nil, "", "init", dir)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "Wrote 4 files to "+dir)
	r = turbocat(t, nil, "", "validate", "-f", filepath.Join(dir, "workflows"))
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "OK: 4 agent(s), 1 workflow(s), 1 deployment(s), 0 secret(s)")
	ci, err := os.ReadFile(filepath.Join(dir, ".github", "workflows", "turbocat.yml"))
	require.NoError(t, err)
	want, err := os.ReadFile(filepath.Join("..", "..", "examples", "ci", "turbocat.yml"))
	require.NoError(t, err)
	require.Equal(t, string(want), string(ci))

	require.NoError(t, os.WriteFile(filepath.Join(dir, "workflows", "agents.yaml"), []byte("# mine\n"), 0o600))
	r = turbocat(t, nil, "", "init", dir)
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "already exists")
	mine, err := os.ReadFile(filepath.Join(dir, "workflows", "agents.yaml"))
	require.NoError(t, err)
	require.Equal(t, "# mine\n", string(mine), "init never overwrites")
}

// TestEveryCommandHasJSONOutput: every client command takes -o json, as the
// README says (issue 18, item 7: validate, apply, export, init and login
// lacked it).
func TestEveryCommandHasJSONOutput(t *testing.T) {
	t.Parallel()
	root := newRoot(&cli.Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard})
	var missing []string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Name() == "help" || sub.Name() == "completion" || sub.GroupID == "server" {
				continue
			}
			if !sub.HasSubCommands() && sub.Flags().Lookup("output") == nil {
				missing = append(missing, sub.CommandPath())
			}
			walk(sub)
		}
	}
	walk(root)
	require.Empty(t, missing, "commands without -o json")

	// validate -o json: the problems as data, exit code 1.
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "w.yaml"), []byte("kind: Workflow\nname: w\nsteps:\n  - key: a\n    agent: ghost\n"), 0o600))
	r := turbocat(t, nil, "", "validate", "-f", dir, "-o", "json")
	require.Equal(t, 1, r.code, r.stderr)
	var v struct {
		Valid    bool
		Problems []struct {
			File    string
			Line    int
			Message string
		}
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &v), r.stdout)
	require.False(t, v.Valid)
	require.Len(t, v.Problems, 1)
	require.Equal(t, 5, v.Problems[0].Line)
	require.Contains(t, v.Problems[0].Message, `agent "ghost" is not defined in the files`)

	// init -o json lists what it wrote; validate -o json then says valid.
	repo := filepath.Join(t.TempDir(), "repo")
	r = turbocat(t, nil, "", "init", repo, "-o", "json")
	require.Equal(t, 0, r.code, r.stderr)
	var written struct{ Files []string }
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &written), r.stdout)
	require.Contains(t, written.Files, ".github/workflows/turbocat.yml")
	r = turbocat(t, nil, "", "validate", "-f", filepath.Join(repo, "workflows"), "-o", "json")
	require.Equal(t, 0, r.code, r.stderr)
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &v), r.stdout)
	require.True(t, v.Valid)
}

// TestUnknownSubcommandAndVersion: `turbocat executions show` is an error
// naming the subcommands there are, not the help with exit code 0; and
// `turbocat --version` answers (issue 18, item 7).
func TestUnknownSubcommandAndVersion(t *testing.T) {
	t.Parallel()
	r := turbocat(t, nil, "", "executions", "show")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, `unknown command "show" for "turbocat executions" (it has: cancel, get, list, retry)`)
	require.Empty(t, r.stdout)
	r = turbocat(t, nil, "", "deployments")
	require.Equal(t, 0, r.code, "a group alone shows its help")
	require.Contains(t, r.stdout, "Available Commands:")
	r = turbocat(t, nil, "", "--version")
	require.Equal(t, 0, r.code, r.stderr)
	require.Regexp(t, `^turbocat \S+.* go1\.\d+`, r.stdout)
}
