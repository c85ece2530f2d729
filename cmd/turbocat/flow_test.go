package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestControlFlowExamplesWithCLI applies examples/flow to turbocat dev and
// runs each example through the CLI: the router skips the queue it does
// not need, the summariser runs per document, the digest runs it as a
// child run, and the approval example waits until `turbocat approve`.
func TestControlFlowExamplesWithCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts turbocat dev; skipped with -short")
	}
	d := startDev(t)
	var sess struct{ AccessToken string }
	require.Equal(t, 201, d.call("POST", "/api/v1/auth/register", "", map[string]string{"email": "flow@example.com", "password": "correct horse battery"}, &sess))
	var key struct{ Key string }
	require.Equal(t, 201, d.call("POST", "/api/v1/api-keys", sess.AccessToken, map[string]any{"name": "cli", "scopes": []string{
		"agents:read", "agents:write", "workflows:read", "workflows:write", "workflows:execute", "executions:read", "executions:write",
		"deployments:read", "deployments:write", "secrets:read"}}, &key))
	env := []string{"TURBOCAT_API_URL=" + d.base, "XDG_CONFIG_HOME=" + t.TempDir(), "TURBOCAT_API_KEY=" + key.Key}

	r := turbocat(t, env, "", "validate", "-f", "../../examples/flow")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "note: A step whose when condition is false is skipped")
	r = turbocat(t, env, "", "apply", "-f", "../../examples/flow")
	require.Equal(t, 0, r.code, "%s\n%s", r.stdout, r.stderr)
	r = turbocat(t, env, "", "plan", "-f", "../../examples/flow")
	require.Equal(t, 0, r.code, "a second plan finds nothing to change: %s %s", r.stdout, r.stderr)

	r = turbocat(t, env, "", "run", "ticket-router", "--input", `{"text": "Invoice 42 is overdue"}`, "--wait", "-o", "json")
	require.Equal(t, 0, r.code, "%s\n%s", r.stdout, r.stderr)
	var run struct {
		Status     string
		OutputData map[string]any
		Steps      []struct{ StepKey, Status string }
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &run), r.stdout)
	require.Equal(t, "completed", run.Status)
	require.Equal(t, "invoice", run.OutputData["label"])
	require.Nil(t, run.OutputData["support"], "the support queue was skipped: its output is null")
	statuses := map[string]string{}
	for _, s := range run.Steps {
		statuses[s.StepKey] = s.Status
	}
	require.Equal(t, map[string]string{"classify": "completed", "invoice": "completed", "support": "skipped", "archive": "completed"}, statuses)

	r = turbocat(t, env, "", "run", "digest", "--input", `{"documents": ["Go is fast. It compiles.", "States run. They scale.", "CEL is safe. No loops."]}`, "--wait", "-o", "json")
	require.Equal(t, 0, r.code, "%s\n%s", r.stdout, r.stderr)
	require.Contains(t, r.stdout, "Today: Go is fast; States run; CEL is safe")

	r = turbocat(t, env, "", "definition", "digest")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "arn:aws:states:::states:startExecution.sync:2")
	r = turbocat(t, env, "", "definition", "summarise-documents")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, `"MaxConcurrency": 3`)

	r = turbocat(t, env, "", "run", "post-after-approval", "--input", `{"summaries": [{"summary": "all good"}]}`)
	require.Equal(t, 0, r.code, r.stderr)
	id := strings.TrimSpace(r.stdout)
	require.Eventually(t, func() bool {
		var ex struct{ Status string }
		d.call("GET", "/api/v1/executions/"+id, sess.AccessToken, nil, &ex)
		return ex.Status == "waiting"
	}, 30*time.Second, 50*time.Millisecond)
	r = turbocat(t, env, "", "executions", "list", "--status", "waiting")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, id)
	r = turbocat(t, env, "", "approve", id, "review")
	require.Equal(t, 1, r.code, "the wait step comes first: the approval does not wait yet, or it is a 409 once decided")
	ok := assertEventually(30*time.Second, func() bool {
		r = turbocat(t, env, "", "approve", id, "review", "--comment", "ship it")
		return r.code == 0
	})
	require.True(t, ok, "approve never succeeded: %s\n%s", r.stderr, d.logs)
	require.Contains(t, r.stdout, "step review of execution "+id+" completed")
	var ex struct {
		Status string
		Error  json.RawMessage
	}
	require.True(t, assertEventually(30*time.Second, func() bool {
		d.call("GET", "/api/v1/executions/"+id, sess.AccessToken, nil, &ex)
		return ex.Status == "completed" || ex.Status == "failed"
	}))
	require.Equal(t, "completed", ex.Status, "%s", ex.Error)
	r = turbocat(t, env, "", "reject", id, "review")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "CONFLICT")
}

func assertEventually(d time.Duration, cond func() bool) bool {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if cond() {
			return true
		}
		time.Sleep(200 * time.Millisecond)
	}
	return false
}
