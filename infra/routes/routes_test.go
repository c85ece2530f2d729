package routes_test

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/infra/routes"
)

func TestFunctionFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path string
		want string
	}{
		{"/api/v1/auth/login", routes.Auth},
		{"/api/v1/auth/me", routes.Auth},
		{"/api/v1/users", routes.Auth},
		{"/api/v1/users/{id}", routes.Auth},
		{"/api/v1/audit-logs", routes.Auth},
		{"/api/v1/openapi.json", routes.Auth},
		{"/health", routes.Auth},
		{"/ready", routes.Auth},
		{"/api/v1/agents", routes.Agents},
		{"/api/v1/agents/{id}", routes.Agents},
		{"/api/v1/templates/{id}/instantiate", routes.Templates},
		{"/api/v1/workflows/{id}/execute", routes.Workflows},
		{"/api/v1/executions/{id}/logs", routes.Executions},
		{"/api/v1/executions/{id}/steps/{key}/turns", routes.Executions},
		{"/api/v1/deployments/{id}", routes.Deployments},
		{"/api/v1/webhooks", routes.Deployments},
		{"/api/v1/webhooks/{id}/deliveries", routes.Deployments},
		{"/api/v1/api-keys/{id}", routes.APIKeys},
		{"/api/v1/secrets", routes.APIKeys},
		{"/hooks/{deploymentId}", routes.Trigger},
		{"/mcp", routes.Workflows},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			got, err := routes.FunctionFor(tt.path)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestFunctionForRejectsUnmappedPaths(t *testing.T) {
	t.Parallel()
	for _, path := range []string{
		"/api/v1/billing",
		"/api/v1/agentsx",    // not a sub-path of /api/v1/agents
		"/api/v1/auth",       // only /api/v1/auth/* is mapped
		"/hooks/",            // needs a deployment id
		"/health/deep",       // /health is exact
		"/api/v2/agents",     // other API version
		"/api/v1/openapi.js", // exact match only
		"/mcp/tools",         // /mcp is exact
	} {
		_, err := routes.FunctionFor(path)
		require.ErrorIs(t, err, routes.ErrUnmapped, path)
		require.Contains(t, err.Error(), path)
	}
}

func TestLoadFixtureHasEveryOperation(t *testing.T) {
	t.Parallel()
	const fixture = "../testdata/openapi.json"
	got, err := routes.Load(fixture)
	require.NoError(t, err)

	// Count operations independently of the package under test.
	raw, err := os.ReadFile(fixture)
	require.NoError(t, err)
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(raw, &doc))
	want := map[string]bool{}
	for path, item := range doc.Paths {
		for k := range item {
			if k != "parameters" {
				want[k+" "+path] = true
			}
		}
	}
	require.Len(t, got, len(want))
	seen := map[string]bool{}
	for _, r := range got {
		require.False(t, seen[r.Key()], "duplicate route %s", r.Key())
		seen[r.Key()] = true
		fn, err := routes.FunctionFor(r.Path)
		require.NoError(t, err)
		require.Equal(t, fn, r.Function, r.Key())
	}
	for i := 1; i < len(got); i++ {
		require.True(t, got[i-1].Path < got[i].Path || (got[i-1].Path == got[i].Path && got[i-1].Method < got[i].Method), "routes are sorted")
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		doc     string
		want    []routes.Route
		wantErr string
	}{
		{
			name: "methods upper-cased, non-operations skipped",
			doc:  `{"openapi":"3.0.3","paths":{"/api/v1/agents/{id}":{"summary":"s","x-internal":true,"parameters":[],"get":{},"DELETE":{}}}}`,
			want: []routes.Route{
				{Method: "DELETE", Path: "/api/v1/agents/{id}", Function: routes.Agents},
				{Method: "GET", Path: "/api/v1/agents/{id}", Function: routes.Agents},
			},
		},
		{name: "unmapped path fails", doc: `{"openapi":"3.0.0","paths":{"/api/v1/billing":{"get":{}}}}`, wantErr: `"/api/v1/billing"`},
		{name: "trace cannot be routed", doc: `{"openapi":"3.0.0","paths":{"/health":{"trace":{}}}}`, wantErr: `operation "trace"`},
		{name: "path item ref unsupported", doc: `{"openapi":"3.0.0","paths":{"/health":{"$ref":"#/x"}}}`, wantErr: `operation "$ref"`},
		{name: "swagger 2 rejected", doc: `{"swagger":"2.0","paths":{"/health":{"get":{}}}}`, wantErr: "not 3.x"},
		{name: "no paths", doc: `{"openapi":"3.0.0","paths":{}}`, wantErr: "no paths"},
		{name: "no operations", doc: `{"openapi":"3.0.0","paths":{"/health":{"summary":"x"}}}`, wantErr: "no operations"},
		{name: "relative path", doc: `{"openapi":"3.0.0","paths":{"health":{"get":{}}}}`, wantErr: "must start with /"},
		{name: "not json", doc: `openapi: 3.0.0`, wantErr: "parse OpenAPI document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := routes.Parse([]byte(tt.doc))
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	_, err := routes.Load("does-not-exist.json")
	require.ErrorContains(t, err, "read OpenAPI document")
}
