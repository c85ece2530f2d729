package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/config"
)

func TestAgentsCRUD(t *testing.T) {
	t.Parallel()
	f := setup(t, func(c *config.Config) { c.MaxAgents = 3 })
	s := f.register("agents")
	tok := s.AccessToken

	id := f.create(tok, "/api/v1/agents", codeAgent("echo"))
	apiID := f.create(tok, "/api/v1/agents", map[string]any{"name": "fetch", "type": "api", "description": "GET a URL",
		"config": map[string]any{"method": "GET", "url": "{{input.url}}"}})
	dup := f.call("POST", "/api/v1/agents", tok, codeAgent("echo"))
	require.Equal(t, http.StatusConflict, dup.Status, "%s", dup.Body)
	require.Equal(t, "CONFLICT", dup.code())
	llmID := f.create(tok, "/api/v1/agents", map[string]any{"name": "sum", "type": "llm",
		"config": map[string]any{"provider": "openai", "model": "gpt-4o-mini", "apiKeySecret": "OPENAI_API_KEY", "prompt": "Summarise {{input.text}}"}})

	r := f.call("GET", "/api/v1/agents/"+id, tok, nil)
	require.Equal(t, http.StatusOK, r.Status)
	var a struct {
		Name, Type, Status string
		Config             map[string]any
	}
	r.data(t, &a)
	require.Equal(t, "echo", a.Name)
	require.Equal(t, "code", a.Type)
	require.Equal(t, "active", a.Status)
	require.Contains(t, a.Config["source"], "function main")

	// Quota, validation.
	quota := f.call("POST", "/api/v1/agents", tok, codeAgent("fourth"))
	require.Equal(t, http.StatusForbidden, quota.Status, "%s", quota.Body)
	require.Equal(t, "QUOTA_EXCEEDED", quota.code())
	require.Equal(t, 3, f.count("agents", ""))
	bad := f.call("POST", "/api/v1/agents", tok, map[string]any{"name": "", "type": "shell", "config": map[string]any{}})
	require.Equal(t, http.StatusBadRequest, bad.Status)
	require.Len(t, bad.fields(), 2, "%v", bad.fields())
	badCfg := f.call("POST", "/api/v1/agents", tok, map[string]any{"name": "x", "type": "api", "config": map[string]any{"method": "GET"}})
	require.Equal(t, http.StatusBadRequest, badCfg.Status)
	require.Equal(t, "config", strings.SplitN(badCfg.fields()[0], ":", 2)[0])

	// Update: name, config, status; type is fixed.
	up := f.call("PATCH", "/api/v1/agents/"+apiID, tok, map[string]any{"name": "fetch2", "status": "disabled"})
	require.Equal(t, http.StatusOK, up.Status, "%s", up.Body)
	up.data(t, &a)
	require.Equal(t, "fetch2", a.Name)
	require.Equal(t, "disabled", a.Status)
	require.Equal(t, http.StatusBadRequest, f.call("PATCH", "/api/v1/agents/"+apiID, tok, map[string]any{"type": "code"}).Status)
	require.Equal(t, http.StatusConflict, f.call("PATCH", "/api/v1/agents/"+apiID, tok, map[string]any{"name": "echo"}).Status)

	// List with type filter, search and paging.
	var list struct {
		Items      []struct{ ID, Name string }
		NextCursor string
	}
	f.call("GET", "/api/v1/agents?type=llm", tok, nil).data(t, &list)
	require.Len(t, list.Items, 1)
	require.Equal(t, llmID, list.Items[0].ID)
	f.call("GET", "/api/v1/agents?search=ECH", tok, nil).data(t, &list)
	require.Len(t, list.Items, 1)
	seenIDs := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 5)
		list.NextCursor = ""
		f.call("GET", "/api/v1/agents?limit=2&cursor="+cursor, tok, nil).data(t, &list)
		for _, it := range list.Items {
			require.False(t, seenIDs[it.ID], "no item twice across pages")
			seenIDs[it.ID] = true
		}
		if list.NextCursor == "" {
			break
		}
		cursor = list.NextCursor
	}
	require.Len(t, seenIDs, 3)
	require.Equal(t, http.StatusBadRequest, f.call("GET", "/api/v1/agents?limit=101", tok, nil).Status)
	require.Equal(t, http.StatusBadRequest, f.call("GET", "/api/v1/agents?cursor=garbage!", tok, nil).Status)

	// Delete; then 404.
	require.Equal(t, http.StatusOK, f.call("DELETE", "/api/v1/agents/"+id, tok, nil).Status)
	nf := f.call("GET", "/api/v1/agents/"+id, tok, nil)
	require.Equal(t, http.StatusNotFound, nf.Status)
	require.Equal(t, "NOT_FOUND", nf.code())
	require.Equal(t, http.StatusNotFound, f.call("GET", "/api/v1/agents/not-a-uuid", tok, nil).Status)

	for action, n := range map[string]int{"agent.create": 3, "agent.update": 1, "agent.delete": 1} {
		require.Equal(t, n, f.count("audit_logs", "action = $1 AND user_id = $2", action, s.User.ID), action)
	}
}

