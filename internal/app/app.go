// Package app is the composition root: it turns a validated Config into a
// running Turbocat (pool, services, HTTP server). Every main — the local
// binary and each Lambda function — builds through here, so the wiring
// exists once.
package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"strconv"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/turbocat/turbocat/internal/auth"
	"github.com/turbocat/turbocat/internal/catalog"
	"github.com/turbocat/turbocat/internal/config"
	"github.com/turbocat/turbocat/internal/executor/httpexec"
	"github.com/turbocat/turbocat/internal/httpapi"
	"github.com/turbocat/turbocat/internal/metrics"
	"github.com/turbocat/turbocat/internal/postgres"
	"github.com/turbocat/turbocat/internal/secrets"
	"github.com/turbocat/turbocat/internal/service"
)

// App is a wired Turbocat: the pool, the stores, one service per resource
// and the HTTP server over them.
type App struct {
	Config *config.Config
	Logger *slog.Logger
	Pool   *pgxpool.Pool
	DB     *postgres.DB
	// The services, one per resource, that the HTTP server and the
	// non-API functions call.
	httpapi.Services
	// Outbox dispatches the lifecycle events every change writes with it:
	// to Webhooks (delivered in process) by default, to the EventBridge
	// bus on AWS.
	Outbox *service.Outbox
	// Reconciler keeps run rows in line with the engine.
	Reconciler *service.Reconciler
	// Live carries the text models generate while steps run from the
	// step runner to the log streams (through Postgres NOTIFY).
	Live   *postgres.LiveHub
	Server *httpapi.Server
}

// NewLogger returns the process logger: JSON in Lambda or when asked, text
// otherwise, at the configured level.
func NewLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// New connects to the database and wires the services. It does not migrate.
func New(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*App, error) {
	pool, err := postgres.Open(ctx, cfg.DatabaseURL, cfg.DBMaxConns)
	if err != nil {
		return nil, err
	}
	a, err := NewWithPool(cfg, logger, pool)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return a, nil
}

