package lambdafn_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/app"
	"github.com/turbocat/turbocat/internal/app/executors"
	"github.com/turbocat/turbocat/internal/app/localengine"
	"github.com/turbocat/turbocat/internal/config"
	"github.com/turbocat/turbocat/internal/executor/codeexec"
	"github.com/turbocat/turbocat/internal/lambdafn"
	"github.com/turbocat/turbocat/internal/lambdafn/delivery"
	"github.com/turbocat/turbocat/internal/postgres/pgtest"
	"github.com/turbocat/turbocat/internal/secrets"
	"github.com/turbocat/turbocat/internal/service"
	"github.com/turbocat/turbocat/internal/turbocat"
)

func TestMain(m *testing.M) {
	codeexec.MaybeRunWorker()
	os.Exit(m.Run())
}

// newApp wires an app on a fresh, migrated schema.
func newApp(t *testing.T) *app.App {
	t.Helper()
	cfg, err := config.Load()
	require.NoError(t, err)
	cfg.JWTSecret = []byte("0123456789abcdef0123456789abcdef")
	a, err := app.NewWithPool(cfg, slog.New(slog.DiscardHandler), pgtest.Pool(t))
	require.NoError(t, err)
	require.NoError(t, a.Migrate(context.Background()))
	return a
}

func readEvent(t *testing.T, path string, vars map[string]string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	s := string(b)
	for k, v := range vars {
		s = strings.ReplaceAll(s, k, v)
	}
	return []byte(s)
}

// seedRun creates a user, two code agents, a two-step workflow and a
// running execution of it, as the API would.
func seedRun(t *testing.T, a *app.App, greetSource string) (userID, executionID string) {
	t.Helper()
	ctx := context.Background()
	u := &turbocat.User{Email: strings.ToLower("fn-" + strings.ReplaceAll(t.Name(), "/", "-") + "@example.com"), PasswordHash: "x", Role: "user"}
	require.NoError(t, a.DB.CreateUser(ctx, u))
	ctx = turbocat.WithActor(ctx, &turbocat.Actor{UserID: u.ID})
	greet := &turbocat.Agent{UserID: u.ID, Name: "greet", Type: "code", Config: json.RawMessage(`{"source":` + mustJSON(greetSource) + `}`)}
	require.NoError(t, a.DB.CreateAgent(ctx, greet, 10))
	shout := &turbocat.Agent{UserID: u.ID, Name: "shout", Type: "code", Config: json.RawMessage(`{"source":"function main(i){ return {text: i.text.toUpperCase()}; }"}`)}
	require.NoError(t, a.DB.CreateAgent(ctx, shout, 10))
	w := &turbocat.Workflow{UserID: u.ID, Name: "fn", Steps: []turbocat.WorkflowStep{
		{Key: "greet", AgentID: greet.ID, DependsOn: []string{}, Inputs: json.RawMessage(`{"name":"{{inputs.name}}"}`)},
		{Key: "shout", AgentID: shout.ID, DependsOn: []string{"greet"}, Inputs: json.RawMessage(`{"text":"{{steps.greet.output.text}}"}`)},
	}}
	require.NoError(t, a.DB.CreateWorkflow(ctx, w, 10))
	e, _, err := a.DB.CreateExecution(ctx, turbocat.NewExecution{WorkflowID: w.ID, WorkflowVersion: 1, UserID: u.ID, Trigger: "api", Input: json.RawMessage(`{"name":"ada"}`)})
	require.NoError(t, err)
	_, err = a.DB.MarkStarted(ctx, e.ID, "arn:aws:states:eu-west-1:123456789012:execution:turbocat-wf:"+e.ID)
	require.NoError(t, err)
	return u.ID, e.ID
}

func mustJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestStepRunnerFunction(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ctx := context.Background()
	userID, execID := seedRun(t, a, `function main(i) { console.log("hi " + i.name); return {text: "hello " + i.name}; }`)
	reg, closeExe, err := executors.New(a.Config, nil)
	require.NoError(t, err)
	t.Cleanup(closeExe)
	h := lambdafn.StepRunnerLambda(a, a.NewRunner(reg))
	vars := map[string]string{"{{EXECUTION_ID}}": execID}

	out, err := h(ctx, readEvent(t, "../../events/steprunner/step.json", vars))
	require.NoError(t, err)
	require.JSONEq(t, `{"ok":true}`, string(out), "only control data goes back to Step Functions")
	// A duplicate delivery does not run the agent again.
	_, err = h(ctx, readEvent(t, "../../events/steprunner/step.json", vars))
	require.NoError(t, err)
	steps, err := a.DB.ExecutionSteps(ctx, userID, execID)
	require.NoError(t, err)
	require.Len(t, steps, 1)
	require.Equal(t, 1, steps[0].Attempt)
	require.JSONEq(t, `{"text":"hello ada"}`, string(steps[0].Output))

	_, err = h(ctx, readEvent(t, "../../events/steprunner/step-finalize.json", vars))
	require.NoError(t, err)
	e, err := a.DB.Execution(ctx, userID, execID)
	require.NoError(t, err)
	require.Equal(t, "completed", e.Status)
	require.JSONEq(t, `{"shout":{"text":"HELLO ADA"}}`, string(e.OutputData), "default output: the sink steps' outputs")
	logs, err := a.DB.ExecutionLogs(ctx, userID, execID, turbocat.LogRange{Limit: 10})
	require.NoError(t, err)
	require.Equal(t, "hi ada", logs[0].Message)
}