// parallelWorkflow is fetch → (summarize ∥ classify) → notify.
func parallelWorkflow(name string, agent string) map[string]any {
	return map[string]any{
		"name":        name,
		"description": "fan-out and back",
		"inputSchema": map[string]any{"type": "object", "properties": map[string]any{"url": map[string]any{"type": "string"}}, "required": []string{"url"}},
		"steps": []map[string]any{
			{"key": "fetch", "agentId": agent, "inputs": map[string]any{"url": "{{inputs.url}}"}},
			{"key": "summarize", "agentId": agent, "dependsOn": []string{"fetch"}, "inputs": map[string]any{"text": "{{steps.fetch.output.body}}"},
				"retry": map[string]any{"maxAttempts": 3, "intervalSeconds": 2, "backoffRate": 2}, "timeoutSeconds": 60},
			{"key": "classify", "agentId": agent, "dependsOn": []string{"fetch"}, "inputs": map[string]any{"text": "{{steps.fetch.output.body}}"}},
			{"key": "notify", "agentId": agent, "dependsOn": []string{"summarize", "classify"},
				"inputs": map[string]any{"summary": "{{steps.summarize.output}}", "label": "{{steps.classify.output.label}}", "run": "{{execution.id}}"}},
		},
	}
}

func TestWorkflowsCRUDAndValidation(t *testing.T) {
	t.Parallel()
	f := setup(t)
	s := f.register("wf")
	tok := s.AccessToken
	agent := f.create(tok, "/api/v1/agents", codeAgent("echo"))

	r := f.call("POST", "/api/v1/workflows", tok, parallelWorkflow("research", agent))
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	var wf struct {
		ID      string
		Version int
		Steps   []struct {
			Key       string
			DependsOn []string
			Retry     *struct{ MaxAttempts int }
		}
	}
	r.data(t, &wf)
	require.Equal(t, 1, wf.Version)
	require.Len(t, wf.Steps, 4)
	require.Equal(t, []string{"summarize", "classify"}, wf.Steps[3].DependsOn)
	require.Equal(t, 3, wf.Steps[1].Retry.MaxAttempts)
	require.Equal(t, 4, f.count("workflow_steps", "workflow_id = $1", wf.ID))

	cases := []struct {
		name  string
		mut   func(map[string]any)
		field string
		msg   string
	}{
		{"cycle", func(w map[string]any) {
			st := w["steps"].([]map[string]any)
			st[0]["dependsOn"] = []string{"notify"}
		}, "steps[", "→"},
		{"unknown dependency", func(w map[string]any) {
			w["steps"].([]map[string]any)[1]["dependsOn"] = []string{"nope"}
		}, "steps[1].dependsOn[0]", "nope"},
		{"duplicate key", func(w map[string]any) {
			w["steps"].([]map[string]any)[2]["key"] = "summarize"
		}, "steps[2].key", "summarize"},
		{"template not upstream", func(w map[string]any) {
			w["steps"].([]map[string]any)[1]["inputs"] = map[string]any{"x": "{{steps.classify.output}}"}
		}, "steps[1].inputs", "upstream"},
		{"undeclared input", func(w map[string]any) {
			w["steps"].([]map[string]any)[0]["inputs"] = map[string]any{"x": "{{inputs.missing}}"}
		}, "steps[0].inputs", "missing"},
		{"foreign agent", func(w map[string]any) {
			w["steps"].([]map[string]any)[0]["agentId"] = "00000000-0000-4000-8000-000000000000"
		}, "steps[0].agentId", "no such agent"},
		{"bad retry", func(w map[string]any) {
			w["steps"].([]map[string]any)[1]["retry"] = map[string]any{"maxAttempts": 99, "intervalSeconds": 0, "backoffRate": 0.5}
		}, "steps[1].retry.maxAttempts", "0 to 20"},
		{"no steps", func(w map[string]any) { w["steps"] = []map[string]any{} }, "steps", "at least one"},
	}
	for _, c := range cases {
		w := parallelWorkflow("bad-"+strings.ReplaceAll(c.name, " ", "-"), agent)
		c.mut(w)
		r := f.call("POST", "/api/v1/workflows", tok, w)
		require.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", c.name, r.Body)
		found := false
		for _, d := range r.fields() {
			if strings.HasPrefix(d, c.field) && strings.Contains(d, c.msg) {
				found = true
			}
		}
		require.True(t, found, "%s: want %s containing %q in %v", c.name, c.field, c.msg, r.fields())
	}
	require.Equal(t, 1, f.count("workflows", ""), "no invalid workflow was stored")

	// A cycle names its path.
	w := parallelWorkflow("cyc", agent)
	w["steps"].([]map[string]any)[0]["dependsOn"] = []string{"notify"}
	require.Contains(t, string(f.call("POST", "/api/v1/workflows", tok, w).Body), "fetch → summarize → notify → fetch")

	// PATCH bumps the version; PUT replaces; old versions stay readable.
	p := f.call("PATCH", "/api/v1/workflows/"+wf.ID, tok, map[string]any{"description": "v2"})
	require.Equal(t, http.StatusOK, p.Status, "%s", p.Body)
	p.data(t, &wf)
	require.Equal(t, 2, wf.Version)
	put := parallelWorkflow("research", agent)
	put["steps"] = []map[string]any{{"key": "only", "agentId": agent}}
	pr := f.call("PUT", "/api/v1/workflows/"+wf.ID, tok, put)
	require.Equal(t, http.StatusOK, pr.Status, "%s", pr.Body)
	pr.data(t, &wf)
	require.Equal(t, 3, wf.Version)
	require.Len(t, wf.Steps, 1)
	require.Equal(t, 1, f.count("workflow_steps", "workflow_id = $1", wf.ID))
	f.call("GET", "/api/v1/workflows/"+wf.ID+"?version=1", tok, nil).data(t, &wf)
	require.Len(t, wf.Steps, 4)
	require.Equal(t, 1, wf.Version)
	require.Equal(t, http.StatusNotFound, f.call("GET", "/api/v1/workflows/"+wf.ID+"?version=9", tok, nil).Status)

	// An agent in use cannot be deleted.
	del := f.call("DELETE", "/api/v1/agents/"+agent, tok, nil)
	require.Equal(t, http.StatusConflict, del.Status)
	require.Contains(t, del.Env.Error.Message, "research")

	require.Equal(t, http.StatusOK, f.call("DELETE", "/api/v1/workflows/"+wf.ID, tok, nil).Status)
	require.Equal(t, http.StatusOK, f.call("DELETE", "/api/v1/agents/"+agent, tok, nil).Status)
	for action, n := range map[string]int{"workflow.create": 1, "workflow.update": 2, "workflow.delete": 1} {
		require.Equal(t, n, f.count("audit_logs", "action = $1 AND user_id = $2", action, s.User.ID), action)
	}
}

