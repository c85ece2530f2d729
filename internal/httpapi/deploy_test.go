package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/config"
	"github.com/turbocat/turbocat/internal/service"
	"github.com/turbocat/turbocat/internal/turbocat"
)

type deployment struct {
	ID, Environment, Status string
	Version                 int
	PreviousVersion         *int
	EndpointURL             *string
	SigningSecret           string
	NextFires               []time.Time
	Error                   *string
}

func (f *fixture) deploy(tok, wf string, body map[string]any) deployment {
	f.t.Helper()
	r := f.call("POST", "/api/v1/workflows/"+wf+"/deployments", tok, body)
	require.Equal(f.t, http.StatusCreated, r.Status, "%s", r.Body)
	var d deployment
	r.data(f.t, &d)
	remember(d.SigningSecret, r.Body)
	return d
}

// hook calls a deployment's webhook (its environment's stable URL), signed
// with secret at t.
func (f *fixture) hook(d deployment, secret string, t time.Time, body string, headers ...string) resp {
	f.t.Helper()
	return f.hookPath(strings.TrimPrefix(*d.EndpointURL, f.app.Config.PublicURL), secret, t, body, headers...)
}

func (f *fixture) hookPath(path, secret string, t time.Time, body string, headers ...string) resp {
	f.t.Helper()
	sig := service.Sign(secret, t, []byte(body))
	return f.call("POST", path, "", body, append([]string{"X-Turbocat-Signature", sig}, headers...)...)
}

// completedRun reads the run started by r, waits for it, requires that it
// completed on version and returns its output.
func (f *fixture) completedRun(r resp, version int) string {
	f.t.Helper()
	var run runAnswer
	r.data(f.t, &run)
	status, got := f.waitRun(run.ExecutionID)
	require.Equal(f.t, "completed", status)
	require.Equal(f.t, version, got)
	var out string
	require.NoError(f.t, f.pool.QueryRow(context.Background(), `SELECT output_data::text FROM executions WHERE id = $1`, run.ExecutionID).Scan(&out))
	return out
}

func (f *fixture) waitRun(id string) (status string, version int) {
	f.t.Helper()
	require.Eventually(f.t, func() bool {
		require.NoError(f.t, f.pool.QueryRow(context.Background(), `SELECT status, workflow_version FROM executions WHERE id = $1`, id).Scan(&status, &version))
		return status != "pending" && status != "running"
	}, 20*time.Second, 10*time.Millisecond)
	return status, version
}

