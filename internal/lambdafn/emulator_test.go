package lambdafn_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/app"
	"github.com/turbocat/turbocat/internal/app/localengine"
	"github.com/turbocat/turbocat/internal/awsperm"
	"github.com/turbocat/turbocat/internal/config"
	"github.com/turbocat/turbocat/internal/postgres"
	"github.com/turbocat/turbocat/internal/postgres/pgtest"
	"github.com/turbocat/turbocat/internal/secrets"
	"github.com/turbocat/turbocat/internal/service"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// rieVersion is the emulator the Makefile installs (RIE_VERSION).
const rieVersion = "v0.0.0-20261030222936-bef5c4ba774d"

// emulator returns the path of bin/aws-lambda-rie, installing it from the Go
// module proxy when missing; the test skips, saying so, when it cannot.
func emulator(t *testing.T) string {
	t.Helper()
	bin, err := filepath.Abs("../../bin")
	require.NoError(t, err)
	rie := filepath.Join(bin, "aws-lambda-rie")
	if _, err := os.Stat(rie); err == nil {
		return rie
	}
	cmd := exec.Command("go", "install", "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@"+rieVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+bin, "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("the AWS Lambda Runtime Interface Emulator is not in bin/ and could not be installed (%v: %s); `make rie` installs it where the Go module proxy is reachable", err, firstLines(out))
	}
	return rie
}

func firstLines(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// buildFunctions builds every functions/<name> for this host as make
// functions does, and cmd/codeworker beside those that run code agents.
func buildFunctions(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	run := func(args ...string) {
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "go %v: %s", args, out)
	}
	run("build", "-tags", "lambda.norpc,turbocat_nojs", "-gcflags=github.com/openai/openai-go/v3/...=-l",
		"-gcflags=github.com/anthropics/anthropic-sdk-go/v2/...=-l", "-gcflags=github.com/aws/...=-l", "-trimpath", "-o", dir+"/", "./functions/...")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		fn := e.Name()
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "fn", fn), 0o755))
		require.NoError(t, os.Rename(filepath.Join(dir, fn), filepath.Join(dir, "fn", fn, "bootstrap")))
	}
	run("build", "-trimpath", "-o", filepath.Join(dir, "fn", "steprunner", "codeworker"), "./cmd/codeworker")
	return filepath.Join(dir, "fn")
}

// fakeAWS answers the AWS JSON protocols the functions speak, records every
// call as its IAM action, and starts executions.
type fakeAWS struct {
	mu    sync.Mutex
	calls []string
	// stepRunner is the emulator URL Lambda Invoke calls are sent to.
	stepRunner string
}