func TestTemplates(t *testing.T) {
	t.Parallel()
	f := setup(t)
	s := f.register("tpl")
	tok := s.AccessToken
	id := f.create(tok, "/api/v1/templates", map[string]any{"name": "echo", "kind": "agent", "agentType": "code", "description": "returns its input",
		"definition": map[string]any{"source": "function main(input) { return input; }"}})
	bad := f.call("POST", "/api/v1/templates", tok, map[string]any{"name": "x", "kind": "agent", "agentType": "code", "definition": map[string]any{}})
	require.Equal(t, http.StatusBadRequest, bad.Status)

	inst := f.call("POST", "/api/v1/templates/"+id+"/instantiate", tok, map[string]any{"name": "my echo"})
	require.Equal(t, http.StatusCreated, inst.Status, "%s", inst.Body)
	var out struct {
		Kind  string
		Agent struct {
			ID, Name   string
			TemplateID *string
		}
	}
	inst.data(t, &out)
	require.Equal(t, "agent", out.Kind)
	require.Equal(t, "my echo", out.Agent.Name)
	require.Equal(t, id, *out.Agent.TemplateID)

	wt := f.create(tok, "/api/v1/templates", map[string]any{"name": "pipeline", "kind": "workflow", "definition": map[string]any{
		"agents": []map[string]any{{"ref": "e", "name": "echo", "type": "code", "config": map[string]any{"source": "function main(i){return i}"}}},
		"workflow": map[string]any{"steps": []map[string]any{
			{"key": "a", "agent": "e"}, {"key": "b", "agent": "e", "dependsOn": []string{"a"}}, {"key": "c", "agent": "e", "dependsOn": []string{"a"}}}},
	}})
	wi := f.call("POST", "/api/v1/templates/"+wt+"/instantiate", tok, map[string]any{"name": "my pipeline"})
	require.Equal(t, http.StatusCreated, wi.Status, "%s", wi.Body)
	require.Equal(t, 1, f.count("workflows", "name = 'my pipeline'"))

	up := f.call("PATCH", "/api/v1/templates/"+id, tok, map[string]any{"description": "new"})
	require.Equal(t, http.StatusOK, up.Status, "%s", up.Body)
	var list struct{ Items []struct{ ID string } }
	f.call("GET", "/api/v1/templates?kind=agent", tok, nil).data(t, &list)
	ids := map[string]bool{}
	for _, it := range list.Items {
		ids[it.ID] = true
	}
	require.True(t, ids[id])
	require.False(t, ids[wt], "kind filter")
	require.Equal(t, http.StatusOK, f.call("DELETE", "/api/v1/templates/"+id, tok, nil).Status)
	require.Equal(t, 0, f.count("templates", "id = $1", id))
	require.Equal(t, 1, f.count("agents", "name = 'my echo' AND template_id IS NULL"), "deleting a template keeps its agents")
}

