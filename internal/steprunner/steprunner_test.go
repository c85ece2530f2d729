package steprunner_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/postgres"
	"github.com/turbocat/turbocat/internal/postgres/pgtest"
	"github.com/turbocat/turbocat/internal/steprunner"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func runnerOn(t *testing.T, pool *pgxpool.Pool, logs *bytes.Buffer) *steprunner.Runner {
	db := postgres.NewDB(pool)
	return &steprunner.Runner{Store: db, Workflows: db, Agents: db, Transient: postgres.IsTransient,
		Logger: slog.New(slog.NewTextHandler(logs, nil))}
}

const payload = `{"action":"step","executionId":"6f1c2b9e-8d4a-4f3e-9a51-0c2d3e4f5a6b","stepKey":"fetch"}`

// A database that cannot be reached fails the step with the name the
// compiled state machines retry, and a cause that says what happens next:
// never the connection string or the driver's message.
func TestDatabaseDownIsRetriedNotLeaked(t *testing.T) {
	t.Parallel()
	url := "postgres://turbocat:hunter2@" + freeAddr(t) + "/turbocat_secret_db?sslmode=disable&connect_timeout=2"
	cfg, err := pgxpool.ParseConfig(url)
	require.NoError(t, err)
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	var logs bytes.Buffer
	_, err = runnerOn(t, pool, &logs).Handle(context.Background(), []byte(payload))
	var se *turbocat.StepError
	require.True(t, errors.As(err, &se), "%v", err)
	require.Equal(t, turbocat.ErrStoreUnavailable, se.Name)
	require.Contains(t, se.Cause, "retried")
	for _, leak := range []string{"hunter2", "turbocat_secret_db", "127.0.0.1", "dial", "connect"} {
		require.NotContains(t, se.Cause, leak)
	}
	require.Contains(t, logs.String(), "database unavailable", "the detail goes to the server log")
}

// Any other unexpected failure is Turbocat.Internal with a generic cause.
func TestInternalErrorIsGeneric(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	var logs bytes.Buffer
	r := runnerOn(t, pool, &logs)
	pool.Close() // "closed pool": not something waiting cures
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := r.Handle(ctx, []byte(payload))
	var se *turbocat.StepError
	require.True(t, errors.As(err, &se), "%v", err)
	require.Equal(t, steprunner.ErrInternal, se.Name)
	require.False(t, strings.Contains(se.Cause, "pool"), "the cause is generic: %s", se.Cause)
	require.Contains(t, se.Cause, "6f1c2b9e-8d4a-4f3e-9a51-0c2d3e4f5a6b", "it names the run to look up in the log")
	require.Contains(t, logs.String(), "closed pool")
}

func TestIsTransient(t *testing.T) {
	t.Parallel()
	require.False(t, postgres.IsTransient(nil))
	require.False(t, postgres.IsTransient(errors.New("boom")))
	require.False(t, postgres.IsTransient(context.Canceled))
	require.False(t, postgres.IsTransient(turbocat.NotFound("execution")))
}
