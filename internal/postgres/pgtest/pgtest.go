// Package pgtest gives tests a real, migrated Postgres: each call to Pool
// creates a fresh schema, applies every migration to it and drops it when the
// test ends, so tests may commit freely and run in parallel without seeing
// each other's rows.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/turbocat/turbocat/internal/postgres"
)

// DefaultURL is the test database used when TURBOCAT_TEST_DATABASE_URL is
// unset: the local cluster this project's .ci/run starts.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/turbocat_test?sslmode=disable"

// URL returns the test database URL.
func URL() string {
	if u := os.Getenv("TURBOCAT_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

var ensureOnce sync.Once
var ensureErr error

// ensureDatabase creates the test database if it does not exist yet.
func ensureDatabase(ctx context.Context) error {
	ensureOnce.Do(func() {
		cfg, err := pgx.ParseConfig(URL())
		if err != nil {
			ensureErr = fmt.Errorf("parse %s: %w", URL(), err)
			return
		}
		name := cfg.Database
		cfg.Database = "postgres"
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			ensureErr = fmt.Errorf("connect to Postgres at %s:%d (is it running? `make db` starts it): %w", cfg.Host, cfg.Port, err)
			return
		}
		defer conn.Close(ctx)
		var exists bool
		if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
			ensureErr = err
			return
		}
		if !exists {
			if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
				// Another test binary may have created it in the meantime.
				if err2 := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err2 != nil || !exists {
					ensureErr = fmt.Errorf("create database %s: %w", name, err)
				}
			}
		}
	})
	return ensureErr
}

// NewSchema creates an empty schema with a random name and returns a pool
// whose connections use it, plus the schema name. The schema is dropped and
// the pool closed when t ends. Nothing is migrated.
func NewSchema(t testing.TB) (*pgxpool.Pool, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := ensureDatabase(ctx); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "test_" + hex.EncodeToString(b[:])

	cfg, err := pgxpool.ParseConfig(URL())
	if err != nil {
		t.Fatalf("pgtest: parse url: %v", err)
	}
	admin, err := pgx.ConnectConfig(ctx, cfg.ConnConfig.Copy())
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("pgtest: create schema: %v", err)
	}
	_ = admin.Close(ctx)

	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	cfg.MaxConns = 8
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("pgtest: pool: %v", err)
	}
	t.Cleanup(func() {
		pool.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig.Copy())
		if err != nil {
			t.Logf("pgtest: drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Logf("pgtest: drop schema %s: %v", schema, err)
		}
	})
	return pool, schema
}

// Pool returns a pool on a fresh schema with every migration applied.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, _ := NewSchema(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := postgres.Migrate(ctx, pool); err != nil {
		t.Fatalf("pgtest: migrate: %v", err)
	}
	return pool
}