// TestOwnershipMatrix calls every route that takes an id, as a second user
// (by JWT and by an API key with every scope), with the first user's ids:
// each must be a 404 and change nothing.
func TestOwnershipMatrix(t *testing.T) {
	t.Parallel()
	f := setup(t)
	owner := f.register("owner")
	intruder := f.register("intruder")
	tok := owner.AccessToken
	ctx := context.Background()

	ids := map[string]string{}
	ids["agent"] = f.create(tok, "/api/v1/agents", codeAgent("mine"))
	ids["template"] = f.create(tok, "/api/v1/templates", map[string]any{"name": "mine", "kind": "agent", "agentType": "code", "definition": map[string]any{"source": "function main(i){return i}"}})
	wr := f.call("POST", "/api/v1/workflows", tok, map[string]any{"name": "mine", "steps": []map[string]any{{"key": "a", "agentId": ids["agent"]}}})
	var wf idOnly
	wr.data(t, &wf)
	ids["workflow"] = wf.ID
	ids["api_key"] = f.apiKey(tok, "agents:read").ID
	require.Equal(t, http.StatusCreated, f.call("POST", "/api/v1/secrets", tok, map[string]string{"name": "OWNER_TOKEN", "value": "owner-secret-value"}).Status)
	ids["secret"] = "OWNER_TOKEN"
	wh := f.call("POST", "/api/v1/webhooks", tok, map[string]any{"url": "https://hooks.example.com/x", "events": []string{"execution.failed"}})
	require.Equal(t, http.StatusCreated, wh.Status, "%s", wh.Body)
	var whID struct{ ID, Secret string }
	wh.data(t, &whID)
	remember(whID.Secret, wh.Body)
	ids["webhook"] = whID.ID
	require.NoError(t, f.pool.QueryRow(ctx, `INSERT INTO executions (workflow_id, workflow_version, user_id, trigger) VALUES ($1, 1, $2, 'api') RETURNING id`,
		wf.ID, owner.User.ID).Scan(new(string)))
	require.NoError(t, f.pool.QueryRow(ctx, `SELECT id FROM executions WHERE user_id = $1`, owner.User.ID).Scan(&wf.ID))
	ids["execution"] = wf.ID
	require.NoError(t, f.pool.QueryRow(ctx, `INSERT INTO deployments (workflow_id, user_id, environment, version) VALUES ($1, $2, 'prod', 1) RETURNING id`,
		ids["workflow"], owner.User.ID).Scan(&wf.ID))
	ids["deployment"] = wf.ID

	snapshot := func() string {
		var s string
		require.NoError(t, f.pool.QueryRow(ctx, `SELECT md5(string_agg(t, '|' ORDER BY t)) FROM (
			SELECT row_to_json(a)::text AS t FROM agents a WHERE user_id = $1
			UNION ALL SELECT row_to_json(w)::text FROM workflows w WHERE user_id = $1
			UNION ALL SELECT row_to_json(x)::text FROM templates x WHERE user_id = $1
			UNION ALL SELECT row_to_json(k)::text FROM api_keys k WHERE user_id = $1
			UNION ALL SELECT row_to_json(e)::text FROM executions e WHERE user_id = $1
			UNION ALL SELECT row_to_json(d)::text FROM deployments d WHERE user_id = $1
			UNION ALL SELECT row_to_json(s)::text FROM workflow_steps s JOIN workflows w ON w.id = s.workflow_id WHERE w.user_id = $1
			UNION ALL SELECT row_to_json(c)::text FROM secrets c WHERE user_id = $1
			UNION ALL SELECT row_to_json(h)::text FROM webhooks h WHERE user_id = $1
			) all_rows`, owner.User.ID).Scan(&s))
		return s
	}
	before := snapshot()

	allScopes := f.apiKey(intruder.AccessToken, "agents:read", "agents:write", "templates:read", "templates:write", "workflows:read",
		"workflows:write", "workflows:execute", "executions:read", "executions:write", "deployments:read", "deployments:write", "audit:read", "secrets:read", "secrets:write", "webhooks:read", "webhooks:write")
	bodies := map[string]any{
		"PATCH":  map[string]any{"name": "stolen", "description": "x"},
		"deploy": map[string]any{"environment": "stolen"},
		"PUT":    map[string]any{"name": "stolen", "steps": []map[string]any{{"key": "a", "agentId": ids["agent"]}}},
		"POST":   map[string]any{},
	}
	checked := 0
	for _, rt := range httpapiRoutes() {
		if rt.Public || (!strings.Contains(rt.Path, "{id}") && !strings.Contains(rt.Path, "{name}")) {
			continue // public routes (webhooks) have no owner: their signature is the credential
		}
		id, ok := ids[rt.Owns]
		require.True(t, ok, "route %s %s takes an id but the ownership matrix has no %q entry: add one", rt.Method, rt.Path, rt.Owns)
		path := strings.NewReplacer("{id}", id, "{name}", id).Replace(rt.Path)
		for _, cred := range []string{intruder.AccessToken, allScopes.Key} {
			if rt.JWTOnly && cred == allScopes.Key {
				continue
			}
			body := bodies[rt.Method]
			if strings.HasSuffix(rt.Path, "/deployments") {
				body = bodies["deploy"]
			}
			r := f.call(rt.Method, path, cred, body)
			require.Equal(t, http.StatusNotFound, r.Status, "%s %s as another user: %s", rt.Method, rt.Path, r.Body)
			require.Equal(t, "NOT_FOUND", r.code())
			checked++
		}
	}
	require.Greater(t, checked, 15)
	require.Equal(t, before, snapshot(), "nothing of the owner's changed")
	// And the owner still sees everything.
	for kind, path := range map[string]string{"agent": "/api/v1/agents/", "workflow": "/api/v1/workflows/", "template": "/api/v1/templates/",
		"execution": "/api/v1/executions/", "deployment": "/api/v1/deployments/"} {
		require.Equal(t, http.StatusOK, f.call("GET", path+ids[kind], tok, nil).Status, kind)
	}
	_ = fmt.Sprint()
}