func TestDeploymentsWebhooksRollback(t *testing.T) {
	t.Parallel()
	f := setupEngine(t)
	s := f.register("deployer")
	tok := s.AccessToken
	v1 := f.create(tok, "/api/v1/agents", jsAgent("v1", `function main(input) { return { version: 1, got: input.n }; }`))
	v2 := f.create(tok, "/api/v1/agents", jsAgent("v2", `function main(input) { return { version: 2 }; }`))
	wf := f.create(tok, "/api/v1/workflows", map[string]any{"name": "deployed", "steps": []map[string]any{{"key": "a", "agentId": v1, "inputs": map[string]any{"n": "{{inputs.n}}"}}}})

	bad := f.call("POST", "/api/v1/workflows/"+wf+"/deployments", tok, map[string]any{"environment": "prod", "schedule": "cron(0 12 * * * *)"})
	require.Equal(t, http.StatusBadRequest, bad.Status)
	require.Contains(t, strings.Join(bad.fields(), " "), "schedule")
	require.Equal(t, http.StatusBadRequest, f.call("POST", "/api/v1/workflows/"+wf+"/deployments", tok, map[string]any{"environment": "Prod!"}).Status)

	dev := f.deploy(tok, wf, map[string]any{"environment": "dev"})
	prod := f.deploy(tok, wf, map[string]any{"environment": "prod"})
	require.Equal(t, "active", prod.Status)
	require.Equal(t, 1, prod.Version)
	require.True(t, strings.HasPrefix(prod.SigningSecret, "whsec_"))
	require.Equal(t, f.app.Config.PublicURL+"/hooks/"+wf+"/prod", *prod.EndpointURL)
	require.NotEqual(t, dev.SigningSecret, prod.SigningSecret)
	// The deployment's own URL answers too, until the environment moves on.
	r0 := f.hookPath("/hooks/"+prod.ID, prod.SigningSecret, time.Now(), `{"n": 0}`)
	require.Equal(t, http.StatusAccepted, r0.Status, "%s", r0.Body)

	// Signed calls start runs; anything else is refused.
	now := time.Now()
	r := f.hook(prod, prod.SigningSecret, now, `{"n": 7}`, "Idempotency-Key", "evt-1")
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
	var run runAnswer
	r.data(t, &run)
	status, version := f.waitRun(run.ExecutionID)
	require.Equal(t, "completed", status)
	require.Equal(t, 1, version)
	var trigger, deploymentID string
	require.NoError(t, f.pool.QueryRow(context.Background(), `SELECT trigger, deployment_id FROM executions WHERE id = $1`, run.ExecutionID).Scan(&trigger, &deploymentID))
	require.Equal(t, "webhook", trigger)
	require.Equal(t, prod.ID, deploymentID)

	replay := f.hook(prod, prod.SigningSecret, now, `{"n": 7}`, "Idempotency-Key", "evt-1")
	var again runAnswer
	replay.data(t, &again)
	require.Equal(t, run.ExecutionID, again.ExecutionID, "a replay starts nothing new")
	bare := f.hook(prod, prod.SigningSecret, now, `{"n": 7}`)
	require.Equal(t, http.StatusConflict, bare.Status, "a replayed signed request without its Idempotency-Key: %s", bare.Body)
	require.Equal(t, "REPLAYED", bare.Env.Error.Code)
	otherKey := f.hook(prod, prod.SigningSecret, now, `{"n": 7}`, "Idempotency-Key", "evt-2")
	require.Equal(t, "REPLAYED", otherKey.Env.Error.Code, "another key does not make a captured request new")
	for name, res := range map[string]resp{
		"no signature":  f.call("POST", "/hooks/"+prod.ID, "", `{}`),
		"wrong secret":  f.hook(prod, dev.SigningSecret, now, `{}`),
		"stale":         f.hook(prod, prod.SigningSecret, now.Add(-6*time.Minute), `{}`),
		"tampered body": f.call("POST", "/hooks/"+prod.ID, "", `{"n":8}`, "X-Turbocat-Signature", service.Sign(prod.SigningSecret, now, []byte(`{"n":7}`))),
	} {
		require.Equal(t, http.StatusUnauthorized, res.Status, name)
	}
	require.Equal(t, 2, f.count("executions", "deployment_id = $1", prod.ID))

	// A new version deployed to prod; the old prod deployment steps aside.
	// The environment keeps its URL and signing secret: callers change
	// nothing.
	require.Equal(t, http.StatusOK, f.call("PATCH", "/api/v1/workflows/"+wf, tok, map[string]any{"steps": []map[string]any{{"key": "a", "agentId": v2}}}).Status)
	redeploy := f.call("POST", "/api/v1/workflows/"+wf+"/deployments", tok, map[string]any{"environment": "prod"})
	require.Equal(t, http.StatusCreated, redeploy.Status, "%s", redeploy.Body)
	require.NotContains(t, string(redeploy.Body), "whsec_", "a redeploy does not show the secret again")
	require.Contains(t, string(redeploy.Body), `"signingSecretKept":true`)
	var prod2 deployment
	redeploy.data(t, &prod2)
	require.Equal(t, 2, prod2.Version)
	require.Equal(t, 1, *prod2.PreviousVersion)
	require.Equal(t, *prod.EndpointURL, *prod2.EndpointURL)
	prod2.SigningSecret = prod.SigningSecret
	var old deployment
	f.call("GET", "/api/v1/deployments/"+prod.ID, tok, nil).data(t, &old)
	require.Equal(t, "inactive", old.Status)
	require.Equal(t, http.StatusNotFound, f.hookPath("/hooks/"+prod.ID, prod.SigningSecret, time.Now(), `{}`).Status, "an inactive deployment's own webhook is gone")
	out := f.completedRun(f.hook(prod, prod.SigningSecret, time.Now(), `{}`), 2)
	require.JSONEq(t, `{"a":{"version":2}}`, out, "prod runs version 2")

	// An environment can be pinned to an earlier version.
	bad = f.call("POST", "/api/v1/workflows/"+wf+"/deployments", tok, map[string]any{"environment": "pinned", "version": 3})
	require.Equal(t, http.StatusBadRequest, bad.Status)
	require.Contains(t, string(bad.Body), "must be a version of the workflow, 1 to 2")
	pinned := f.deploy(tok, wf, map[string]any{"environment": "pinned", "version": 1})
	require.Equal(t, 1, pinned.Version)
	out = f.completedRun(f.hook(pinned, pinned.SigningSecret, time.Now(), `{"n": 5}`), 1)
	require.JSONEq(t, `{"a":{"version":1,"got":5}}`, out, "the pinned environment runs version 1's definition")

	// The API runs an environment too, without a signature: its version,
	// recorded with its deployment.
	ex := f.call("POST", "/api/v1/workflows/"+wf+"/execute", tok, map[string]any{"input": map[string]any{"n": 6}, "environment": "pinned"})
	require.Equal(t, http.StatusAccepted, ex.Status, "%s", ex.Body)
	ex.data(t, &run)
	status, version = f.waitRun(run.ExecutionID)
	require.Equal(t, "completed", status)
	require.Equal(t, 1, version)
	require.NoError(t, f.pool.QueryRow(context.Background(), `SELECT trigger, deployment_id FROM executions WHERE id = $1`, run.ExecutionID).Scan(&trigger, &deploymentID))
	require.Equal(t, "api", trigger)
	require.Equal(t, pinned.ID, deploymentID)
	none := f.call("POST", "/api/v1/workflows/"+wf+"/execute", tok, map[string]any{"environment": "nowhere"})
	require.Equal(t, http.StatusNotFound, none.Status)
	require.Contains(t, none.Env.Error.Message, `no active deployment in "nowhere"`)
	other := f.register("not-the-owner")
	require.Equal(t, http.StatusNotFound, f.call("POST", "/api/v1/workflows/"+wf+"/execute", other.AccessToken, map[string]any{"environment": "pinned"}).Status)

	// Roll back: the alias points at version 1 again.
	rb := f.call("POST", "/api/v1/deployments/"+prod2.ID+"/rollback", tok, nil)
	require.Equal(t, http.StatusOK, rb.Status, "%s", rb.Body)
	var rolled deployment
	rb.data(t, &rolled)
	require.Equal(t, 1, rolled.Version)
	out = f.completedRun(f.hook(prod2, prod2.SigningSecret, time.Now(), `{"n": 1}`), 1)
	require.JSONEq(t, `{"a":{"version":1,"got":1}}`, out, "the rolled-back alias runs version 1's definition")

	// Rotate the signing secret: the old one stops working at once.
	rot := f.call("POST", "/api/v1/deployments/"+prod2.ID+"/rotate-secret", tok, nil)
	require.Equal(t, http.StatusOK, rot.Status, "%s", rot.Body)
	var rotated deployment
	rot.data(t, &rotated)
	remember(rotated.SigningSecret, rot.Body)
	require.NotEqual(t, prod2.SigningSecret, rotated.SigningSecret)
	require.Equal(t, http.StatusUnauthorized, f.hook(prod2, prod2.SigningSecret, time.Now(), `{}`).Status)
	require.Equal(t, http.StatusAccepted, f.hook(prod2, rotated.SigningSecret, time.Now(), `{"n": 2}`).Status)

	// Deactivate: the webhook stops.
	require.Equal(t, http.StatusOK, f.call("DELETE", "/api/v1/deployments/"+prod2.ID, tok, nil).Status)
	require.Equal(t, http.StatusNotFound, f.hook(prod2, rotated.SigningSecret, time.Now(), `{}`).Status)
	require.Equal(t, http.StatusNotFound, f.hookPath("/hooks/"+prod2.ID, rotated.SigningSecret, time.Now(), `{}`).Status)
	require.Equal(t, http.StatusNotFound, f.hookPath("/hooks/not-a-uuid/prod", rotated.SigningSecret, time.Now(), `{}`).Status)
	require.Equal(t, http.StatusConflict, f.call("POST", "/api/v1/deployments/"+prod2.ID+"/rollback", tok, nil).Status)
	for action, n := range map[string]int{"deployment.create": 4, "deployment.rollback": 1, "deployment.deactivate": 1, "deployment.rotate_secret": 1} {
		require.Equal(t, n, f.count("audit_logs", "action = $1", action), action)
	}
}