// NewWithPool wires the services on an existing pool (tests use a pool on
// their own schema).
func NewWithPool(cfg *config.Config, logger *slog.Logger, pool *pgxpool.Pool) (*App, error) {
	tokens, err := auth.NewTokens(cfg.JWTSecret, cfg.AccessTokenTTL, nil)
	if err != nil {
		return nil, fmt.Errorf("TURBOCAT_JWT_SECRET: %w", err)
	}
	db := postgres.NewDB(pool)
	a := &App{Config: cfg, Logger: logger, Pool: pool, DB: db}
	a.Health, a.Metrics = db, metrics.New()
	a.Auth = &service.Auth{
		Users: db, APIKeys: db, Audit: db,
		Hasher:     auth.NewHasher(auth.DefaultArgon2, max(2, runtime.GOMAXPROCS(0))),
		Tokens:     tokens,
		RefreshTTL: cfg.RefreshTokenTTL,
	}
	a.APIKeys = &service.APIKeys{Store: db}
	a.Audit = &service.Audit{Store: db}
	a.Secrets = &service.Secrets{Store: db}
	if len(cfg.SecretsKey) > 0 {
		c, err := secrets.NewAESGCM(cfg.SecretsKey)
		if err != nil {
			return nil, fmt.Errorf("TURBOCAT_SECRETS_KEY: %w", err)
		}
		a.Secrets.Cipher = c
	}
	limits := service.Limits{MaxAgents: cfg.MaxAgents, MaxWorkflows: cfg.MaxWorkflows}
	a.Agents = &service.Agents{Store: db, Audit: db, Limits: limits, Workflows: db}
	a.Workflows = &service.Workflows{Store: db, Agents: db, Limits: limits}
	a.Templates = &service.Templates{Store: db, Agents: a.Agents, Workflows: a.Workflows}
	allow, err := allowCIDRs(cfg)
	if err != nil {
		return nil, err
	}
	a.Webhooks = &service.Webhooks{Store: db, Secrets: a.Secrets, Logger: logger.With("component", "webhooks"),
		Client: httpexec.NewClient(httpexec.ClientOptions{AllowCIDRs: allow, Own: OwnAddrs(cfg)})}
	a.Outbox = &service.Outbox{Store: db, Publisher: a.Webhooks, Logger: logger.With("component", "outbox")}
	// The run and deployment services answer EUNAVAILABLE until an engine
	// is connected (connectEngine).
	a.Executions = &service.Executions{Store: db, Workflows: db, Agents: db, Deployments: db, Logger: logger, Metrics: a.Metrics}
	a.Executions.Links = &service.ApprovalLinks{Key: linkKey(cfg), BaseURL: cfg.PublicURL}
	a.Live = postgres.NewLiveHub(pool, logger.With("component", "live"))
	a.Executions.Live = a.Live
	a.Reconciler = &service.Reconciler{Executions: a.Executions, Logger: logger.With("component", "reconciler"), Transient: postgres.IsTransient}
	a.Deployments = &service.Deployments{Store: db, Workflows: db, Executions: a.Executions, Secrets: a.Secrets, PublicURL: cfg.PublicURL}
	a.Server, err = httpapi.NewServer(httpapi.Config{
		AllowedOrigins: cfg.AllowedOrigins, RateLimit: cfg.RateLimit, RateBurst: cfg.RateBurst,
		IPRateLimit: cfg.IPRateLimit, AuthRateLimit: cfg.AuthRateLimit,
	}, a.Services, logger)
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Migrate applies the migrations and seeds the built-in templates; both are
// idempotent.
func (a *App) Migrate(ctx context.Context) error {
	applied, err := postgres.Migrate(ctx, a.Pool)
	if err != nil {
		return err
	}
	if len(applied) > 0 {
		a.Logger.Info("migrations applied", "versions", applied)
	}
	builtins, err := catalog.Builtins()
	if err != nil {
		return err
	}
	if err := a.DB.SeedBuiltinTemplates(ctx, builtins); err != nil {
		return fmt.Errorf("seed templates: %w", err)
	}
	return nil
}

// Close releases the pool.
func (a *App) Close() {
	if a.Live != nil {
		a.Live.Close()
	}
	a.Pool.Close()
}

// allowCIDRs parses TURBOCAT_HTTP_ALLOW_CIDRS for the SSRF-safe client.
func allowCIDRs(cfg *config.Config) ([]netip.Prefix, error) {
	var allow []netip.Prefix
	for _, c := range cfg.HTTPAllowCIDRs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, fmt.Errorf("TURBOCAT_HTTP_ALLOW_CIDRS: %q: %w", c, err)
		}
		allow = append(allow, p)
	}
	return allow, nil
}

// OwnAddrs are the listen addresses of this server's endpoints (the API on
// TURBOCAT_LISTEN:PORT, the Step Functions endpoint on TURBOCAT_SFN_ADDR),
// which no agent or webhook may reach. A host name other than localhost is
// left out (it cannot be a listen address here).
func OwnAddrs(cfg *config.Config) []netip.AddrPort {
	var out []netip.AddrPort
	add := func(hostport string) {
		host, port, err := net.SplitHostPort(hostport)
		if err != nil {
			return
		}
		p, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			return
		}
		if host == "" {
			host = "0.0.0.0"
		} else if host == "localhost" {
			host = "127.0.0.1"
		}
		if a, err := netip.ParseAddr(host); err == nil {
			out = append(out, netip.AddrPortFrom(a, uint16(p)))
		}
	}
	add(net.JoinHostPort(cfg.Listen, strconv.Itoa(cfg.Port)))
	add(cfg.SFNAddr)
	return out
}

// linkKey is the key approval links are signed with: derived from the
// secrets key, never the key itself; on AWS, where user secrets are
// encrypted with KMS and there is no local secrets key, from the access
// token key (the steprunner, which signs links, and the executions
// function, which checks them, both read it). A process with neither (or
// with the stand-in token key of a function that checks no tokens) signs
// and accepts no links.
func linkKey(cfg *config.Config) []byte {
	base := cfg.SecretsKey
	if len(base) == 0 && !allZero(cfg.JWTSecret) {
		base = cfg.JWTSecret
	}
	if len(base) == 0 {
		return nil
	}
	m := hmac.New(sha256.New, base)
	m.Write([]byte("turbocat approval links v1"))
	return m.Sum(nil)
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
