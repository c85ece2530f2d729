package app_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/app"
	"github.com/turbocat/turbocat/internal/config"
	"github.com/turbocat/turbocat/internal/postgres/pgtest"
)

// newApp wires an app on a fresh, migrated schema.
func newApp(t *testing.T) *app.App {
	t.Helper()
	cfg, err := config.Load()
	require.NoError(t, err)
	cfg.JWTSecret = []byte("0123456789abcdef0123456789abcdef")
	a, err := app.NewWithPool(cfg, slog.New(slog.DiscardHandler), pgtest.Pool(t))
	require.NoError(t, err)
	require.NoError(t, a.Migrate(context.Background()))
	return a
}