func TestScheduledDeploymentFiresOncePerSlot(t *testing.T) {
	t.Parallel()
	f := setupEngine(t)
	s := f.register("sched")
	tok := s.AccessToken
	a := f.create(tok, "/api/v1/agents", jsAgent("tick", `function main(input) { return { at: input.scheduledTime }; }`))
	wf := f.create(tok, "/api/v1/workflows", map[string]any{"name": "ticker", "schedule": "rate(1 minute)", "steps": []map[string]any{{"key": "a", "agentId": a, "inputs": map[string]any{"at": "{{inputs.scheduledTime}}"}}}})
	d := f.deploy(tok, wf, map[string]any{"environment": "prod", "timezone": "Europe/Paris"})
	require.Len(t, d.NextFires, 3, "the next three fire times are shown")
	require.Equal(t, time.Minute, d.NextFires[1].Sub(d.NextFires[0]))

	ctx := context.Background()
	sched := f.local.Scheduler
	t0 := time.Now().Truncate(time.Minute).Add(10 * time.Second)
	require.Equal(t, 0, sched.Tick(ctx, t0), "the first tick sets the starting point")
	require.Equal(t, 3, sched.Tick(ctx, t0.Add(3*time.Minute)), "three minutes: three fires")
	require.Equal(t, 0, sched.Tick(ctx, t0.Add(3*time.Minute+30*time.Second)), "nothing is due twice")
	require.Equal(t, 3, f.count("executions", "trigger = 'schedule' AND deployment_id = $1", d.ID))
	// A fire delivered twice starts one run.
	slot := t0.Add(time.Minute).Truncate(time.Minute)
	e1, err := f.app.Deployments.Fire(ctx, d.ID, slot)
	require.NoError(t, err)
	e2, err := f.app.Deployments.Fire(ctx, d.ID, slot)
	require.NoError(t, err)
	require.Equal(t, e1.ID, e2.ID)
	require.Equal(t, 3, f.count("executions", "trigger = 'schedule' AND deployment_id = $1", d.ID))
	// Inactive deployments do not fire.
	require.Equal(t, http.StatusOK, f.call("DELETE", "/api/v1/deployments/"+d.ID, tok, nil).Status)
	require.Equal(t, 0, sched.Tick(ctx, t0.Add(10*time.Minute)))
}

