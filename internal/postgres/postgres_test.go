package postgres_test

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/postgres"
	"github.com/turbocat/turbocat/internal/postgres/pgtest"
	"github.com/turbocat/turbocat/internal/turbocat"
)

func setup(t *testing.T) (*postgres.DB, context.Context) {
	t.Helper()
	return postgres.NewDB(pgtest.Pool(t)), context.Background()
}

func newUser(t *testing.T, db *postgres.DB, email string) *turbocat.User {
	t.Helper()
	u := &turbocat.User{Email: email, PasswordHash: "x", Role: turbocat.RoleUser}
	require.NoError(t, db.CreateUser(context.Background(), u))
	return u
}

func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	applied, err := postgres.Migrate(context.Background(), pool)
	require.NoError(t, err)
	require.Empty(t, applied, "a second run applies nothing")
	all, err := postgres.Migrations()
	require.NoError(t, err)
	var n int
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT count(*) FROM schema_migrations`).Scan(&n))
	require.Equal(t, len(all), n)
}

func TestUserEmailUnique(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	newUser(t, db, "a@example.com")
	err := db.CreateUser(ctx, &turbocat.User{Email: "a@example.com", PasswordHash: "x", Role: "user"})
	require.Equal(t, turbocat.ECONFLICT, turbocat.ErrorCodeOf(err))
	require.Contains(t, err.Error(), "email is already registered")
}

func TestRefreshRotationConcurrentOnlyOneWins(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	u := newUser(t, db, "r@example.com")
	old := []byte("old-hash-0000000000000000000000000")
	require.NoError(t, db.CreateRefreshToken(ctx, turbocat.RefreshToken{UserID: u.ID, FamilyID: "7f8ee2a4-2f43-4a43-b1a4-7f0f5c3b8d10", Hash: old, Expires: time.Now().Add(time.Hour)}))

	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := []byte{byte(i), 'n', 'e', 'w'}
			if _, err := db.RotateRefreshToken(ctx, old, next, time.Now().Add(time.Hour)); err == nil {
				wins.Add(1)
			} else {
				require.Equal(t, turbocat.EUNAUTHORIZED, turbocat.ErrorCodeOf(err))
			}
		}()
	}
	wg.Wait()
	require.Equal(t, int32(1), wins.Load(), "exactly one concurrent refresh succeeds")
}

func TestAgentQuotaAndDeleteInUse(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	u := newUser(t, db, "q@example.com")
	ctx = turbocat.WithActor(ctx, &turbocat.Actor{UserID: u.ID, Role: u.Role})
	a := &turbocat.Agent{UserID: u.ID, Name: "one", Type: "code", Config: json.RawMessage(`{"source":"x"}`)}
	require.NoError(t, db.CreateAgent(ctx, a, 1))
	err := db.CreateAgent(ctx, &turbocat.Agent{UserID: u.ID, Name: "two", Type: "code", Config: json.RawMessage(`{}`)}, 1)
	require.Equal(t, turbocat.EQUOTA, turbocat.ErrorCodeOf(err))

	w := &turbocat.Workflow{UserID: u.ID, Name: "wf", Steps: []turbocat.WorkflowStep{{Key: "s", AgentID: a.ID}}}
	require.NoError(t, db.CreateWorkflow(ctx, w, 10))
	err = db.DeleteAgent(ctx, u.ID, a.ID)
	require.Equal(t, turbocat.ECONFLICT, turbocat.ErrorCodeOf(err))
	require.Contains(t, err.Error(), "wf")

	// Updating the workflow bumps the version and keeps the old one readable.
	w2, err := db.UpdateWorkflow(ctx, u.ID, w.ID, func(w *turbocat.Workflow) error {
		w.Description = "v2"
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, 2, w2.Version)
	v1, err := db.WorkflowVersion(ctx, u.ID, w.ID, 1)
	require.NoError(t, err)
	require.Equal(t, "", v1.Description)
	require.Len(t, v1.Steps, 1)
}
