package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The reports of issue 18 (a newcomer following the README), one test
// each, through the API.

// TestScheduledRunsTakeTheDeploymentInput: a scheduled deployment of a
// workflow that needs input is refused without one (the field error says
// so), runs with the deployment's input, and a fire that cannot start is
// recorded as a failed run of the deployment, trigger schedule, with the
// reason (item 1).
func TestScheduledRunsTakeTheDeploymentInput(t *testing.T) {
	t.Parallel()
	f := setupEngine(t)
	tok := f.register("pricing").AccessToken
	a := f.create(tok, "/api/v1/agents", jsAgent("price", `function main(input) { return { sku: input.sku, at: input.at }; }`))
	wf := f.create(tok, "/api/v1/workflows", map[string]any{"name": "pricing",
		"inputSchema": map[string]any{"type": "object", "required": []string{"sku"}, "properties": map[string]any{"sku": map[string]any{"type": "string"}}},
		"steps":       []map[string]any{{"key": "a", "agentId": a, "inputs": map[string]any{"sku": "{{inputs.sku}}"}}}})

	// Without an input, every fire would fail: refused at deploy time.
	r := f.call("POST", "/api/v1/workflows/"+wf+"/deployments", tok, map[string]any{"environment": "nightly", "schedule": "rate(1 minute)"})
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	require.Len(t, r.fields(), 1)
	require.Contains(t, r.fields()[0], "input: is required: the scheduled runs need an input that matches the workflow's inputSchema")
	// An input that does not match: the field at fault.
	r = f.call("POST", "/api/v1/workflows/"+wf+"/deployments", tok, map[string]any{"environment": "nightly", "schedule": "rate(1 minute)", "input": map[string]any{"sku": 7}})
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	require.Equal(t, []string{"input.sku: got number, want string"}, r.fields())

	d := f.deploy(tok, wf, map[string]any{"environment": "nightly", "schedule": "rate(1 minute)", "input": map[string]any{"sku": "A-1"}})
	var got struct {
		Input map[string]any `json:"input"`
	}
	f.call("GET", "/api/v1/deployments/"+d.ID, tok, nil).data(t, &got)
	require.Equal(t, map[string]any{"sku": "A-1"}, got.Input)

	ctx := context.Background()
	sched := f.local.Scheduler
	t0 := time.Now().Truncate(time.Minute).Add(10 * time.Second)
	sched.Tick(ctx, t0)
	require.Equal(t, 1, sched.Tick(ctx, t0.Add(time.Minute)))
	var run string
	require.NoError(t, f.pool.QueryRow(ctx, `SELECT id FROM executions WHERE deployment_id = $1 AND trigger = 'schedule'`, d.ID).Scan(&run))
	status, _ := f.waitRun(run)
	require.Equal(t, "completed", status)
	var input string
	require.NoError(t, f.pool.QueryRow(ctx, `SELECT input_data->>'sku' FROM executions WHERE id = $1`, run).Scan(&input))
	require.Equal(t, "A-1", input)

	// A deployment made before deployments had an input (as in the
	// report): its fires cannot start, and each is a failed run on record.
	_, err := f.pool.Exec(ctx, `UPDATE deployments SET input = NULL WHERE id = $1`, d.ID)
	require.NoError(t, err)
	require.Equal(t, 0, sched.Tick(ctx, t0.Add(2*time.Minute)), "no run started")
	// The same fire delivered again is still one record.
	_, err = f.app.Deployments.Fire(ctx, d.ID, t0.Add(2*time.Minute).Truncate(time.Minute))
	require.Error(t, err)
	r = f.call("GET", "/api/v1/executions?deploymentId="+d.ID+"&trigger=schedule&status=failed", tok, nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var failed struct {
		Items []struct {
			Trigger      string          `json:"trigger"`
			DeploymentID string          `json:"deploymentId"`
			Error        json.RawMessage `json:"error"`
		} `json:"items"`
	}
	r.data(t, &failed)
	require.Len(t, failed.Items, 1)
	require.Equal(t, "schedule", failed.Items[0].Trigger)
	require.Equal(t, d.ID, failed.Items[0].DeploymentID)
	require.Contains(t, string(failed.Items[0].Error), `"error":"Schedule.StartFailed"`)
	require.Contains(t, string(failed.Items[0].Error), "input does not match the workflow's inputSchema: input: missing property 'sku'")

	// A run of the environment with no input takes the deployment's.
	require.NoError(t, f.pool.QueryRow(ctx, `UPDATE deployments SET input = '{"sku": "B-2"}' WHERE id = $1 RETURNING id`, d.ID).Scan(new(string)))
	r = f.call("POST", "/api/v1/workflows/"+wf+"/execute?wait=10", tok, map[string]any{"environment": "nightly"})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var res runAnswer
	r.data(t, &res)
	require.JSONEq(t, `{"a": {"sku": "B-2"}}`, string(res.Output))
}

// TestDeletingAnAgentAnOlderDeployedVersionUses: the agent a deployment's
// version runs cannot be deleted although the workflow's current version
// no longer uses it (item 4).
func TestDeletingAnAgentAnOlderDeployedVersionUses(t *testing.T) {
	t.Parallel()
	f := setupEngine(t)
	tok := f.register("del").AccessToken
	old := f.create(tok, "/api/v1/agents", jsAgent("old", `function main(i) { return {v: "old"}; }`))
	next := f.create(tok, "/api/v1/agents", jsAgent("next", `function main(i) { return {v: "next"}; }`))
	wf := f.create(tok, "/api/v1/workflows", map[string]any{"name": "live", "steps": []map[string]any{{"key": "a", "agentId": old}}})
	f.deploy(tok, wf, map[string]any{"environment": "prod"})
	r := f.call("PUT", "/api/v1/workflows/"+wf, tok, map[string]any{"name": "live", "steps": []map[string]any{{"key": "a", "agentId": next}}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)

	r = f.call("DELETE", "/api/v1/agents/"+old, tok, nil)
	require.Equal(t, http.StatusConflict, r.Status, "%s", r.Body)
	require.Contains(t, r.Env.Error.Message, "agent is used by active deployment(s) live/prod (version 1)")
	r = f.call("POST", "/api/v1/workflows/"+wf+"/execute?wait=10", tok, map[string]any{"environment": "prod"})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var res runAnswer
	r.data(t, &res)
	require.JSONEq(t, `{"a": {"v": "old"}}`, string(res.Output), "the deployed version still runs")

	// Once prod runs the new version, the old agent may go.
	f.deploy(tok, wf, map[string]any{"environment": "prod"})
	require.Equal(t, http.StatusOK, f.call("DELETE", "/api/v1/agents/"+old, tok, nil).Status)
}

// TestAgentsAreCheckedWhenSaved: a code agent with a syntax error or no
// main, and an llm agent without an API key, are refused at save with the
// field and (for code) the line (items 10 and 11).
func TestAgentsAreCheckedWhenSaved(t *testing.T) {
	t.Parallel()
	f := setup(t)
	tok := f.register("check").AccessToken
	r := f.call("POST", "/api/v1/agents", tok, jsAgent("broken", "function main(input) {\n  return input +;\n}"))
	require.Equal(t, http.StatusBadRequest, r.Status)
	require.Equal(t, []string{"config.source: line 2, column 17: SyntaxError: Unexpected token ;"}, r.fields())
	r = f.call("POST", "/api/v1/agents", tok, jsAgent("nomain", "function handler(input) { return input; }"))
	require.Equal(t, http.StatusBadRequest, r.Status)
	require.Len(t, r.fields(), 1)
	require.Contains(t, r.fields()[0], "config.source: the script must define function main(input, ctx)")
	id := f.create(tok, "/api/v1/agents", jsAgent("fine", "function main(input) { return input; }"))
	r = f.call("PATCH", "/api/v1/agents/"+id, tok, map[string]any{"config": map[string]any{"source": "function main( {"}})
	require.Equal(t, http.StatusBadRequest, r.Status, "an update is checked too")

	llm := func(cfg map[string]any) map[string]any {
		base := map[string]any{"provider": "openai", "model": "gpt-4o-mini", "prompt": "hi"}
		for k, v := range cfg {
			base[k] = v
		}
		return map[string]any{"name": "llm-" + strings.Repeat("x", len(cfg)), "type": "llm", "config": base}
	}
	r = f.call("POST", "/api/v1/agents", tok, llm(nil))
	require.Equal(t, http.StatusBadRequest, r.Status)
	require.Len(t, r.fields(), 1)
	require.Contains(t, r.fields()[0], "config.apiKeySecret: is required for openai")
	f.create(tok, "/api/v1/agents", llm(map[string]any{"apiKeySecret": "OPENAI_API_KEY"}))
	f.create(tok, "/api/v1/agents", llm(map[string]any{"baseUrl": "http://127.0.0.1:11434/v1", "model": "llama3"}))
}

// TestStaleWebhookSignatureSaysWhy: a correctly signed webhook call whose
// timestamp is past the window is told about the 5-minute window, not
// "invalid signature" (item 10).
func TestStaleWebhookSignatureSaysWhy(t *testing.T) {
	t.Parallel()
	f := setupEngine(t)
	tok := f.register("stale").AccessToken
	a := f.create(tok, "/api/v1/agents", codeAgent("echo"))
	wf := f.create(tok, "/api/v1/workflows", map[string]any{"name": "hooked", "steps": []map[string]any{{"key": "a", "agentId": a}}})
	d := f.deploy(tok, wf, map[string]any{"environment": "prod"})
	r := f.hook(d, d.SigningSecret, time.Now().Add(-10*time.Minute), `{}`)
	require.Equal(t, http.StatusUnauthorized, r.Status, "%s", r.Body)
	require.Regexp(t, `timestamp t is 10m\d+s old: requests are accepted within 5m0s of t`, r.Env.Error.Message)
	r = f.hook(d, "whsec_wrong", time.Now().Add(-10*time.Minute), `{}`)
	require.Equal(t, http.StatusUnauthorized, r.Status)
	require.Contains(t, r.Env.Error.Message, "missing or invalid X-Turbocat-Signature", "a wrong secret learns nothing about the window")
}

// TestTemplateCopiesGetPlainNames: instantiating a template twice gives
// "Name" then "Name 2" (item 12: the console added random suffixes).
func TestTemplateCopiesGetPlainNames(t *testing.T) {
	t.Parallel()
	f := setup(t)
	tok := f.register("tpl").AccessToken
	var list struct {
		Items []struct{ ID, Name, Kind string }
	}
	f.call("GET", "/api/v1/templates?kind=agent", tok, nil).data(t, &list)
	require.NotEmpty(t, list.Items)
	var tpl struct{ ID, Name string }
	for _, it := range list.Items {
		if !strings.Contains(it.Name, "LLM") && !strings.HasPrefix(it.Name, "Summarize") && !strings.HasPrefix(it.Name, "Classify") {
			tpl.ID, tpl.Name = it.ID, it.Name
			break
		}
	}
	names := []string{}
	for range 3 {
		r := f.call("POST", "/api/v1/templates/"+tpl.ID+"/instantiate", tok, map[string]any{})
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		var out struct {
			Agent struct{ Name string } `json:"agent"`
		}
		r.data(t, &out)
		names = append(names, out.Agent.Name)
	}
	require.Equal(t, []string{tpl.Name, tpl.Name + " 2", tpl.Name + " 3"}, names)
}

// TestRefreshTokenInACookie: with X-Turbocat-Session: cookie the refresh
// token is an HttpOnly, Secure, SameSite=Strict cookie scoped to the
// refresh route, never in the body; refresh reads and rotates it, and
// DELETE /auth/refresh ends the session (item 14).
func TestRefreshTokenInACookie(t *testing.T) {
	t.Parallel()
	f := setup(t)
	r := f.call("POST", "/api/v1/auth/register", "", map[string]string{"email": "cookie@example.com", "password": "correct horse battery"}, "X-Turbocat-Session", "cookie")
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	require.NotContains(t, string(r.Body), "refreshToken", "the token is not in the body")
	cookie := func(r resp) *http.Cookie {
		t.Helper()
		res := http.Response{Header: r.Header}
		for _, c := range res.Cookies() {
			if c.Name == "turbocat_refresh" {
				return c
			}
		}
		t.Fatalf("no turbocat_refresh cookie in %v", r.Header)
		return nil
	}
	c := cookie(r)
	require.True(t, c.HttpOnly)
	require.True(t, c.Secure)
	require.Equal(t, http.SameSiteStrictMode, c.SameSite)
	require.Equal(t, "/api/v1/auth/refresh", c.Path)
	require.Greater(t, c.MaxAge, 0)
	remember(c.Value, r.Body)
	var sess session
	r.data(t, &sess)
	require.NotEmpty(t, sess.AccessToken)

	// Another tab: the browser sends the cookie; the body names no token.
	r2 := f.call("POST", "/api/v1/auth/refresh", "", "", "Cookie", "turbocat_refresh="+c.Value)
	require.Equal(t, http.StatusOK, r2.Status, "%s", r2.Body)
	require.NotContains(t, string(r2.Body), "refreshToken")
	c2 := cookie(r2)
	require.NotEqual(t, c.Value, c2.Value, "rotated")
	remember(c2.Value, r2.Body)
	var s2 session
	r2.data(t, &s2)
	require.Equal(t, http.StatusOK, f.call("GET", "/api/v1/auth/me", s2.AccessToken, nil).Status)

	// The old cookie is spent: refused, and the cookie cleared.
	r3 := f.call("POST", "/api/v1/auth/refresh", "", map[string]any{}, "Cookie", "turbocat_refresh="+c.Value)
	require.Equal(t, http.StatusUnauthorized, r3.Status)
	require.Equal(t, -1, cookie(r3).MaxAge)

	// Log in again, then log out with the cookie: the session ends.
	r = f.call("POST", "/api/v1/auth/login", "", map[string]string{"email": "cookie@example.com", "password": "correct horse battery"}, "X-Turbocat-Session", "cookie")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	c = cookie(r)
	remember(c.Value, r.Body)
	r.data(t, &sess)
	out := f.call("DELETE", "/api/v1/auth/refresh", "", nil, "Cookie", "turbocat_refresh="+c.Value)
	require.Equal(t, http.StatusOK, out.Status, "%s", out.Body)
	require.Equal(t, -1, cookie(out).MaxAge)
	require.Equal(t, http.StatusUnauthorized, f.call("POST", "/api/v1/auth/refresh", "", nil, "Cookie", "turbocat_refresh="+c.Value).Status)
	require.Equal(t, http.StatusUnauthorized, f.call("GET", "/api/v1/auth/me", sess.AccessToken, nil).Status, "its access token ends at once")

	// Clients that send no header still get the token in the body.
	r = f.call("POST", "/api/v1/auth/login", "", map[string]string{"email": "cookie@example.com", "password": "correct horse battery"})
	r.data(t, &sess)
	remember(sess.RefreshToken, r.Body)
	require.NotEmpty(t, sess.RefreshToken)
	require.Empty(t, r.Header.Values("Set-Cookie"))
}