// TestOutboundWebhooks: lifecycle events reach subscribed endpoints signed,
// a failing endpoint is retried and the attempts are recorded.
func TestOutboundWebhooks(t *testing.T) {
	t.Parallel()
	type received struct {
		typ, sig string
		body     []byte
	}
	got := make(chan received, 20)
	var failures atomic.Int32
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/flaky" && failures.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		got <- received{typ: r.Header.Get("X-Turbocat-Event"), sig: r.Header.Get("X-Turbocat-Signature"), body: body}
	}))
	t.Cleanup(sink.Close)
	f := setupEngine(t, func(c *config.Config) { c.HTTPAllowCIDRs = []string{"127.0.0.0/8", "::1/128"} })
	f.app.Webhooks.Backoff = 10 * time.Millisecond
	s := f.register("events")
	tok := s.AccessToken

	bad := f.call("POST", "/api/v1/webhooks", tok, map[string]any{"url": "ftp://x", "events": []string{"nope"}})
	require.Equal(t, http.StatusBadRequest, bad.Status)
	require.Len(t, bad.fields(), 2)
	r := f.call("POST", "/api/v1/webhooks", tok, map[string]any{"url": sink.URL + "/ok", "events": []string{"execution.started", "execution.succeeded"}})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	var hook struct{ ID, Secret string }
	r.data(t, &hook)
	remember(hook.Secret, r.Body)
	flaky := f.call("POST", "/api/v1/webhooks", tok, map[string]any{"url": sink.URL + "/flaky", "events": []string{"execution.succeeded"}, "secret": "a-secret-of-my-own-choosing"})
	var flakyHook struct{ ID string }
	flaky.data(t, &flakyHook)

	a := f.create(tok, "/api/v1/agents", jsAgent("ok", `function main() { return { ok: true }; }`))
	wf := f.create(tok, "/api/v1/workflows", map[string]any{"name": "evented", "steps": []map[string]any{{"key": "a", "agentId": a}}})
	run := f.call("POST", "/api/v1/workflows/"+wf+"/execute?wait=20", tok, nil)
	var ans runAnswer
	run.data(t, &ans)
	require.Equal(t, "completed", ans.Status)

	types := map[string]int{}
	for range 3 { // started + succeeded to /ok, succeeded to /flaky after two failures
		select {
		case rec := <-got:
			types[rec.typ]++
			var ev struct {
				ID, Type string
				Data     struct {
					ExecutionID string
					Output      json.RawMessage
				}
			}
			require.NoError(t, json.Unmarshal(rec.body, &ev))
			require.Equal(t, rec.typ, ev.Type)
			require.Equal(t, ans.ExecutionID, ev.Data.ExecutionID)
			if ev.Type == "execution.succeeded" {
				require.JSONEq(t, `{"a":{"ok":true}}`, string(ev.Data.Output), "the event carries the run's output")
			}
			// The signature verifies with the subscription's secret.
			ts, _, _ := strings.Cut(strings.TrimPrefix(rec.sig, "t="), ",")
			sec, err := strconv.ParseInt(ts, 10, 64)
			require.NoError(t, err)
			ok := service.Sign(hook.Secret, time.Unix(sec, 0), rec.body) == rec.sig || service.Sign("a-secret-of-my-own-choosing", time.Unix(sec, 0), rec.body) == rec.sig
			require.True(t, ok, "signature does not verify")
		case <-time.After(10 * time.Second):
			t.Fatalf("deliveries missing; got %v", types)
		}
	}
	require.Equal(t, map[string]int{"execution.started": 1, "execution.succeeded": 2}, types)
	var deliveries struct {
		Items []struct {
			Status   string
			Attempts int
			LastErr  *string `json:"lastError"`
		}
	}
	require.Eventually(t, func() bool {
		f.call("GET", "/api/v1/webhooks/"+flakyHook.ID+"/deliveries", tok, nil).data(t, &deliveries)
		return len(deliveries.Items) == 1 && deliveries.Items[0].Status != "pending"
	}, 10*time.Second, 20*time.Millisecond, "the delivery is recorded")
	require.Equal(t, "succeeded", deliveries.Items[0].Status)
	require.Equal(t, 3, deliveries.Items[0].Attempts, "two failures, then success")
	require.Equal(t, http.StatusOK, f.call("DELETE", "/api/v1/webhooks/"+hook.ID, tok, nil).Status)
	require.Equal(t, 1, f.count("audit_logs", "action = 'webhook.delete'"))
}

