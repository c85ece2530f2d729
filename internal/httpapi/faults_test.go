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

// TestMaxConcurrentRuns: a workflow at its maxConcurrentRuns queues further
// runs; they start as runs end, highest priority first, and a queued run
// can be cancelled.
func TestMaxConcurrentRuns(t *testing.T) {
	t.Parallel()
	f := setupEngine(t)
	tok := f.register("queue").AccessToken
	slow := f.create(tok, "/api/v1/agents", jsAgent("slow", `function main(i) { const t = Date.now(); while (Date.now() - t < 600) {} return {n: i.n}; }`))
	bad := f.call("POST", "/api/v1/workflows", tok, map[string]any{"name": "q", "maxConcurrentRuns": -1,
		"steps": []map[string]any{{"key": "work", "agentId": slow}}})
	require.Equal(t, http.StatusBadRequest, bad.Status)
	require.Len(t, bad.fields(), 1)
	require.Contains(t, bad.fields()[0], "maxConcurrentRuns")
	wf := f.create(tok, "/api/v1/workflows", map[string]any{"name": "q", "maxConcurrentRuns": 1,
		"steps": []map[string]any{{"key": "work", "agentId": slow, "inputs": map[string]any{"n": "{{inputs.n}}"}}}})

	start := func(n, priority int) runAnswer {
		var a runAnswer
		r := f.call("POST", "/api/v1/workflows/"+wf+"/execute", tok, map[string]any{"input": map[string]any{"n": n}, "priority": priority})
		require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
		r.data(t, &a)
		return a
	}
	first := start(1, 0)
	low := start(2, 0)
	doomed := start(3, 50)
	high := start(4, 10)
	require.Equal(t, "queued", low.Status)
	require.Equal(t, "queued", high.Status)
	require.Equal(t, http.StatusOK, f.call("POST", "/api/v1/executions/"+doomed.ExecutionID+"/cancel", tok, nil).Status, "a queued run can be cancelled")

	type run struct {
		Status    string
		StartedAt *time.Time
	}
	get := func(id string) run {
		var r run
		f.call("GET", "/api/v1/executions/"+id, tok, nil).data(t, &r)
		return r
	}
	require.Eventually(t, func() bool { return get(low.ExecutionID).Status == "completed" }, 20*time.Second, 50*time.Millisecond)
	a, l, h := get(first.ExecutionID), get(low.ExecutionID), get(high.ExecutionID)
	require.Equal(t, "completed", a.Status)
	require.Equal(t, "completed", h.Status)
	require.Equal(t, "cancelled", get(doomed.ExecutionID).Status)
	require.True(t, h.StartedAt.Before(*l.StartedAt), "the higher priority run started first")
	require.False(t, h.StartedAt.Before(*a.StartedAt), "queued runs wait for the running one")

	var queued struct{ Items []struct{ ID string } }
	f.call("GET", "/api/v1/executions?status=queued", tok, nil).data(t, &queued)
	require.Empty(t, queued.Items)
}

// TestIdempotencyKeyWithAnotherBody: the same Idempotency-Key with the same
// input returns the first run; with another input it is a 409.
func TestIdempotencyKeyWithAnotherBody(t *testing.T) {
	t.Parallel()
	f := setupEngine(t)
	tok := f.register("idem").AccessToken
	a := f.create(tok, "/api/v1/agents", jsAgent("echo", `function main(i) { return i; }`))
	wf := f.create(tok, "/api/v1/workflows", map[string]any{"name": "idem", "steps": []map[string]any{{"key": "e", "agentId": a}}})
	var one, two runAnswer
	f.call("POST", "/api/v1/workflows/"+wf+"/execute", tok, map[string]any{"input": map[string]any{"n": 1}}, "Idempotency-Key", "order-7").data(t, &one)
	f.call("POST", "/api/v1/workflows/"+wf+"/execute", tok, map[string]any{"input": map[string]any{"n": 1}}, "Idempotency-Key", "order-7").data(t, &two)
	require.Equal(t, one.ExecutionID, two.ExecutionID, "the same request: the first run")
	r := f.call("POST", "/api/v1/workflows/"+wf+"/execute", tok, map[string]any{"input": map[string]any{"n": 2}}, "Idempotency-Key", "order-7")
	require.Equal(t, http.StatusConflict, r.Status, "%s", r.Body)
	require.Contains(t, string(r.Body), "different request")
}