func TestBuiltinTemplates(t *testing.T) {
	t.Parallel()
	f := setup(t)
	s := f.register("builtin")
	tok := s.AccessToken
	var list struct {
		Items []struct {
			ID, Name, Kind string
			BuiltIn        bool
		}
	}
	f.call("GET", "/api/v1/templates?limit=100", tok, nil).data(t, &list)
	byName := map[string]string{}
	agents := 0
	for _, it := range list.Items {
		require.True(t, it.BuiltIn)
		byName[it.Name] = it.ID
		if it.Kind == "agent" {
			agents++
		}
	}
	require.GreaterOrEqual(t, agents, 8)

	// Seeding again changes nothing (idempotent).
	require.NoError(t, f.app.Migrate(context.Background()))
	require.Equal(t, len(list.Items), f.count("templates", "user_id IS NULL"))

	// Built-ins are read-only.
	id := byName["Transform JSON"]
	require.Equal(t, http.StatusForbidden, f.call("PATCH", "/api/v1/templates/"+id, tok, map[string]any{"description": "x"}).Status)
	require.Equal(t, http.StatusForbidden, f.call("DELETE", "/api/v1/templates/"+id, tok, nil).Status)

	// Every built-in instantiates.
	for name, id := range byName {
		r := f.call("POST", "/api/v1/templates/"+id+"/instantiate", tok, map[string]any{"name": "my " + name})
		require.Equal(t, http.StatusCreated, r.Status, "%s: %s", name, r.Body)
	}
	var wf struct {
		Steps []struct{ Key string }
	}
	var wid string
	require.NoError(t, f.pool.QueryRow(context.Background(), `SELECT id FROM workflows WHERE name = 'my Parallel research'`).Scan(&wid))
	f.call("GET", "/api/v1/workflows/"+wid, tok, nil).data(t, &wf)
	require.Len(t, wf.Steps, 3)
}