// recordedSchedules stands in for EventBridge Scheduler at the service
// seam (the SDK adapter is tested against the wire protocol in awsevents).
type recordedSchedules struct {
	mu    sync.Mutex
	calls []string
}

func (r *recordedSchedules) Put(_ context.Context, wf, env, expr, tz, dep string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, "put "+env+" "+expr+" "+tz+" "+dep)
	return nil
}

func (r *recordedSchedules) Delete(_ context.Context, wf, env string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, "delete "+env)
	return nil
}

func TestDeploymentsKeepExternalSchedulesInStep(t *testing.T) {
	t.Parallel()
	f := setupEngine(t)
	rec := &recordedSchedules{}
	f.app.Deployments.Schedules = rec
	s := f.register("extsched")
	tok := s.AccessToken
	a := f.create(tok, "/api/v1/agents", jsAgent("x", `function main() { return {}; }`))
	wf := f.create(tok, "/api/v1/workflows", map[string]any{"name": "s", "schedule": "rate(5 minutes)", "steps": []map[string]any{{"key": "a", "agentId": a}}})
	d1 := f.deploy(tok, wf, map[string]any{"environment": "prod"})
	d2 := f.deploy(tok, wf, map[string]any{"environment": "prod", "schedule": ""})
	require.Equal(t, http.StatusOK, f.call("DELETE", "/api/v1/deployments/"+d2.ID, tok, nil).Status)
	require.Equal(t, []string{"put prod rate(5 minutes) UTC " + d1.ID, "delete prod", "delete prod"}, rec.calls)
}

