// Package scripts holds the tests of the shell scripts `make dev` and
// `make test` run (this directory has no Go code of its own).
package scripts

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/postgres/pgtest"
)

func bash(t *testing.T, dir string, env []string, script string, args ...string) string {
	t.Helper()
	abs, err := filepath.Abs(script)
	require.NoError(t, err)
	cmd := exec.Command("bash", append([]string{abs}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	return string(out)
}

// TestDevEnvLetsTheEnvironmentWin: a TURBOCAT_JWT_SECRET set in the
// environment is the one `make dev` runs with, not the file's (issue 18,
// item 8); values the environment lacks come from .turbocat/dev.env.
func TestDevEnvLetsTheEnvironmentWin(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bash(t, dir, nil, "dev-env.sh") // writes the file
	shell := `eval "$(bash ` + mustAbs(t, "dev-env.sh") + ` --exports)"; printf '%s\n%s\n' "$TURBOCAT_JWT_SECRET" "$TURBOCAT_SECRETS_KEY"`
	cmd := exec.Command("bash", "-c", shell)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TURBOCAT_JWT_SECRET=from-the-environment-0123456789abcdef")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	require.Equal(t, "from-the-environment-0123456789abcdef", lines[0])
	file, err := os.ReadFile(filepath.Join(dir, ".turbocat", "dev.env"))
	require.NoError(t, err)
	require.Contains(t, string(file), "TURBOCAT_SECRETS_KEY="+lines[1], "the file fills in what the environment lacks")
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	abs, err := filepath.Abs(p)
	require.NoError(t, err)
	return abs
}

// TestEnsurePostgresCreatesTheDatabaseOfAURL: `make dev` with a
// DATABASE_URL naming another local database creates it (issue 18, item 8).
func TestEnsurePostgresCreatesTheDatabaseOfAURL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, pgtest.URL())
	require.NoError(t, err)
	defer admin.Close(ctx)
	name := fmt.Sprintf("turbocat_devurl_%d", time.Now().UnixNano())
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), pgtest.URL())
		if err == nil {
			_, _ = c.Exec(context.Background(), `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize())
			_ = c.Close(context.Background())
		}
	})
	out := bash(t, ".", nil, "ensure-postgres.sh", "postgres://postgres@127.0.0.1:5432/"+name+"?sslmode=disable")
	require.Contains(t, out, "creating database "+name)
	var n int
	require.NoError(t, admin.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n))
	require.Equal(t, 1, n)
	out = bash(t, ".", nil, "ensure-postgres.sh", "postgres://postgres@127.0.0.1:5432/"+name+"?sslmode=disable")
	require.NotContains(t, out, "creating", "a second run finds it")
}

// TestWebBuildOnlyWhenWebChanged: `make web` (and so `make dev`) builds the
// console only when a file of web/ changed since the last build (issue 18,
// item 9).
func TestWebBuildOnlyWhenWebChanged(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	web := filepath.Join(root, "web")
	require.NoError(t, os.MkdirAll(filepath.Join(root, "scripts"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(web, "app"), 0o755))
	src, err := os.ReadFile("web-build.sh")
	require.NoError(t, err)
	script := filepath.Join(root, "scripts", "web-build.sh")
	require.NoError(t, os.WriteFile(script, src, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(web, "app", "page.tsx"), []byte("one"), 0o644))
	builds := filepath.Join(root, "builds")
	env := []string{"TURBOCAT_WEB_BUILD=mkdir -p out && touch out/index.html && echo built >> " + builds, "FORCE="}
	count := func() int {
		b, _ := os.ReadFile(builds)
		return strings.Count(string(b), "built")
	}
	bash(t, root, env, script)
	require.Equal(t, 1, count())
	out := bash(t, root, env, script)
	require.Equal(t, 1, count(), "nothing changed: no build")
	require.Contains(t, out, "web: up to date")
	// Build outputs and dependencies do not count as changes.
	require.NoError(t, os.MkdirAll(filepath.Join(web, "node_modules", "x"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(web, "node_modules", "x", "f"), []byte("x"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(web, "out", "other.html"), []byte("x"), 0o644))
	bash(t, root, env, script)
	require.Equal(t, 1, count())
	require.NoError(t, os.WriteFile(filepath.Join(web, "app", "page.tsx"), []byte("two"), 0o644))
	bash(t, root, env, script)
	require.Equal(t, 2, count(), "a source change builds")
	bash(t, root, append(env, "FORCE=1"), script)
	require.Equal(t, 3, count(), "FORCE=1 builds")
}