// TestExecutionsAndDeploymentsRead covers the read side of executions and
// deployments over rows written as the engine writes them.
func TestExecutionsAndDeploymentsRead(t *testing.T) {
	t.Parallel()
	f := setup(t)
	s := f.register("reader")
	tok := s.AccessToken
	ctx := context.Background()
	agent := f.create(tok, "/api/v1/agents", codeAgent("echo"))
	wf := f.create(tok, "/api/v1/workflows", map[string]any{"name": "w", "steps": []map[string]any{{"key": "a", "agentId": agent}, {"key": "b", "agentId": agent, "dependsOn": []string{"a"}}}})

	var exec string
	require.NoError(t, f.pool.QueryRow(ctx, `INSERT INTO executions (workflow_id, workflow_version, user_id, trigger, status, input_data, started_at)
		VALUES ($1, 1, $2, 'api', 'running', '{"x": 1}', now()) RETURNING id`, wf, s.User.ID).Scan(&exec))
	_, err := f.pool.Exec(ctx, `INSERT INTO executions (workflow_id, workflow_version, user_id, trigger, status) VALUES ($1, 1, $2, 'webhook', 'completed')`, wf, s.User.ID)
	require.NoError(t, err)
	_, err = f.pool.Exec(ctx, `INSERT INTO execution_steps (execution_id, step_key, status, attempt, input, output, started_at, completed_at, duration_ms)
		VALUES ($1, 'a', 'completed', 1, '{"x": 1}', '{"y": 2}', now(), now(), 3), ($1, 'b', 'running', 1, '{}', NULL, now(), NULL, NULL)`, exec)
	require.NoError(t, err)
	for i := 1; i <= 5; i++ {
		_, err = f.pool.Exec(ctx, `INSERT INTO execution_logs (execution_id, step_key, level, message, sequence) VALUES ($1, 'a', 'info', $2, $3)`, exec, fmt.Sprintf("line %d", i), i)
		require.NoError(t, err)
	}
	_, err = f.pool.Exec(ctx, `INSERT INTO deployments (workflow_id, user_id, environment, version, status) VALUES ($1, $2, 'dev', 1, 'active'), ($1, $2, 'prod', 1, 'pending')`, wf, s.User.ID)
	require.NoError(t, err)

	var execs struct {
		Items []struct{ ID, Status, Trigger string }
	}
	f.call("GET", "/api/v1/executions?status=running", tok, nil).data(t, &execs)
	require.Len(t, execs.Items, 1)
	require.Equal(t, exec, execs.Items[0].ID)
	f.call("GET", "/api/v1/executions?workflowId="+wf, tok, nil).data(t, &execs)
	require.Len(t, execs.Items, 2)
	require.Equal(t, http.StatusBadRequest, f.call("GET", "/api/v1/executions?status=bogus", tok, nil).Status)

	var detail struct {
		Status string
		Steps  []struct {
			StepKey, Status string
			Output          map[string]any
		}
	}
	f.call("GET", "/api/v1/executions/"+exec, tok, nil).data(t, &detail)
	require.Equal(t, "running", detail.Status)
	require.Len(t, detail.Steps, 2)
	require.Equal(t, float64(2), detail.Steps[0].Output["y"])
	require.Equal(t, http.StatusOK, f.call("GET", "/api/v1/executions/"+exec+"/steps", tok, nil).Status)

	var logs struct {
		Items      []struct{ Sequence int64 }
		NextCursor string
	}
	f.call("GET", "/api/v1/executions/"+exec+"/logs?limit=3", tok, nil).data(t, &logs)
	require.Len(t, logs.Items, 3)
	require.Equal(t, "3", logs.NextCursor)
	logs.NextCursor = ""
	f.call("GET", "/api/v1/executions/"+exec+"/logs?limit=3&cursor=3", tok, nil).data(t, &logs)
	require.Equal(t, []struct{ Sequence int64 }{{4}, {5}}, logs.Items)

	var deps struct {
		Items []struct{ Environment string }
	}
	f.call("GET", "/api/v1/deployments?environment=prod", tok, nil).data(t, &deps)
	require.Len(t, deps.Items, 1)
	f.call("GET", "/api/v1/deployments?workflowId="+wf, tok, nil).data(t, &deps)
	require.Len(t, deps.Items, 2)

	var wfs struct{ Items []struct{ ID string } }
	f.call("GET", "/api/v1/workflows?search=w", tok, nil).data(t, &wfs)
	require.Len(t, wfs.Items, 1)
}
