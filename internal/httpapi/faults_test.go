package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// stepsOf returns the steps of an execution by key.
func (f *fixture) stepsOf(t *testing.T, tok, id string) map[string]struct {
	Status string
	Error  map[string]string
} {
	t.Helper()
	var detail struct {
		Steps []struct {
			StepKey, Status string
			Error           map[string]string
		}
	}
	f.call("GET", "/api/v1/executions/"+id, tok, nil).data(t, &detail)
	out := map[string]struct {
		Status string
		Error  map[string]string
	}{}
	for _, s := range detail.Steps {
		out[s.StepKey] = struct {
			Status string
			Error  map[string]string
		}{s.Status, s.Error}
	}
	return out
}

// TestFailedBranchLeavesNoStepRunning: when one branch of a parallel run
// fails while the other is still running, the run ends failed and the other
// branch's step is recorded as ended (cancelled, or failed if its agent
// noticed first), never left running.
func TestFailedBranchLeavesNoStepRunning(t *testing.T) {
	t.Parallel()
	f := setupEngine(t)
	tok := f.register("branches").AccessToken
	boom := f.create(tok, "/api/v1/agents", jsAgent("boom", `function main() { throw new Error("boom"); }`))
	slow := f.create(tok, "/api/v1/agents", jsAgent("slow", `function main() { const t = Date.now(); while (Date.now() - t < 2000) {} return {}; }`))
	wf := f.create(tok, "/api/v1/workflows", map[string]any{"name": "branches", "steps": []map[string]any{
		{"key": "fails", "agentId": boom},
		{"key": "slow", "agentId": slow},
	}})
	r := f.call("POST", "/api/v1/workflows/"+wf+"/execute?wait=20", tok, map[string]any{})
	var ans runAnswer
	r.data(t, &ans)
	require.Equal(t, "failed", ans.Status, "%s", r.Body)

	require.Eventually(t, func() bool {
		return f.stepsOf(t, tok, ans.ExecutionID)["slow"].Status != "running"
	}, 10*time.Second, 50*time.Millisecond, "the slow branch's step must not stay running after the run failed")
	steps := f.stepsOf(t, tok, ans.ExecutionID)
	require.Equal(t, "failed", steps["fails"].Status)
	require.Contains(t, []string{"cancelled", "failed", "completed"}, steps["slow"].Status)
}

// TestNULInAgentOutput: a code agent returning a string with a NUL
// character (which Postgres cannot store) fails its step with
// Step.InvalidOutput naming where it is; the run fails cleanly and no raw
// database error reaches the user.
func TestNULInAgentOutput(t *testing.T) {
	t.Parallel()
	f := setupEngine(t)
	tok := f.register("nul-output").AccessToken
	nul := f.create(tok, "/api/v1/agents", jsAgent("nul", `function main() { console.log("before \u0000 after"); return { text: "a\u0000b", ok: "fine" }; }`))
	wf := f.create(tok, "/api/v1/workflows", map[string]any{"name": "nul", "steps": []map[string]any{{"key": "emit", "agentId": nul}}})
	r := f.call("POST", "/api/v1/workflows/"+wf+"/execute?wait=20", tok, map[string]any{})
	var ans runAnswer
	r.data(t, &ans)
	require.Equal(t, "failed", ans.Status, "%s", r.Body)
	var runErr map[string]string
	require.NoError(t, json.Unmarshal(ans.Error, &runErr))
	require.Equal(t, "Step.InvalidOutput", runErr["error"], "%s", ans.Error)
	require.Contains(t, runErr["cause"], "$.text")
	for _, leak := range []string{"SQLSTATE", "jsonb", "unsupported Unicode", "22P05"} {
		require.NotContains(t, string(r.Body), leak, "no raw database error reaches the user")
	}
	steps := f.stepsOf(t, tok, ans.ExecutionID)
	require.Equal(t, "failed", steps["emit"].Status)
	require.Equal(t, "Step.InvalidOutput", steps["emit"].Error["error"])

	logs := f.call("GET", "/api/v1/executions/"+ans.ExecutionID+"/logs", tok, nil)
	require.Equal(t, http.StatusOK, logs.Status)
	require.True(t, strings.Contains(string(logs.Body), "before") && strings.Contains(string(logs.Body), "after"),
		"the log line with a NUL is kept (with the NUL replaced): %s", logs.Body)
}

// TestInstantiateIsAllOrNothing: a workflow template whose workflow is
// invalid fails to instantiate and leaves none of the agents it would have
// created.
func TestInstantiateIsAllOrNothing(t *testing.T) {
	t.Parallel()
	f := setup(t)
	tok := f.register("atomic").AccessToken
	wt := f.create(tok, "/api/v1/templates", map[string]any{"name": "broken", "kind": "workflow", "definition": map[string]any{
		"agents": []map[string]any{
			{"ref": "e", "name": "echo", "type": "code", "config": map[string]any{"source": "function main(i){return i}"}},
			{"ref": "u", "name": "upper", "type": "code", "config": map[string]any{"source": "function main(i){return i}"}},
		},
		"workflow": map[string]any{"steps": []map[string]any{
			{"key": "a", "agent": "e", "dependsOn": []string{"b"}}, {"key": "b", "agent": "u", "dependsOn": []string{"a"}}}},
	}})
	r := f.call("POST", "/api/v1/templates/"+wt+"/instantiate", tok, map[string]any{"name": "half"})
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	require.Contains(t, strings.Join(r.fields(), " "), "dependsOn", "the error names the workflow's problem")
	require.Equal(t, 0, f.count("agents", "name LIKE 'half%'"), "no agent of a failed instantiation is left")
	require.Equal(t, 0, f.count("workflows", "name = 'half'"))
}

// TestCodeAgentSeesIdempotencyKey: a code agent's ctx carries the step's
// stable key, <executionId>:<stepKey>.
func TestCodeAgentSeesIdempotencyKey(t *testing.T) {
	t.Parallel()
	f := setupEngine(t)
	tok := f.register("keyed").AccessToken
	a := f.create(tok, "/api/v1/agents", jsAgent("key", `function main(input, ctx) { return { key: ctx.idempotencyKey }; }`))
	wf := f.create(tok, "/api/v1/workflows", map[string]any{"name": "keyed", "steps": []map[string]any{{"key": "charge", "agentId": a}}})
	var ans runAnswer
	f.call("POST", "/api/v1/workflows/"+wf+"/execute?wait=20", tok, map[string]any{}).data(t, &ans)
	require.Equal(t, "completed", ans.Status)
	require.JSONEq(t, `{"charge":{"key":"`+ans.ExecutionID+`:charge"}}`, string(ans.Output))
}