func TestStepRunnerFunctionReportsErrorType(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ctx := context.Background()
	userID, execID := seedRun(t, a, `function main(i) { throw new Error("boom"); }`)
	reg, closeExe, err := executors.New(a.Config, nil)
	require.NoError(t, err)
	t.Cleanup(closeExe)
	h := lambdafn.StepRunnerLambda(a, a.NewRunner(reg))
	vars := map[string]string{"{{EXECUTION_ID}}": execID}
	_, err = h(ctx, readEvent(t, "../../events/steprunner/step.json", vars))
	var le messages.InvokeResponse_Error
	require.True(t, errors.As(err, &le), "a step error is a Lambda error with a type: %v", err)
	require.Equal(t, "Code.Error", le.Type, "the type is what ASL Retry/Catch match")
	require.Contains(t, le.Message, "boom")

	_, err = h(ctx, readEvent(t, "../../events/steprunner/fail.json", vars))
	require.NoError(t, err)
	e, err := a.DB.Execution(ctx, userID, execID)
	require.NoError(t, err)
	require.Equal(t, "failed", e.Status)
	require.JSONEq(t, `{"stepKey":"greet","error":"Code.Error","cause":"Error: boom"}`, string(e.Error))
}

func TestMigrateFunction(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	h := lambdafn.MigrateLambda(a)
	for _, name := range []string{"create", "delete"} {
		var ev cfn.Event
		require.NoError(t, json.Unmarshal(readEvent(t, "../../events/migrate/"+name+".json", nil), &ev))
		out, err := h(context.Background(), ev)
		require.NoError(t, err, name)
		require.Equal(t, "turbocat-migrations", out["PhysicalResourceId"])
	}
	var n int
	require.NoError(t, a.Pool.QueryRow(context.Background(), `SELECT count(*) FROM templates WHERE user_id IS NULL`).Scan(&n))
	require.Positive(t, n, "migrate also seeds the built-in templates")
}

// TestRepublishAfterDeploy: the custom resource that runs after the
// functions are deployed makes published workflow versions publish again
// (with the new steprunner version) on their next run.
func TestRepublishAfterDeploy(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ctx := context.Background()
	userID, execID := seedRun(t, a, `function main(){ return 1; }`)
	e, err := a.DB.Execution(ctx, userID, execID)
	require.NoError(t, err)
	ref := "arn:aws:states:eu-west-1:123456789012:stateMachine:turbocat-dev-x:1"
	_, err = a.DB.SetVersionEngineRef(ctx, e.WorkflowID, e.WorkflowVersion, ref)
	require.NoError(t, err)
	var ev cfn.Event
	require.NoError(t, json.Unmarshal(readEvent(t, "../../events/migrate/republish.json", nil), &ev))
	out, err := lambdafn.MigrateLambda(a)(ctx, ev)
	require.NoError(t, err)
	require.Equal(t, "turbocat-republish", out["PhysicalResourceId"])
	got, err := a.DB.VersionEngineRef(ctx, e.WorkflowID, e.WorkflowVersion)
	require.NoError(t, err)
	require.Empty(t, got, "the version is published again on its next run")
}

func TestReconcilerFunction(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	userID, execID := seedRun(t, a, `function main(){ return 1; }`)
	var ev events.CloudWatchEvent
	require.NoError(t, json.Unmarshal(readEvent(t, "../../events/reconciler/timed-out.json", map[string]string{"{{EXECUTION_ID}}": execID}), &ev))
	h := lambdafn.ReconcilerLambda(a)
	require.NoError(t, h(context.Background(), ev))
	e, err := a.DB.Execution(context.Background(), userID, execID)
	require.NoError(t, err)
	require.Equal(t, "timed_out", e.Status)
	require.JSONEq(t, `{"error":"States.Timeout","cause":"The execution exceeded its TimeoutSeconds."}`, string(e.Error))
	// A second delivery changes nothing.
	require.NoError(t, h(context.Background(), ev))
	e2, err := a.DB.Execution(context.Background(), userID, execID)
	require.NoError(t, err)
	require.Equal(t, e.CompletedAt, e2.CompletedAt)
}

