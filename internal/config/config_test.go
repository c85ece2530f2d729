package config

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadDefaultsAndValidate(t *testing.T) {
	t.Parallel()
	c, err := load(env(map[string]string{"TURBOCAT_JWT_SECRET": strings.Repeat("k", 32)}))
	require.NoError(t, err)
	require.Equal(t, 3001, c.Port)
	require.Equal(t, "http://localhost:3001", c.PublicURL)
	require.NoError(t, c.Validate(true))
}

func TestErrorsNameTheVariable(t *testing.T) {
	t.Parallel()
	_, err := load(env(map[string]string{"PORT": "abc", "TURBOCAT_SECRETS_KEY": "%%%"}))
	require.ErrorContains(t, err, "PORT")
	require.ErrorContains(t, err, "TURBOCAT_SECRETS_KEY")

	c, err := load(env(map[string]string{"TURBOCAT_JWT_SECRET": "short", "TURBOCAT_ALLOWED_ORIGINS": "*,not a url", "DATABASE_URL": "mysql://x"}))
	require.NoError(t, err)
	err = c.Validate(true)
	for _, name := range []string{"TURBOCAT_JWT_SECRET", "TURBOCAT_ALLOWED_ORIGINS", "DATABASE_URL"} {
		require.ErrorContains(t, err, name)
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	t.Parallel()
	c, err := load(env(map[string]string{"TURBOCAT_JWT_SECRET": "super-secret-jwt-key-super-secret-123", "DATABASE_URL": "postgres://u:hunter2@db/x"}))
	require.NoError(t, err)
	s := c.String()
	require.NotContains(t, s, "super-secret")
	require.NotContains(t, s, "hunter2")
	require.Contains(t, s, "REDACTED")
}

// TestREADMEListsEveryVariable keeps the README's configuration table true.
func TestREADMEListsEveryVariable(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	for _, v := range Vars {
		require.True(t, strings.Contains(string(b), "`"+v.Name+"`"), "README configuration table lacks %s", v.Name)
	}
	// And Vars lists every variable the parser reads.
	src, err := os.ReadFile("config.go")
	require.NoError(t, err)
	listed := map[string]bool{}
	for _, v := range Vars {
		listed[v.Name] = true
	}
	for _, m := range regexp.MustCompile(`p\.\w+\("([A-Z0-9_]+)"`).FindAllStringSubmatch(string(src), -1) {
		require.True(t, listed[m[1]], "config.Vars lacks %s, which Load reads", m[1])
	}
}
