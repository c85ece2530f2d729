package metrics

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPrometheusText(t *testing.T) {
	t.Parallel()
	r := New()
	r.Add("turbocat_executions_started_total", "Runs started.", Labels{"trigger": "api"}, 1)
	r.Add("turbocat_executions_started_total", "Runs started.", Labels{"trigger": "api"}, 2)
	r.Observe("turbocat_http_request_duration_seconds", "Latency.", Labels{"route": "GET /x", "status": "200"}, 3*time.Millisecond)
	r.Observe("turbocat_http_request_duration_seconds", "Latency.", Labels{"route": "GET /x", "status": "200"}, 2*time.Second)
	var b bytes.Buffer
	r.WritePrometheus(&b)
	out := b.String()
	require.Contains(t, out, "# TYPE turbocat_executions_started_total counter\nturbocat_executions_started_total{trigger=\"api\"} 3\n")
	require.Contains(t, out, `turbocat_http_request_duration_seconds_bucket{route="GET /x",status="200",le="0.005"} 1`)
	require.Contains(t, out, `turbocat_http_request_duration_seconds_bucket{route="GET /x",status="200",le="2.5"} 2`)
	require.Contains(t, out, `turbocat_http_request_duration_seconds_count{route="GET /x",status="200"} 2`)
	require.Contains(t, out, `turbocat_http_request_duration_seconds_sum{route="GET /x",status="200"} 2.003`)
}

func TestEMF(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	r := New()
	r.EMF = &b
	r.now = func() time.Time { return time.UnixMilli(1700000000000) }
	r.Observe("StepDuration", "Step duration.", Labels{"AgentType": "code"}, 1500*time.Microsecond)
	var line map[string]any
	require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(b.String())), &line))
	require.Equal(t, 1.5, line["StepDuration"])
	require.Equal(t, "code", line["AgentType"])
	aws := line["_aws"].(map[string]any)
	require.Equal(t, float64(1700000000000), aws["Timestamp"])
	m := aws["CloudWatchMetrics"].([]any)[0].(map[string]any)
	require.Equal(t, "Turbocat", m["Namespace"])
	require.Equal(t, []any{[]any{"AgentType"}}, m["Dimensions"])
	require.Equal(t, []any{map[string]any{"Name": "StepDuration", "Unit": "Milliseconds"}}, m["Metrics"])
}

func TestNilRegistryDiscards(t *testing.T) {
	t.Parallel()
	var r *Registry
	r.Add("x", "", nil, 1)
	r.Observe("y", "", nil, time.Second)
	var b bytes.Buffer
	r.WritePrometheus(&b)
	require.Empty(t, b.String())
}