// TestReconcilerSweep: the scheduled sweep starts a run whose process died
// between recording it and starting it, whether recorded pending or
// already started (nothing is lost), and fails a run the engine lost after
// it ran a step with a cause that says how to run it again.
func TestReconcilerSweep(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ctx := context.Background()
	local, err := localengine.Start(ctx, a, nil)
	require.NoError(t, err)
	t.Cleanup(local.Close)
	userID, lost := seedRun(t, a, `function main(i){ return {text: "hi " + i.name}; }`)
	var wfID string
	require.NoError(t, a.Pool.QueryRow(ctx, `SELECT workflow_id FROM executions WHERE id = $1`, lost).Scan(&wfID))
	_, err = a.Pool.Exec(ctx, `INSERT INTO execution_steps (execution_id, step_key, status, attempt, output) VALUES ($1, 'greet', 'completed', 1, '{"text":"hi ada"}')`, lost)
	require.NoError(t, err)
	actx := turbocat.WithActor(ctx, &turbocat.Actor{UserID: userID})
	never, _, err := a.DB.CreateExecution(actx,
		turbocat.NewExecution{WorkflowID: wfID, WorkflowVersion: 1, UserID: userID, Trigger: "api", Input: json.RawMessage(`{"name":"bo"}`)})
	require.NoError(t, err)
	preID := turbocat.NewID()
	preRef := "arn:aws:states:us-east-1:123456789012:execution:turbocat-wf:" + preID
	pre, _, err := a.DB.CreateExecution(actx, turbocat.NewExecution{WorkflowID: wfID, WorkflowVersion: 1, UserID: userID, Trigger: "api",
		Input: json.RawMessage(`{"name":"cy"}`), ID: preID, EngineRef: &preRef})
	require.NoError(t, err)
	require.Equal(t, "running", pre.Status, "recorded already started")
	_, err = a.Pool.Exec(ctx, `UPDATE executions SET created_at = now() - interval '5 minutes'`)
	require.NoError(t, err)

	var ev events.CloudWatchEvent
	require.NoError(t, json.Unmarshal(readEvent(t, "../../events/reconciler/sweep.json", nil), &ev))
	require.NoError(t, lambdafn.ReconcilerLambda(a)(ctx, ev))

	e, err := a.DB.Execution(ctx, userID, lost)
	require.NoError(t, err)
	require.Equal(t, "failed", e.Status)
	require.Contains(t, string(e.Error), "Turbocat.EngineLost")
	require.Contains(t, string(e.Error), "/retry")
	completes := func(id, output, what string) {
		t.Helper()
		require.Eventually(t, func() bool {
			e, err := a.DB.Execution(ctx, userID, id)
			return err == nil && e.Status == "completed"
		}, 20*time.Second, 50*time.Millisecond, what)
		e, err := a.DB.Execution(ctx, userID, id)
		require.NoError(t, err)
		require.JSONEq(t, output, string(e.OutputData))
	}
	completes(never.ID, `{"shout":{"text":"HI BO"}}`, "the run that was never started is started and completes")
	completes(pre.ID, `{"shout":{"text":"HI CY"}}`, "the run recorded started but never started on the engine is started and completes")
}

// TestStepRunnerConcurrentDuplicates: Task invocations are at-least-once;
// ten concurrent invocations of one step run its agent once and all succeed.
func TestStepRunnerConcurrentDuplicates(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ctx := context.Background()
	userID, execID := seedRun(t, a, `function main(i) { console.log("ran"); const end = Date.now() + 300; while (Date.now() < end) {} return {text: "once"}; }`)
	reg, closeExe, err := executors.New(a.Config, nil)
	require.NoError(t, err)
	t.Cleanup(closeExe)
	h := lambdafn.StepRunnerLambda(a, a.NewRunner(reg))
	payload := readEvent(t, "../../events/steprunner/step.json", map[string]string{"{{EXECUTION_ID}}": execID})
	errs := make(chan error, 10)
	for range 10 {
		go func() {
			_, err := h(ctx, payload)
			errs <- err
		}()
	}
	for range 10 {
		require.NoError(t, <-errs)
	}
	logs, err := a.DB.ExecutionLogs(ctx, userID, execID, turbocat.LogRange{Limit: 100})
	require.NoError(t, err)
	require.Len(t, logs, 1, "the agent ran exactly once")
	steps, err := a.DB.ExecutionSteps(ctx, userID, execID)
	require.NoError(t, err)
	require.Equal(t, 1, steps[0].Attempt)
	require.Equal(t, "completed", steps[0].Status)
}

