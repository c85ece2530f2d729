// Command turbocat runs Turbocat on one machine: `turbocat dev` serves the
// whole API on one HTTP server against Postgres (migrations applied on
// start), and `turbocat migrate` applies the database migrations.
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
	"syscall"
	"time"

	"github.com/turbocat/turbocat/internal/app"
	"github.com/turbocat/turbocat/internal/config"
	"github.com/turbocat/turbocat/internal/executor/codeexec"
	"github.com/turbocat/turbocat/internal/postgres"
	"github.com/turbocat/turbocat/internal/runtime/sfnapi"
	"github.com/turbocat/turbocat/web"
)

const usage = `turbocat runs AI-agent workflows.

Usage:
  turbocat dev       serve the API locally (PORT, DATABASE_URL; applies migrations)
  turbocat migrate   apply database migrations to DATABASE_URL

Configuration is read from the environment; see the README's table.
`

func main() {
	// Code agents run in sandboxed worker processes of this same binary.
	codeexec.MaybeRunWorker()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "turbocat:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	switch args[0] {
	case "dev":
		return dev(ctx, stderr, nil)
	case "migrate":
		return migrate(ctx, stderr)
	}
	return fmt.Errorf("unknown command %q\n\n%s", args[0], usage)
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
	local, err := a.StartLocal(ctx, postgres.NewRuntimeJournal(journalPool))
	if err != nil {
		return err
	}
	defer local.Close()
	if err := a.RecoverRuns(ctx, local); err != nil {
		return err
	}
	local.RunScheduler(ctx)

	ln, err := net.Listen("tcp", fmt.Sprintf(":%d", cfg.Port))
	if err != nil {
		return fmt.Errorf("listen on port %d (PORT): %w", cfg.Port, err)
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
	sfnSrv := &http.Server{Handler: sfnapi.NewHandler(local.Runtime, logger.With("component", "sfnapi")), ReadHeaderTimeout: 5 * time.Second}
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
