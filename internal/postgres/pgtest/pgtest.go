// Package pgtest gives tests a real, migrated Postgres: each call to Pool
// creates a fresh schema, applies every migration to it and drops it when the
// test ends, so tests may commit freely and run in parallel without seeing
// each other's rows.
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
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

// Pool returns a pool on a migrated schema that no other test uses while t
// runs, with every table empty. Migrated schemas are reused across tests and
// test binaries (as river's riverdbtest does): a test claims one with a
// session advisory lock, empties its tables and gives it back when it ends,
// so the migrations run once per schema instead of once per test. A schema
// migrated by another version of the migrations is rebuilt.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := ensureDatabase(ctx); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	cfg, err := pgxpool.ParseConfig(URL())
	if err != nil {
		t.Fatalf("pgtest: parse url: %v", err)
	}
	// The claim lives as long as this session: a test binary that dies
	// releases its schemas with its connections.
	lock, err := pgx.ConnectConfig(ctx, cfg.ConnConfig.Copy())
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	schema, err := claimSchema(ctx, lock)
	if err != nil {
		_ = lock.Close(ctx)
		t.Fatalf("pgtest: %v", err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	cfg.MaxConns = 8
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		_ = lock.Close(ctx)
		t.Fatalf("pgtest: pool: %v", err)
	}
	t.Cleanup(func() {
		pool.Close()
		_ = lock.Close(context.Background())
	})
	if err := prepareSchema(ctx, lock, pool, schema); err != nil {
		t.Fatalf("pgtest: prepare schema %s: %v", schema, err)
	}
	return pool
}

// schemaLockClass is the first key of the advisory locks that claim reused
// schemas; the second is the schema's number.
const schemaLockClass = 0x74637374 // "tcst"

// maxReused bounds the reused schemas: more concurrent tests than this
// wait for one to be given back.
const maxReused = 64

// claimSchema takes the advisory lock of the first free reusable schema on
// conn and returns its name.
func claimSchema(ctx context.Context, conn *pgx.Conn) (string, error) {
	for {
		for n := 0; n < maxReused; n++ {
			var ok bool
			if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, $2)`, int32(schemaLockClass), int32(n)).Scan(&ok); err != nil {
				return "", fmt.Errorf("claim schema: %w", err)
			}
			if ok {
				return fmt.Sprintf("test_reused_%02d", n), nil
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("claim schema: all %d reusable schemas are in use: %w", maxReused, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

var (
	fingerprintOnce sync.Once
	fingerprint     string
	fingerprintErr  error
)

// migrationsFingerprint identifies the embedded migrations: a schema marked
// with another fingerprint was migrated by other code and is rebuilt.
func migrationsFingerprint() (string, error) {
	fingerprintOnce.Do(func() {
		ms, err := postgres.Migrations()
		if err != nil {
			fingerprintErr = err
			return
		}
		h := sha256.New()
		for _, m := range ms {
			fmt.Fprintf(h, "%d %s\n%s\n", m.Version, m.Name, m.SQL)
		}
		fingerprint = hex.EncodeToString(h.Sum(nil)[:12])
	})
	return fingerprint, fingerprintErr
}

// prepareSchema leaves schema migrated and empty: a schema migrated by these
// migrations has its tables truncated; any other is dropped and migrated
// again.
func prepareSchema(ctx context.Context, conn *pgx.Conn, pool *pgxpool.Pool, schema string) error {
	want, err := migrationsFingerprint()
	if err != nil {
		return err
	}
	var have *string
	if err := conn.QueryRow(ctx, `SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = $1`, schema).Scan(&have); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	if have != nil && *have == want {
		rows, err := conn.Query(ctx, `SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = $1 AND tablename <> 'schema_migrations'`, schema)
		if err != nil {
			return err
		}
		tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		if len(tables) == 0 {
			return nil
		}
		for i, tb := range tables {
			tables[i] = pgx.Identifier{schema}.Sanitize() + "." + tb
		}
		_, err = conn.Exec(ctx, "TRUNCATE "+strings.Join(tables, ", ")+" RESTART IDENTITY CASCADE")
		return err
	}
	id := pgx.Identifier{schema}.Sanitize()
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+id+" CASCADE"); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+id); err != nil {
		return err
	}
	if _, err := postgres.Migrate(ctx, pool); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	_, err = conn.Exec(ctx, "COMMENT ON SCHEMA "+id+" IS "+quoteLiteral(want))
	return err
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
