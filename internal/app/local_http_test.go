package app_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLocalHandlerServesMetricsAndAPI(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	srv := httptest.NewServer(a.LocalHandler(nil))
	t.Cleanup(srv.Close)
	res, err := http.Get(srv.URL + "/health")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, 200, res.StatusCode)
	a.Metrics.ExecutionStarted("api")
	res, err = http.Get(srv.URL + "/metrics")
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Contains(t, string(body), `turbocat_http_request_duration_seconds_count{route="GET /health",status="200"} 1`)
	require.Contains(t, string(body), `turbocat_executions_started_total{trigger="api"} 1`)
	require.Contains(t, string(body), "turbocat_db_queries_total ")
	require.Contains(t, string(body), "# TYPE turbocat_db_queries_by_name_total counter")
}

// TestPprofOnlyWhenAsked: the profiler is served only with TURBOCAT_PPROF.
func TestPprofOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	get := func() int {
		srv := httptest.NewServer(a.LocalHandler(nil))
		defer srv.Close()
		res, err := http.Get(srv.URL + "/debug/pprof/")
		require.NoError(t, err)
		res.Body.Close()
		return res.StatusCode
	}
	require.Equal(t, http.StatusNotFound, get())
	a.Config.Pprof = true
	require.Equal(t, http.StatusOK, get())
}

// TestLocalHandlerRoutesAPIPathsPastTheConsole: with the console on every
// other path, the API's own paths (the MCP server's among them) still
// reach the API.
func TestLocalHandlerRoutesAPIPathsPastTheConsole(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	console := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "console") })
	srv := httptest.NewServer(a.LocalHandler(console))
	t.Cleanup(srv.Close)
	for _, path := range []string{"/mcp", "/hooks/x", "/api/v1/agents"} {
		res, err := http.Post(srv.URL+path, "application/json", strings.NewReader(`{}`))
		require.NoError(t, err)
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		require.NotEqual(t, "console", string(body), path)
		require.Contains(t, string(body), `"success":false`, path)
	}
	res, err := http.Get(srv.URL + "/workflows")
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, "console", string(body))
}