func (f *fakeAWS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/2015-03-31/functions/") { // Lambda Invoke: the steprunner
		f.mu.Lock()
		f.calls = append(f.calls, "lambda:InvokeFunction")
		f.mu.Unlock()
		res, err := http.Post(f.stepRunner, "application/json", r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		if bytes.Contains(body, []byte(`"errorType"`)) {
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
		}
		_, _ = w.Write(body)
		return
	}
	_, _ = io.Copy(io.Discard, r.Body)
	target := r.Header.Get("X-Amz-Target")
	action := target
	for prefix, service := range map[string]string{"AWSStepFunctions.": "states:", "AWSEvents.": "events:", "secretsmanager.": "secretsmanager:", "TrentService.": "kms:"} {
		if op, ok := strings.CutPrefix(target, prefix); ok {
			action = service + op
		}
	}
	if target == "" { // EventBridge Scheduler speaks REST
		action = map[string]string{"POST": "scheduler:CreateSchedule", "PUT": "scheduler:UpdateSchedule", "DELETE": "scheduler:DeleteSchedule"}[r.Method]
	}
	f.mu.Lock()
	f.calls = append(f.calls, action)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	switch action {
	case "states:StartExecution":
		fmt.Fprintf(w, `{"executionArn":"arn:aws:states:eu-west-1:123456789012:execution:turbocat-rie_x:%d","startDate":%d}`, time.Now().UnixNano(), time.Now().Unix())
	case "states:DescribeExecution":
		fmt.Fprintf(w, `{"executionArn":"arn:aws:states:eu-west-1:123456789012:execution:turbocat-rie_x:x","stateMachineArn":"arn:aws:states:eu-west-1:123456789012:stateMachine:turbocat-rie_x","name":"x","status":"RUNNING","startDate":%d}`, time.Now().Unix())
	case "events:PutEvents":
		fmt.Fprint(w, `{"FailedEntryCount":0,"Entries":[{"EventId":"e-1"}]}`)
	default:
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"__type":"UnknownOperationException","message":"the test's fake AWS does not answer %s"}`, action)
	}
}

func (f *fakeAWS) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.calls
	f.calls = nil
	return out
}

// runningFunction is one function's bootstrap under the emulator.
type runningFunction struct {
	name string
	url  string
	log  *bytes.Buffer
}

// startFunction starts bootstrap under the emulator on port (its Runtime
// API on port+1), with env, and waits until it listens.
func startFunction(t *testing.T, rie, dir, name string, port int, env []string) *runningFunction {
	t.Helper()
	log := &bytes.Buffer{}
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", fmt.Sprintf("127.0.0.1:%d", port),
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", port+1), filepath.Join(dir, name, "bootstrap"))
	cmd.Env = append(env, "AWS_LAMBDA_FUNCTION_NAME=turbocat-rie-"+name, "AWS_LAMBDA_FUNCTION_TIMEOUT=60")
	cmd.Stdout, cmd.Stderr = log, log
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	url := fmt.Sprintf("http://127.0.0.1:%d/2015-03-31/functions/function/invocations", port)
	for i := 0; ; i++ {
		if _, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port)); err == nil {
			break
		}
		require.Less(t, i, 250, "%s: the emulator did not listen: %s", name, log.String())
		time.Sleep(20 * time.Millisecond)
	}
	return &runningFunction{name: name, url: url, log: log}
}

// invoke sends an event as Lambda would and returns the decoded answer.
func (f *runningFunction) invoke(t *testing.T, event []byte) map[string]any {
	t.Helper()
	res, err := http.Post(f.url, "application/json", bytes.NewReader(event))
	require.NoError(t, err)
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	require.Equal(t, 200, res.StatusCode, "%s: %s\n%s", f.name, body, f.log.String())
	var out map[string]any
	if string(body) == "null" {
		return nil
	}
	require.NoError(t, json.Unmarshal(body, &out), "%s answered %s\n%s", f.name, body, f.log.String())
	return out
}

// TestFunctionsUnderTheRuntimeEmulator builds every function as for Lambda
// (host architecture), starts its bootstrap under the AWS Lambda Runtime
// Interface Emulator and sends it its sample events from events/: API
// Gateway v2 requests, a Step Functions task, EventBridge events, an
// EventBridge Scheduler payload, a CloudFormation custom resource. Each
// answers as on AWS, and every AWS call it makes (to a fake endpoint) is
// one its row of internal/awsperm grants.
func TestFunctionsUnderTheRuntimeEmulator(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every function: not in -short")
	}
	rie := emulator(t)
	dir := buildFunctions(t)

	pool, schema := pgtest.NewSchema(t)
	ctx := context.Background()
	_, err := postgres.Migrate(ctx, pool)
	require.NoError(t, err)
	dbURL := pgtest.URL() + "&search_path=" + schema
	// The test's own app on the same schema seeds runs and deployments.
	cfg, err := config.Load()
	require.NoError(t, err)
	cfg.JWTSecret = []byte("rie-test-secret-rie-test-secret-rie-0123")
	cfg.SecretsKey = []byte("0123456789abcdef0123456789abcdef")
	cfg.HTTPAllowCIDRs = []string{"127.0.0.0/8"}
	a, err := app.NewWithPool(cfg, slog.New(slog.DiscardHandler), pool)
	require.NoError(t, err)
	a.Secrets.Cipher, err = secrets.NewAESGCM(cfg.SecretsKey)
	require.NoError(t, err)
	local, err := localengine.Start(ctx, a, nil)
	require.NoError(t, err)
	t.Cleanup(local.Close)

	aws := &fakeAWS{}
	awsSrv := httptest.NewServer(aws)
	t.Cleanup(awsSrv.Close)
	env := append(os.Environ(),
		"DATABASE_URL="+dbURL, "AWS_REGION=eu-west-1", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_ENDPOINT_URL="+awsSrv.URL, "AWS_XRAY_DAEMON_ADDRESS=127.0.0.1:2000",
		"TURBOCAT_JWT_SECRET="+string(cfg.JWTSecret), "TURBOCAT_SECRETS_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
		"TURBOCAT_HTTP_ALLOW_CIDRS=127.0.0.0/8", "TURBOCAT_STAGE=rie", "TURBOCAT_STATE_MACHINE_PREFIX=turbocat-rie_",
		"TURBOCAT_STEPRUNNER_ARN=arn:aws:lambda:eu-west-1:123456789012:function:turbocat-rie-steprunner:1",
		"TURBOCAT_SFN_ROLE_ARN=arn:aws:iam::123456789012:role/turbocat-rie-sfn", "TURBOCAT_EVENT_BUS_NAME=turbocat-rie",
		"TURBOCAT_SCHEDULER_GROUP=turbocat-rie", "TURBOCAT_SCHEDULER_ROLE_ARN=arn:aws:iam::123456789012:role/turbocat-rie-scheduler",
		"TURBOCAT_TRIGGER_ARN=arn:aws:lambda:eu-west-1:123456789012:function:turbocat-rie-trigger")

	names, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, names, len(awsperm.Functions()), "every function of the permissions table is built")
	fns := map[string]*runningFunction{}
	for i, n := range names {
		fns[n.Name()] = startFunction(t, rie, dir, n.Name(), 18420+2*i, env)
	}
	aws.stepRunner = fns["steprunner"].url
	checkCalls := func(fn string) {
		t.Helper()
		allowed, err := awsperm.Actions(fn)
		require.NoError(t, err)
		for _, c := range aws.take() {
			require.Contains(t, allowed, c, "%s called %s, which its role (internal/awsperm) does not grant", fn, c)
		}
	}

	// API functions: the API Gateway v2 events, in the order that yields a
	// token and an agent id.
	files, err := filepath.Glob("../../events/apigw/*/*.json")
	require.NoError(t, err)
	sort.SliceStable(files, func(i, j int) bool { return apiRank(files[i]) < apiRank(files[j]) })
	vars := map[string]string{"{{RAND}}": fmt.Sprint(time.Now().UnixNano())}
	for _, file := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.ToSlash(file), "../../events/apigw/"), ".json")
		fn := strings.Split(name, "/")[0]
		res := fns[fn].invoke(t, readEvent(t, file, vars))
		want := expected[name]
		require.EqualValues(t, want.status, res["statusCode"], "%s: %v", name, res["body"])
		var body struct {
			Data  struct{ ID, AccessToken string }
			Error struct{ Code string }
		}
		require.NoError(t, json.Unmarshal([]byte(res["body"].(string)), &body), name)
		require.Equal(t, want.code, body.Error.Code, name)
		switch name {
		case "auth/register":
			vars["{{TOKEN}}"] = body.Data.AccessToken
		case "agents/create":
			vars["{{AGENT_ID}}"] = body.Data.ID
		case "agents/test":
			require.Contains(t, res["body"], `"output":{"city":"Lyon"}`, "the steprunner ran the agent for the agents function")
		}
		checkCalls(fn)
	}

	// migrate: the CloudFormation custom resource, and the republish one.
	for _, ev := range []string{"create", "delete", "republish"} {
		out := fns["migrate"].invoke(t, readEvent(t, "../../events/migrate/"+ev+".json", nil))
		require.Contains(t, []any{"turbocat-migrations", "turbocat-republish"}, out["PhysicalResourceId"], ev)
	}
	checkCalls("migrate")

	// steprunner: a Step Functions task runs a code agent in the code worker
	// beside the bootstrap; a failing step answers with its error name as
	// the Lambda error type, which Retry and Catch match.
	userID, execID := seedRun(t, a, `function main(i) { console.log("hi " + i.name); return {text: "hello " + i.name}; }`)
	out := fns["steprunner"].invoke(t, readEvent(t, "../../events/steprunner/step.json", map[string]string{"{{EXECUTION_ID}}": execID}))
	require.Equal(t, map[string]any{"ok": true}, out)
	steps, err := a.DB.ExecutionSteps(ctx, userID, execID)
	require.NoError(t, err)
	require.JSONEq(t, `{"text":"hello ada"}`, string(steps[0].Output))
	t.Run("failing step", func(t *testing.T) {
		_, failID := seedRun(t, a, `function main(i) { throw new Error("boom"); }`)
		out := fns["steprunner"].invoke(t, readEvent(t, "../../events/steprunner/step.json", map[string]string{"{{EXECUTION_ID}}": failID}))
		require.Equal(t, "Code.Error", out["errorType"], "%v", out)
		require.Contains(t, out["errorMessage"], "boom")
	})
	checkCalls("steprunner")

	// reconciler: Step Functions' status-change event from EventBridge.
	require.Nil(t, fns["reconciler"].invoke(t, readEvent(t, "../../events/reconciler/timed-out.json", map[string]string{"{{EXECUTION_ID}}": execID})))
	e, err := a.DB.Execution(ctx, userID, execID)
	require.NoError(t, err)
	require.Equal(t, "timed_out", e.Status)
	// ... and the scheduled sweep, which also dispatches the event outbox
	// to the bus.
	require.Nil(t, fns["reconciler"].invoke(t, readEvent(t, "../../events/reconciler/sweep.json", nil)))
	checkCalls("reconciler")

	// trigger: a signed webhook and an EventBridge Scheduler fire start runs
	// of a deployment on Step Functions.
	actx := turbocat.WithActor(ctx, &turbocat.Actor{UserID: userID})
	wfs, err := a.DB.ListWorkflows(actx, userID, "", turbocat.Page{Limit: 1})
	require.NoError(t, err)
	sched := "rate(1 hour)"
	d, err := a.Deployments.Deploy(actx, &turbocat.Actor{UserID: userID}, wfs.Items[0].ID, service.DeployInput{Environment: "prod", Schedule: &sched})
	require.NoError(t, err)
	hookVars := map[string]string{"{{DEPLOYMENT_ID}}": d.ID, "{{SIGNATURE}}": service.Sign(d.SigningSecret, time.Now(), []byte(`{"n": 5}`))}
	out = fns["trigger"].invoke(t, readEvent(t, "../../events/trigger/webhook.json", hookVars))
	require.EqualValues(t, 202, out["statusCode"], "%v", out)
	out = fns["trigger"].invoke(t, readEvent(t, "../../events/trigger/schedule.json", hookVars))
	require.NotEmpty(t, out["executionId"], "%v", out)
	checkCalls("trigger")

	// deliverer: a Turbocat event from the bus reaches the subscribed webhook.
	got := make(chan string, 2)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got <- r.Header.Get("X-Turbocat-Event") }))
	t.Cleanup(sink.Close)
	_, err = a.Webhooks.Subscribe(actx, &turbocat.Actor{UserID: userID}, service.WebhookInput{URL: sink.URL + "/events", Events: []string{turbocat.EventExecutionFailed}})
	require.NoError(t, err)
	require.Nil(t, fns["deliverer"].invoke(t, readEvent(t, "../../events/deliverer/execution-failed.json", map[string]string{"{{USER_ID}}": userID, "{{EXECUTION_ID}}": execID})))
	require.Equal(t, "execution.failed", <-got)
	checkCalls("deliverer")

	for name, f := range fns {
		require.Contains(t, f.log.String(), "INIT REPORT", "%s started under the emulator", name)
	}
}

func apiRank(f string) int {
	switch {
	case strings.HasSuffix(f, "auth/register.json"):
		return 0
	case strings.HasSuffix(f, "agents/create.json"):
		return 1
	}
	return 2
}