func TestTriggerFunction(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.Config.SecretsKey = []byte("0123456789abcdef0123456789abcdef")
	c, err := secrets.NewAESGCM(a.Config.SecretsKey)
	require.NoError(t, err)
	a.Secrets.Cipher = c
	local, err := localengine.Start(context.Background(), a, nil)
	require.NoError(t, err)
	t.Cleanup(local.Close)
	userID, _ := seedRun(t, a, `function main(i) { return {text: "t"}; }`)
	ctx := turbocat.WithActor(context.Background(), &turbocat.Actor{UserID: userID})
	wfs, err := a.DB.ListWorkflows(ctx, userID, "", turbocat.Page{Limit: 1})
	require.NoError(t, err)
	sched := "rate(1 hour)"
	d, err := a.Deployments.Deploy(ctx, &turbocat.Actor{UserID: userID}, wfs.Items[0].ID, service.DeployInput{Environment: "prod", Schedule: &sched})
	require.NoError(t, err)
	h := lambdafn.TriggerLambda(a)

	sig := service.Sign(d.SigningSecret, time.Now(), []byte(`{"n": 5}`))
	vars := map[string]string{"{{DEPLOYMENT_ID}}": d.ID, "{{SIGNATURE}}": sig}
	for range 2 { // the same Idempotency-Key twice: one run
		out, err := h(context.Background(), readEvent(t, "../../events/trigger/webhook.json", vars))
		require.NoError(t, err)
		res := out.(events.APIGatewayV2HTTPResponse)
		require.Equal(t, 202, res.StatusCode, res.Body)
	}
	for range 2 { // a fire delivered twice: one run
		out, err := h(context.Background(), readEvent(t, "../../events/trigger/schedule.json", vars))
		require.NoError(t, err)
		require.NotEmpty(t, out.(map[string]string)["executionId"])
	}
	list, err := a.DB.ListExecutions(context.Background(), userID, turbocat.ExecutionFilter{}, turbocat.Page{Limit: 10})
	require.NoError(t, err)
	triggers := map[string]int{}
	for _, e := range list.Items {
		triggers[e.Trigger]++
		if e.Trigger != "api" {
			require.Equal(t, d.ID, *e.DeploymentID)
		}
	}
	require.Equal(t, 1, triggers["webhook"])
	require.Equal(t, 1, triggers["schedule"])
	_, err = h(context.Background(), json.RawMessage(`{"something": "else"}`))
	require.ErrorContains(t, err, "deploymentId")
}

// TestDelivererFunction: a bus event reaches the user's subscribed webhook,
// signed; a redelivery of the same event does not send it again.
func TestDelivererFunction(t *testing.T) {
	t.Parallel()
	got := make(chan *http.Request, 4)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got <- r }))
	t.Cleanup(sink.Close)
	a := newApp(t)
	a.Config.HTTPAllowCIDRs = []string{"127.0.0.0/8"}
	c, err := secrets.NewAESGCM([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	a.Secrets.Cipher = c
	a.Webhooks.Client = &http.Client{} // the sink is on loopback
	userID, execID := seedRun(t, a, `function main(){ return 1; }`)
	actor := &turbocat.Actor{UserID: userID}
	hook, err := a.Webhooks.Subscribe(turbocat.WithActor(context.Background(), actor), actor,
		service.WebhookInput{URL: sink.URL + "/events", Events: []string{turbocat.EventExecutionFailed}})
	require.NoError(t, err)

	var ev events.CloudWatchEvent
	require.NoError(t, json.Unmarshal(readEvent(t, "../../events/deliverer/execution-failed.json",
		map[string]string{"{{USER_ID}}": userID, "{{EXECUTION_ID}}": execID}), &ev))
	h := delivery.DelivererLambda(a)
	require.NoError(t, h(context.Background(), ev))
	r := <-got
	require.Equal(t, "execution.failed", r.Header.Get("X-Turbocat-Event"))
	require.True(t, strings.HasPrefix(r.Header.Get("X-Turbocat-Signature"), "t="))
	require.NoError(t, h(context.Background(), ev), "a redelivered bus event")
	require.Empty(t, got, "was not sent twice")
	ds, err := a.DB.ListDeliveries(context.Background(), userID, hook.ID, 10)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, "succeeded", ds[0].Status)
}