func TestCanaryDeployment(t *testing.T) {
	t.Parallel()
	f := setupEngine(t)
	s := f.register("canary-dep")
	tok := s.AccessToken
	v1 := f.create(tok, "/api/v1/agents", jsAgent("c1", `function main() { return { v: 1 }; }`))
	v2 := f.create(tok, "/api/v1/agents", jsAgent("c2", `function main() { return { v: 2 }; }`))
	wf := f.create(tok, "/api/v1/workflows", map[string]any{"name": "canaried", "steps": []map[string]any{{"key": "a", "agentId": v1}}})
	early := f.call("POST", "/api/v1/workflows/"+wf+"/deployments", tok, map[string]any{"environment": "prod", "canary": map[string]any{"weight": 50}})
	require.Equal(t, http.StatusBadRequest, early.Status, "a canary needs something to split with")
	first := f.deploy(tok, wf, map[string]any{"environment": "prod"})
	require.Equal(t, http.StatusOK, f.call("PATCH", "/api/v1/workflows/"+wf, tok, map[string]any{"steps": []map[string]any{{"key": "a", "agentId": v2}}}).Status)
	c := f.deploy(tok, wf, map[string]any{"environment": "prod", "canary": map[string]any{"weight": 50}})
	c.SigningSecret = first.SigningSecret // the environment keeps its secret
	require.Equal(t, 2, c.Version)
	var got deployment
	var raw struct{ CanaryWeight int }
	r := f.call("GET", "/api/v1/deployments/"+c.ID, tok, nil)
	r.data(t, &got)
	r.data(t, &raw)
	require.Equal(t, 50, raw.CanaryWeight)

	var ids []string
	for i := range 40 {
		h := f.hook(c, c.SigningSecret, time.Now(), fmt.Sprintf(`{"i": %d}`, i))
		require.Equal(t, http.StatusAccepted, h.Status, "%s", h.Body)
		var a runAnswer
		h.data(t, &a)
		ids = append(ids, a.ExecutionID)
	}
	versions := map[int]int{}
	for _, id := range ids {
		status, version := f.waitRun(id)
		require.Equal(t, "completed", status)
		var out string
		require.NoError(t, f.pool.QueryRow(context.Background(), `SELECT output_data::text FROM executions WHERE id = $1`, id).Scan(&out))
		require.JSONEq(t, fmt.Sprintf(`{"a":{"v":%d}}`, version), out, "each run records the version it really ran")
		versions[version]++
	}
	require.Positive(t, versions[1], "some runs stay on the previous version")
	require.Positive(t, versions[2], "some runs take the canary")

	// Rolling back ends the canary.
	rb := f.call("POST", "/api/v1/deployments/"+c.ID+"/rollback", tok, nil)
	require.Equal(t, http.StatusOK, rb.Status, "%s", rb.Body)
	var after struct {
		Version      int
		CanaryWeight *int
	}
	rb.data(t, &after)
	require.Equal(t, 1, after.Version)
	require.Nil(t, after.CanaryWeight)
}

// TestWebhookRunTheEngineRefuses: a webhook run is recorded started before
// the engine start; when the engine refuses it (here its state machine is
// gone), the run is failed with Turbocat.StartFailed and its subscribers
// get execution.failed after the execution.started they were sent.
func TestWebhookRunTheEngineRefuses(t *testing.T) {
	t.Parallel()
	f := setupEngine(t, allowLoopback)
	tok := f.register("refused").AccessToken
	sent := f.eventSink(tok)
	a := f.create(tok, "/api/v1/agents", jsAgent("a", `function main(input) { return {}; }`))
	wf := f.create(tok, "/api/v1/workflows", map[string]any{"name": "refused", "steps": []map[string]any{{"key": "a", "agentId": a}}})
	d := f.deploy(tok, wf, map[string]any{"environment": "prod"})
	var alias string
	require.NoError(t, f.pool.QueryRow(context.Background(), `SELECT alias_ref FROM deployments WHERE id = $1`, d.ID).Scan(&alias))
	machine := alias[:strings.LastIndex(alias, ":")]
	require.NoError(t, f.local.Runtime.DeleteStateMachine(context.Background(), machine))

	r := f.hook(d, d.SigningSecret, time.Now(), `{}`)
	require.GreaterOrEqual(t, r.Status, 400, "%s", r.Body)
	var id, status, errDoc string
	require.NoError(t, f.pool.QueryRow(context.Background(), `SELECT id, status, error::text FROM executions WHERE workflow_id = $1`, wf).Scan(&id, &status, &errDoc))
	require.Equal(t, "failed", status)
	require.Contains(t, errDoc, "Turbocat.StartFailed")
	require.Eventually(t, func() bool {
		var types []string
		for _, e := range sent() {
			if e.Data.ExecutionID == id {
				types = append(types, e.Type)
			}
		}
		return slices.Contains(types, turbocat.EventExecutionStarted) && slices.Contains(types, turbocat.EventExecutionFailed) && len(types) == 2
	}, 10*time.Second, 20*time.Millisecond, "started, then failed")
}
