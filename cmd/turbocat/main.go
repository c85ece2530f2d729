// Command turbocat runs Turbocat on one machine and drives it: `turbocat
// dev` serves the whole API on one HTTP server against Postgres (migrations
// applied on start), `turbocat migrate` applies the database migrations, and
// the client commands (login, run, logs, executions, ...) of internal/cli
// call the API.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	goruntime "runtime"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/turbocat/turbocat/internal/app"
	"github.com/turbocat/turbocat/internal/app/localengine"
	"github.com/turbocat/turbocat/internal/cli"
	"github.com/turbocat/turbocat/internal/config"
	"github.com/turbocat/turbocat/internal/executor/codeexec"
	"github.com/turbocat/turbocat/internal/postgres"
	"github.com/turbocat/turbocat/internal/runtime/sfnapi"
	"github.com/turbocat/turbocat/web"
)

// version is the release this binary was built as; set it with
// -ldflags "-X main.version=v1.2.3". Builds without it show "dev" and the
// VCS revision when the build recorded one.
var version = "dev"

// versionString is what turbocat --version prints after "turbocat".
func versionString() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
	}
	return fmt.Sprintf("%s %s %s/%s", v, goruntime.Version(), goruntime.GOOS, goruntime.GOARCH)
}

func main() {
	// Code agents run in sandboxed worker processes of this same binary.
	codeexec.MaybeRunWorker()
	os.Exit(runMain(os.Args[1:]))
}

// runMain runs the command line and returns the exit code: 0, 1 on error,
// or the code a command asked for (a failed run, a plan with changes).
func runMain(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, args, os.Stdout, os.Stderr)
	if err != nil {
		var ee *cli.ExitError
		if !errors.As(err, &ee) || ee.Err != nil {
			fmt.Fprintln(os.Stderr, "turbocat:", err)
		}
	}
	return cli.ExitCode(err)
}

// run executes the command line args; the client commands read standard
// input and the environment of the process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root := newRoot(&cli.Env{Stdin: os.Stdin, Stdout: stdout, Stderr: stderr})
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}

// newRoot is the turbocat command tree: the server commands (dev, migrate)
// and the API client commands of internal/cli.
func newRoot(env *cli.Env) *cobra.Command {
	root := &cobra.Command{
		Use:   "turbocat",
		Short: "turbocat runs AI-agent workflows",
		Long: `turbocat runs AI-agent workflows.

Server commands (configuration from the environment; see the README's table):
  turbocat dev       serve the API locally (PORT, DATABASE_URL; applies migrations)
  turbocat migrate   apply database migrations to DATABASE_URL

Client commands talk to TURBOCAT_API_URL (default ` + cli.DefaultAPIURL + `) with the
credentials of turbocat login, or TURBOCAT_API_KEY.`,
		Example: `  turbocat dev
  turbocat login --api-key tc_...
  turbocat run digest --input '{"url": "https://example.com"}' --wait`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       versionString(),
	}
	root.SetVersionTemplate("turbocat {{.Version}}\n")
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	root.SetIn(env.Stdin)
	root.AddGroup(&cobra.Group{ID: "server", Title: "Server:"})
	root.AddCommand(
		&cobra.Command{
			Use:     "dev",
			GroupID: "server",
			Short:   "Serve the API, the web console and the local runtime",
			Long: `Serves every API route, the web console and a Step Functions-compatible
endpoint on this machine against Postgres (DATABASE_URL), applying migrations
on start. Unfinished runs resume after a restart.`,
			Example: "  DATABASE_URL=postgres://postgres@127.0.0.1:5432/turbocat TURBOCAT_JWT_SECRET=... turbocat dev\n  PORT=8080 turbocat dev",
			Args:    cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return dev(cmd.Context(), env.Stderr, nil)
			},
		},
		&cobra.Command{
			Use:     "migrate",
			GroupID: "server",
			Short:   "Apply database migrations to DATABASE_URL",
			Example: "  DATABASE_URL=postgres://postgres@127.0.0.1:5432/turbocat turbocat migrate",
			Args:    cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return migrate(cmd.Context(), env.Stderr)
			},
		},
	)
	cli.AddCommands(root, env)
	return root
}

func load(needJWT bool) (*config.Config, error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(needJWT); err != nil {
		return nil, err
	}
	return cfg, nil
}

// migrated loads the configuration, connects and applies the migrations.
func migrated(ctx context.Context, needJWT bool, stderr io.Writer) (*app.App, error) {
	cfg, err := load(needJWT)
	if err != nil {
		return nil, err
	}
	if !needJWT {
		cfg.JWTSecret = make([]byte, 32) // issues and checks no tokens
	}
	a, err := app.New(ctx, cfg, app.NewLogger(cfg, stderr))
	if err != nil {
		return nil, err
	}
	if err := a.Migrate(ctx); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

func migrate(ctx context.Context, stderr io.Writer) error {
	a, err := migrated(ctx, false, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	a.Logger.Info("database is up to date", "config", a.Config)
	return nil
}

// dev serves every route on one server until ctx ends. ready, if set,
// receives the listening address.
func dev(ctx context.Context, stderr io.Writer, ready chan<- string) error {
	a, err := migrated(ctx, true, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	cfg, logger := a.Config, a.Logger
	// Every transition of every run is journaled in Postgres, so killing
	// and restarting turbocat dev resumes unfinished runs where they were.
	journalPool, err := postgres.OpenJournalPool(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer journalPool.Close()
	local, err := localengine.Start(ctx, a, postgres.NewRuntimeJournal(journalPool))
	if err != nil {
		return err
	}
	defer local.Close()
	if err := local.RecoverRuns(ctx); err != nil {
		return err
	}
	local.RunBackground(ctx)

	addr := net.JoinHostPort(cfg.Listen, strconv.Itoa(cfg.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s (TURBOCAT_LISTEN, PORT): %w", addr, err)
	}
	srv := &http.Server{
		Handler:           a.LocalHandler(web.Handler()),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	if !web.Built() {
		logger.Warn("the web console is not built: run `make web` (the API works without it)")
	}
	logger.Info("turbocat dev listening", "url", fmt.Sprintf("http://localhost:%d", cfg.Port),
		"api", fmt.Sprintf("http://localhost:%d/api/v1", cfg.Port), "config", cfg)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	// The Step Functions-compatible endpoint: the AWS SDK, the AWS CLI and
	// the sfn adapter drive the local runtime through it.
	sfnLn, err := net.Listen("tcp", cfg.SFNAddr)
	if err != nil {
		return fmt.Errorf("listen on %s (TURBOCAT_SFN_ADDR): %w", cfg.SFNAddr, err)
	}
	creds := sfnapi.Credentials{AccessKeyID: cfg.SFNAccessKeyID, SecretAccessKey: cfg.SFNSecretKey, Token: cfg.SFNToken}
	if creds == (sfnapi.Credentials{}) {
		logger.Warn("the Step Functions endpoint refuses every request: set TURBOCAT_SFN_ACCESS_KEY_ID and TURBOCAT_SFN_SECRET_ACCESS_KEY (make dev writes them to .turbocat/dev.env)")
	}
	sfnSrv := &http.Server{Handler: sfnapi.NewHandler(local.Runtime, logger.With("component", "sfnapi"), sfnapi.WithCredentials(creds)), ReadHeaderTimeout: 5 * time.Second}
	logger.Info("step functions endpoint listening", "endpoint", "http://"+sfnLn.Addr().String())

	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	go func() { errc <- sfnSrv.Serve(sfnLn) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	_ = sfnSrv.Shutdown(sctx)
	return nil
}