// TestHostileText: a NUL character or invalid UTF-8 in any text field, the
// run input, a query parameter or a webhook body is a 400 naming where it
// is, never a 500.
func TestHostileText(t *testing.T) {
	t.Parallel()
	f := setupEngine(t)
	tok := f.register("hostile").AccessToken
	a := f.create(tok, "/api/v1/agents", jsAgent("echo", `function main(i) { return i; }`))
	wf := f.create(tok, "/api/v1/workflows", map[string]any{"name": "hostile", "steps": []map[string]any{{"key": "e", "agentId": a}}})
	for _, tt := range []struct {
		method, path, body, field string
	}{
		{"POST", "/api/v1/agents", `{"name":"a\u0000b","type":"code","config":{"source":"function main(){}"}}`, "name"},
		{"POST", "/api/v1/agents", "{\"name\":\"a\xffb\",\"type\":\"code\",\"config\":{\"source\":\"function main(){}\"}}", "name"},
		{"PATCH", "/api/v1/agents/" + a, `{"description":"\u0000"}`, "description"},
		{"POST", "/api/v1/workflows/" + wf + "/execute", `{"input":{"text":"x\u0000"}}`, "input.text"},
		{"POST", "/api/v1/workflows/" + wf + "/execute", "{\"input\":{\"list\":[\"ok\",\"\xc3\x28\"]}}", "input.list[1]"},
		{"PATCH", "/api/v1/workflows/" + wf, `{"steps":[{"key":"e","agentId":"` + a + `","inputs":{"t":"\u0000"}}]}`, "steps[0].inputs.t"},
	} {
		r := f.call(tt.method, tt.path, tok, tt.body)
		require.Equal(t, http.StatusBadRequest, r.Status, "%s %s: %s", tt.method, tt.path, r.Body)
		require.Len(t, r.fields(), 1, "%s", r.Body)
		require.True(t, strings.HasPrefix(r.fields()[0], tt.field+":"), "%s names %q: %s", tt.path, tt.field, r.Body)
	}
	for _, q := range []string{"search=a%00b", "search=%FF", "type=%00"} {
		r := f.call("GET", "/api/v1/agents?"+q, tok, nil)
		require.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", q, r.Body)
	}
	require.Equal(t, 0, f.count("agents", "name LIKE 'a%b'"))
}

// TestDeployWithoutExecuteScope: a key that may deploy but not run
// workflows cannot start runs through the deployment it made.
func TestDeployWithoutExecuteScope(t *testing.T) {
	t.Parallel()
	f := setupEngine(t)
	s := f.register("scoped")
	a := f.create(s.AccessToken, "/api/v1/agents", jsAgent("echo", `function main(i) { return i; }`))
	wf := f.create(s.AccessToken, "/api/v1/workflows", map[string]any{"name": "scoped", "steps": []map[string]any{{"key": "e", "agentId": a}}})
	var key struct{ Key string }
	r := f.call("POST", "/api/v1/api-keys", s.AccessToken, map[string]any{"name": "deployer", "scopes": []string{"deployments:write", "workflows:read"}})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	r.data(t, &key)
	remember(key.Key, r.Body)
	d := f.deploy(key.Key, wf, map[string]any{"environment": "prod"})
	res := f.hook(d, d.SigningSecret, time.Now(), `{}`)
	require.Equal(t, http.StatusForbidden, res.Status, "%s", res.Body)
	require.Contains(t, res.Env.Error.Message, "workflows:execute")
	require.Equal(t, 0, f.count("executions", "workflow_id = $1", wf))

	// Deployed again from a signed-in session, the webhook starts runs.
	d2 := f.deploy(s.AccessToken, wf, map[string]any{"environment": "prod"})
	d2.SigningSecret = d.SigningSecret // the environment keeps its secret
	require.Equal(t, http.StatusAccepted, f.hook(d2, d2.SigningSecret, time.Now(), `{"n":1}`).Status)
}
