package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// cluster is the private Postgres cluster: initdb'd in a directory of its
// own, listening on 127.0.0.1:port only, trust auth. As root it runs as the
// postgres OS user (initdb and postgres refuse root).
type cluster struct {
	bin  string // directory of initdb, pg_ctl
	dir  string // owned by the cluster's OS user: data/, log, socket
	port int
	asPG bool // run the tools through runuser -u postgres
}

// findPGBin returns the directory of initdb and pg_ctl: want if set, else
// `pg_config --bindir`, else the newest /usr/lib/postgresql/*/bin.
func findPGBin(want string) (string, error) {
	has := func(d string) bool {
		_, err1 := os.Stat(filepath.Join(d, "initdb"))
		_, err2 := os.Stat(filepath.Join(d, "pg_ctl"))
		return err1 == nil && err2 == nil
	}
	if want != "" {
		if !has(want) {
			return "", fmt.Errorf("-pgbin %s: no initdb and pg_ctl there", want)
		}
		return want, nil
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if d := strings.TrimSpace(string(out)); has(d) {
			return d, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) > pgMajor(dirs[j]) })
	for _, d := range dirs {
		if has(d) {
			return d, nil
		}
	}
	return "", errors.New("no Postgres server binaries: pg_config --bindir has no initdb/pg_ctl and /usr/lib/postgresql/*/bin is empty (install postgresql, or pass -pgbin)")
}

func pgMajor(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// newCluster initdb's a cluster in dir (created here) for port.
func newCluster(ctx context.Context, bin, dir string, port int) (*cluster, error) {
	c := &cluster{bin: bin, dir: dir, port: port, asPG: os.Geteuid() == 0}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if c.asPG {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root needs the postgres OS user to run the cluster: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
	}
	if _, err := c.tool(ctx, 2*time.Minute, "initdb", "-D", c.data(), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		return nil, err
	}
	// fsync off: the faults here kill processes, not the machine, so the
	// page cache survives them and crash recovery is exercised as in
	// production; the shared disk is spared the flushes.
	conf := fmt.Sprintf("\n# turbocat chaos\nlisten_addresses = '127.0.0.1'\nport = %d\nunix_socket_directories = '%s'\nmax_connections = 200\nfsync = off\n", port, c.dir)
	f, err := os.OpenFile(filepath.Join(c.data(), "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.WriteString(conf); err != nil {
		return nil, err
	}
	return c, f.Close()
}

func (c *cluster) data() string { return filepath.Join(c.dir, "data") }

// Log is the server log file.
func (c *cluster) Log() string { return filepath.Join(c.dir, "postgres.log") }

// URL is the connection URL of database db.
func (c *cluster) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable&connect_timeout=5", c.port, db)
}

// tool runs one of the cluster's programs (as the postgres user when root)
// and returns its combined output.
func (c *cluster) tool(ctx context.Context, timeout time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	argv := append([]string{filepath.Join(c.bin, name)}, args...)
	if c.asPG {
		argv = append([]string{"runuser", "-u", "postgres", "--"}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = c.dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// pg_ctl leaves the postmaster holding our pipes' ends only until it
	// detaches; do not wait on them beyond the command itself.
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("%s: %w: %s", name, err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// Start starts the postmaster and waits until it accepts connections. After
// a kill -9 the orphaned backends may hold the old shared memory for a
// moment ("pre-existing shared memory block is still in use"): it tries
// again until timeout.
func (c *cluster) Start(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		_, err := c.tool(ctx, timeout, "pg_ctl", "-D", c.data(), "-l", c.Log(), "-w", "-t", "60", "start")
		if err == nil {
			return c.ping(ctx, 10*time.Second)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// Restart is `pg_ctl restart -m fast`.
func (c *cluster) Restart(ctx context.Context) error {
	if _, err := c.tool(ctx, 2*time.Minute, "pg_ctl", "-D", c.data(), "-l", c.Log(), "-w", "-t", "60", "-m", "fast", "restart"); err != nil {
		return err
	}
	return c.ping(ctx, 10*time.Second)
}

// Stop stops the cluster at once (teardown).
func (c *cluster) Stop(ctx context.Context) error {
	if _, err := c.tool(ctx, 30*time.Second, "pg_ctl", "-D", c.data(), "-w", "-t", "20", "-m", "immediate", "stop"); err != nil {
		if pid, perr := c.PostmasterPID(); perr == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		return err
	}
	return nil
}

// PostmasterPID reads the postmaster's pid from postmaster.pid.
func (c *cluster) PostmasterPID() (int, error) {
	b, err := os.ReadFile(filepath.Join(c.data(), "postmaster.pid"))
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strconv.Atoi(strings.TrimSpace(line))
}

// Kill sends SIGKILL to the postmaster (only: its backends notice its death
// by themselves, as in a real crash) and waits until it is gone.
func (c *cluster) Kill(ctx context.Context) error {
	pid, err := c.PostmasterPID()
	if err != nil {
		return fmt.Errorf("postmaster pid: %w", err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill -9 postmaster %d: %w", pid, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(pid, 0) == nil && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// ping connects to the postgres database until it answers or timeout.
func (c *cluster) ping(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		conn, err := pgx.Connect(ctx, c.URL("postgres"))
		if err == nil {
			err = conn.Ping(ctx)
			conn.Close(context.Background())
			if err == nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("postgres on :%d does not answer: %w", c.port, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// exec runs statements on database db.
func (c *cluster) exec(ctx context.Context, db string, sql ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URL(db))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	for _, s := range sql {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

// FreshDB drops and creates database db.
func (c *cluster) FreshDB(ctx context.Context, db string) error {
	return c.exec(ctx, "postgres", "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)", "CREATE DATABASE "+db)
}
