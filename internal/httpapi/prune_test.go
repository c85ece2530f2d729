package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/sfn"
)

// TestRollbackToPrunedVersion: on AWS each state machine keeps only its most
// recent versions (and those an alias routes to), so the version a
// deployment keeps for rollback can be gone by the time it is needed. The
// rollback publishes it again and the environment runs it.
func TestRollbackToPrunedVersion(t *testing.T) {
	t.Parallel()
	f := setupEngine(t)
	calls := f.useSFNAdapter(sfn.Options{KeepVersions: 1})
	tok := f.register("pruned-rollback").AccessToken
	var agents []string
	for v := 1; v <= 4; v++ {
		agents = append(agents, f.create(tok, "/api/v1/agents", jsAgent(fmt.Sprint("v", v), fmt.Sprintf(`function main(i) { return { version: %d }; }`, v))))
	}
	step := func(agent string) map[string]any {
		return map[string]any{"steps": []map[string]any{{"key": "a", "agentId": agent}}}
	}
	body := step(agents[0])
	body["name"] = "pruned"
	wf := f.create(tok, "/api/v1/workflows", body)
	first := f.deploy(tok, wf, map[string]any{"environment": "prod"}) // shows the environment's signing secret
	require.Equal(t, http.StatusOK, f.call("PATCH", "/api/v1/workflows/"+wf, tok, step(agents[1])).Status)
	prod := f.deploy(tok, wf, map[string]any{"environment": "prod"})
	require.Equal(t, 1, *prod.PreviousVersion)

	// Version 3 runs once: publishing it prunes version 1 (neither the most
	// recent nor routed to by the alias, which is on version 2).
	require.Equal(t, http.StatusOK, f.call("PATCH", "/api/v1/workflows/"+wf, tok, step(agents[2])).Status)
	run := f.call("POST", "/api/v1/workflows/"+wf+"/execute?wait=20", tok, map[string]any{})
	require.Equal(t, http.StatusOK, run.Status, "%s", run.Body)
	require.Positive(t, calls("DeleteStateMachineVersion"), "version 1 was pruned")

	rb := f.call("POST", "/api/v1/deployments/"+prod.ID+"/rollback", tok, nil)
	require.Equal(t, http.StatusOK, rb.Status, "%s", rb.Body)
	var rolled deployment
	rb.data(t, &rolled)
	require.Equal(t, 1, rolled.Version)
	out := f.completedRun(f.hook(prod, first.SigningSecret, time.Now(), `{}`), 1)
	require.JSONEq(t, `{"a":{"version":1}}`, out, "the rolled-back environment runs version 1's definition")

	// Version 4 runs once: versions 2 and 3 are pruned. Pinning an
	// environment to version 2 publishes it again.
	deleted := calls("DeleteStateMachineVersion")
	require.Equal(t, http.StatusOK, f.call("PATCH", "/api/v1/workflows/"+wf, tok, step(agents[3])).Status)
	run = f.call("POST", "/api/v1/workflows/"+wf+"/execute?wait=20", tok, map[string]any{})
	require.Equal(t, http.StatusOK, run.Status, "%s", run.Body)
	require.Greater(t, calls("DeleteStateMachineVersion"), deleted, "versions 2 and 3 were pruned")
	pinned := f.deploy(tok, wf, map[string]any{"environment": "pinned", "version": 2})
	require.Equal(t, "active", pinned.Status)
	out = f.completedRun(f.hook(pinned, pinned.SigningSecret, time.Now(), `{}`), 2)
	require.JSONEq(t, `{"a":{"version":2}}`, out, "the pinned environment runs version 2's definition")
}
