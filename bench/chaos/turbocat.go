package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// devProc is one `turbocat dev` process, in a process group of its own (so
// a kill -9 takes its code workers with it, and Ctrl-C on the terminal
// reaches only the harness, which tears down in order).
type devProc struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, once done is closed
}

// devConfig is how every `turbocat dev` of a scenario is started.
type devConfig struct {
	bin     string
	workDir string // its working directory (anything it writes lands there)
	dbURL   string
	port    int
	sfnPort int
}

func (c devConfig) env() []string {
	env := []string{
		"DATABASE_URL=" + c.dbURL,
		fmt.Sprintf("PORT=%d", c.port),
		fmt.Sprintf("TURBOCAT_SFN_ADDR=127.0.0.1:%d", c.sfnPort),
		fmt.Sprintf("TURBOCAT_PUBLIC_URL=http://127.0.0.1:%d", c.port),
		"TURBOCAT_JWT_SECRET=chaos-secret-chaos-secret-chaos-secret-00",
		"TURBOCAT_SECRETS_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
		"TURBOCAT_HTTP_ALLOW_CIDRS=127.0.0.0/8",
		"TURBOCAT_LOG_LEVEL=info",
		"TURBOCAT_RATE_LIMIT=1000000", "TURBOCAT_RATE_BURST=1000000",
		"TURBOCAT_IP_RATE_LIMIT=1000000", "TURBOCAT_AUTH_RATE_LIMIT=1000000",
	}
	// Nothing else from the caller's environment (DATABASE_URL and the
	// TURBOCAT_* of a developer's shell would point it elsewhere).
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "LANG"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// startDev starts `turbocat dev`, appending its output to logPath, and
// waits until /health answers.
func startDev(ctx context.Context, c devConfig, logPath string) (*devProc, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fmt.Fprintf(f, "\n==== chaos: turbocat dev started %s ====\n", time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(c.bin, "dev")
	cmd.Dir = c.workDir
	cmd.Env = c.env()
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start turbocat dev: %w", err)
	}
	p := &devProc{cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := waitHTTP(ctx, fmt.Sprintf("http://127.0.0.1:%d/health", c.port), 90*time.Second, p.done); err != nil {
		p.Kill()
		return nil, fmt.Errorf("turbocat dev did not become healthy on :%d (log %s): %w", c.port, logPath, err)
	}
	return p, nil
}

// Exited reports whether the process has ended, and how.
func (p *devProc) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// Kill sends SIGKILL to the process group and waits for the process.
func (p *devProc) Kill() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
	}
}

// Stop asks the process to stop (SIGTERM), then kills its group.
func (p *devProc) Stop() {
	if exited, _ := p.Exited(); !exited {
		_ = syscall.Kill(p.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
		}
	}
	// Whatever is left of the group (code workers).
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
	}
}

// waitHTTP polls url until it answers 200, timeout passes, or died closes.
func waitHTTP(ctx context.Context, url string, timeout time.Duration, died <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	var last error
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s: %s", url, resp.Status)
		}
		last = err
		select {
		case <-died:
			return errors.New("the process exited")
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// buildTurbocat builds ./cmd/turbocat of the repository at root into out.
func buildTurbocat(ctx context.Context, root, out string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/turbocat")
	cmd.Dir = root
	b, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build ./cmd/turbocat: %w: %s", err, strings.TrimSpace(string(b)))
	}
	return nil
}
