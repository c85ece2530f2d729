package lambdafn_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/app"
	"github.com/turbocat/turbocat/internal/app/executors"
	"github.com/turbocat/turbocat/internal/config"
	"github.com/turbocat/turbocat/internal/httpapi"
	"github.com/turbocat/turbocat/internal/lambdafn"
	"github.com/turbocat/turbocat/internal/lambdafn/agenttests"
	"github.com/turbocat/turbocat/internal/lambdafn/eventbus"
	"github.com/turbocat/turbocat/internal/lambdafn/schedules"
	"github.com/turbocat/turbocat/internal/lambdafn/secretskey"
	"github.com/turbocat/turbocat/internal/lambdafn/stepfunctions"
	"github.com/turbocat/turbocat/internal/postgres"
	"github.com/turbocat/turbocat/internal/postgres/pgtest"
)

// expected status (and error code) of every sample event in events/apigw.
var expected = map[string]struct {
	status int
	code   string
}{
	"auth/register": {201, ""}, "auth/me": {200, ""}, "auth/me-bad-token": {401, "UNAUTHORIZED"}, "auth/health": {200, ""},
	"agents/create": {201, ""}, "agents/list": {200, ""}, "agents/get-not-found": {404, "NOT_FOUND"},
	"agents/create-invalid": {400, "VALIDATION_ERROR"}, "agents/no-token": {401, "UNAUTHORIZED"}, "agents/test": {200, ""},
	"templates/list": {200, ""}, "templates/get-not-found": {404, "NOT_FOUND"},
	"workflows/create": {201, ""}, "workflows/list": {200, ""}, "workflows/get-not-found": {404, "NOT_FOUND"},
	"workflows/bad-token": {401, "UNAUTHORIZED"},
	"executions/list":     {200, ""}, "executions/get-not-found": {404, "NOT_FOUND"},
	"deployments/list": {200, ""}, "deployments/get-not-found": {404, "NOT_FOUND"},
	"apikeys/create": {201, ""}, "apikeys/list": {200, ""}, "apikeys/revoke-not-found": {404, "NOT_FOUND"},
}

// TestLambdaEvents feeds every sample API Gateway event through the real
// Lambda entry point of its function (config from the environment, app
// wiring, the API Gateway adapter) and checks status and envelope.
func TestLambdaEvents(t *testing.T) {
	pool, schema := pgtest.NewSchema(t)
	_, err := postgres.Migrate(context.Background(), pool)
	require.NoError(t, err)
	t.Setenv("DATABASE_URL", pgtest.URL()+"&search_path="+schema)
	t.Setenv("TURBOCAT_JWT_SECRET", "lambda-test-secret-lambda-test-secret-01")
	t.Setenv("AWS_LAMBDA_FUNCTION_NAME", "turbocat-test")
	// The API functions connect to Step Functions; these events start no run.
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("TURBOCAT_STEPRUNNER_ARN", "arn:aws:lambda:eu-west-1:123456789012:function:turbocat-test-steprunner")
	t.Setenv("TURBOCAT_SFN_ROLE_ARN", "arn:aws:iam::123456789012:role/turbocat-test-sfn")
	t.Setenv("TURBOCAT_STATE_MACHINE_PREFIX", "turbocat-test-")
	t.Setenv("TURBOCAT_EVENT_BUS_NAME", "turbocat-test")
	t.Setenv("TURBOCAT_SCHEDULER_GROUP", "turbocat-test")
	t.Setenv("TURBOCAT_SCHEDULER_ROLE_ARN", "arn:aws:iam::123456789012:role/turbocat-test-scheduler")
	t.Setenv("TURBOCAT_TRIGGER_ARN", "arn:aws:lambda:eu-west-1:123456789012:function:turbocat-test-trigger")
	t.Setenv("TURBOCAT_SECRETS_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	ctx := context.Background()
	// The agents function runs test runs in the steprunner: Lambda's
	// Invoke API, served here by the steprunner handler in process.
	t.Setenv("AWS_ENDPOINT_URL_LAMBDA", stepRunnerEndpoint(t, pool))
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")

	handlers := map[string]lambdafn.APIHandler{}
	for g, opts := range apiFunctions() {
		h, err := lambdafn.API(ctx, g, opts...)
		require.NoError(t, err, g)
		handlers[g] = h
	}
	files, err := filepath.Glob("../../events/apigw/*/*.json")
	require.NoError(t, err)
	require.Len(t, files, len(expected), "every sample event has an expectation and vice versa")
	// Registration first (it yields the token), then creations, then the rest.
	rank := func(f string) int {
		switch {
		case strings.HasSuffix(f, "auth/register.json"):
			return 0
		case strings.HasSuffix(f, "agents/create.json"):
			return 1
		}
		return 2
	}
	sort.SliceStable(files, func(i, j int) bool { return rank(files[i]) < rank(files[j]) })

	var b [4]byte
	_, _ = rand.Read(b[:])
	vars := map[string]string{"{{RAND}}": hex.EncodeToString(b[:])}
	for _, file := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.ToSlash(file), "../../events/apigw/"), ".json")
		fn := strings.Split(name, "/")[0]
		raw, err := os.ReadFile(file)
		require.NoError(t, err)
		s := string(raw)
		for k, v := range vars {
			s = strings.ReplaceAll(s, k, v)
		}
		var ev events.APIGatewayV2HTTPRequest
		require.NoError(t, json.Unmarshal([]byte(s), &ev), name)
		res, err := handlers[fn](ctx, ev)
		require.NoError(t, err, name)
		want := expected[name]
		require.Equal(t, want.status, res.StatusCode, "%s: %s", name, res.Body)
		var env struct {
			Success bool `json:"success"`
			Data    struct {
				ID          string `json:"id"`
				AccessToken string `json:"accessToken"`
			} `json:"data"`
			Error struct{ Code string } `json:"error"`
			Meta  struct{ RequestID string }
		}
		require.NoError(t, json.Unmarshal([]byte(res.Body), &env), name)
		require.Equal(t, want.status < 400, env.Success, name)
		require.Equal(t, want.code, env.Error.Code, name)
		require.Equal(t, ev.RequestContext.RequestID, env.Meta.RequestID, "%s: API Gateway's request id is the request id", name)
		switch name {
		case "auth/register":
			vars["{{TOKEN}}"] = env.Data.AccessToken
		case "agents/create":
			vars["{{AGENT_ID}}"] = env.Data.ID
		}
	}

	// Each function serves only its own routes.
	var ev events.APIGatewayV2HTTPRequest
	raw, err := os.ReadFile("../../events/apigw/workflows/list.json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal([]byte(strings.ReplaceAll(string(raw), "{{TOKEN}}", vars["{{TOKEN}}"])), &ev))
	res, err := handlers[httpapi.GroupAgents](ctx, ev)
	require.NoError(t, err)
	require.Equal(t, 404, res.StatusCode, "the agents function does not serve /workflows")

	// The console's session cookie through API Gateway (payload 2.0 keeps
	// cookies apart from headers, both ways): login sets it, refresh reads
	// it and rotates it.
	raw, err = os.ReadFile("../../events/apigw/auth/register.json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal([]byte(strings.ReplaceAll(string(raw), "{{RAND}}", "cookie-"+vars["{{RAND}}"])), &ev))
	ev.Headers["x-turbocat-session"] = "cookie"
	res, err = handlers["auth"](ctx, ev)
	require.NoError(t, err)
	require.Equal(t, 201, res.StatusCode, res.Body)
	require.NotContains(t, res.Body, "refreshToken", "the refresh token is only in the cookie")
	cookie := sessionCookie(t, res.Cookies)
	ev = events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: "POST /api/v1/auth/refresh", RawPath: "/api/v1/auth/refresh",
		Headers: map[string]string{"x-turbocat-session": "cookie"}, Cookies: []string{"other=1", cookie}}
	ev.RequestContext.RequestID = "apigw-req-cookie"
	ev.RequestContext.HTTP.Method, ev.RequestContext.HTTP.Path = "POST", "/api/v1/auth/refresh"
	res, err = handlers["auth"](ctx, ev)
	require.NoError(t, err)
	require.Equal(t, 200, res.StatusCode, "refresh reads the cookie API Gateway passes apart: %s", res.Body)
	require.NotEqual(t, cookie, sessionCookie(t, res.Cookies), "the refresh token rotates")

	// The MCP server through API Gateway: the workflows function answers
	// a stateless JSON-RPC request with a JSON body (HTTP APIs buffer).
	ev = events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: "POST /mcp", RawPath: "/mcp",
		Headers: map[string]string{"authorization": "Bearer " + vars["{{TOKEN}}"], "content-type": "application/json",
			"accept": "application/json, text/event-stream"},
		Body: `{"jsonrpc":"2.0","id":7,"method":"tools/list"}`}
	ev.RequestContext.RequestID = "apigw-req-mcp"
	ev.RequestContext.HTTP.Method, ev.RequestContext.HTTP.Path = "POST", "/mcp"
	res, err = handlers[httpapi.GroupWorkflows](ctx, ev)
	require.NoError(t, err)
	require.Equal(t, 200, res.StatusCode, res.Body)
	require.JSONEq(t, `{"jsonrpc":"2.0","id":7,"result":{"tools":[],"ttlMs":0,"cacheScope":"private"}}`, res.Body)
}

// sessionCookie returns "turbocat_refresh=<value>" from a response's
// Set-Cookie values, checking its attributes.
func sessionCookie(t *testing.T, setCookies []string) string {
	t.Helper()
	for _, c := range setCookies {
		if strings.HasPrefix(c, "turbocat_refresh=") {
			require.Contains(t, c, "HttpOnly")
			require.Contains(t, c, "Secure")
			require.Contains(t, c, "Path=/api/v1/auth/refresh")
			return strings.SplitN(c, ";", 2)[0]
		}
	}
	require.Failf(t, "no session cookie", "Set-Cookie values: %q", setCookies)
	return ""
}

// stepRunnerEndpoint serves Lambda's Invoke API with the steprunner's
// handler on an app over pool.
func stepRunnerEndpoint(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	cfg, err := config.Load()
	require.NoError(t, err)
	cfg.JWTSecret = []byte("0123456789abcdef0123456789abcdef")
	a, err := app.NewWithPool(cfg, slog.New(slog.DiscardHandler), pool)
	require.NoError(t, err)
	reg, closeExe, err := executors.New(cfg, nil)
	require.NoError(t, err)
	t.Cleanup(closeExe)
	h := lambdafn.StepRunnerLambda(a, a.NewRunner(reg))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		payload, _ := io.ReadAll(r.Body)
		out, err := h(r.Context(), payload)
		if err != nil {
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			out, _ = json.Marshal(map[string]string{"errorMessage": err.Error()})
		}
		_, _ = w.Write(out)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// apiFunctions are the API functions with the components their mains
// wire.
func apiFunctions() map[string][]lambdafn.Option {
	return map[string][]lambdafn.Option{
		"auth":        {lambdafn.JWT()},
		"apikeys":     {lambdafn.JWT(), secretskey.SecretsKey()},
		"agents":      {lambdafn.JWT(), agenttests.AgentTests()},
		"templates":   {lambdafn.JWT()},
		"workflows":   {lambdafn.JWT(), secretskey.SecretsKey(), stepfunctions.StepFunctions(), stepfunctions.EngineRoutes(), schedules.Schedules()},
		"executions":  {lambdafn.JWT(), stepfunctions.StepFunctions(), stepfunctions.EngineRoutes()},
		"deployments": {lambdafn.JWT(), secretskey.SecretsKey(), stepfunctions.StepFunctions(), stepfunctions.EngineRoutes(), schedules.Schedules()},
	}
}

func TestLambdaAPIConfigErrors(t *testing.T) {
	t.Setenv("TURBOCAT_JWT_SECRET", "short")
	_, err := lambdafn.API(context.Background(), "auth", lambdafn.JWT())
	require.ErrorContains(t, err, "TURBOCAT_JWT_SECRET")
}

// TestWiringFollowsThePermissionsTable: a main that wires a component its
// row of internal/awsperm lacks (the IAM role would lack its actions), or
// lacks one the row has, does not start, and says which.
func TestWiringFollowsThePermissionsTable(t *testing.T) {
	_, err := lambdafn.API(context.Background(), "auth", lambdafn.JWT(), schedules.Schedules())
	require.ErrorContains(t, err, "does not grant it [schedules]")
	_, err = lambdafn.API(context.Background(), "workflows", lambdafn.JWT(), secretskey.SecretsKey(), stepfunctions.StepFunctions(), stepfunctions.EngineRoutes())
	require.ErrorContains(t, err, "lacks components the table grants [schedules]")
	_, err = lambdafn.API(context.Background(), "nosuch")
	require.ErrorContains(t, err, "not in the permissions table")
}

// TestComponentsNameTheirVariables: a component whose environment is
// missing stops the function with the variable's name.
func TestComponentsNameTheirVariables(t *testing.T) {
	pool, schema := pgtest.NewSchema(t)
	_, err := postgres.Migrate(context.Background(), pool)
	require.NoError(t, err)
	t.Setenv("DATABASE_URL", pgtest.URL()+"&search_path="+schema)
	t.Setenv("TURBOCAT_JWT_SECRET", "lambda-test-secret-lambda-test-secret-01")
	t.Setenv("AWS_LAMBDA_FUNCTION_NAME", "turbocat-test")
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("TURBOCAT_STEPRUNNER_ARN", "arn:aws:lambda:eu-west-1:123456789012:function:turbocat-test-steprunner:live")
	t.Setenv("TURBOCAT_SFN_ROLE_ARN", "arn:aws:iam::123456789012:role/turbocat-test-sfn")
	_, err = lambdafn.Reconciler(context.Background(), eventbus.EventBus(), stepfunctions.StepFunctions())
	require.ErrorContains(t, err, "TURBOCAT_EVENT_BUS_NAME: required by the event-bus component")
	t.Setenv("TURBOCAT_EVENT_BUS_NAME", "turbocat-test")
	_, err = lambdafn.Reconciler(context.Background(), eventbus.EventBus(), stepfunctions.StepFunctions())
	require.ErrorContains(t, err, "TURBOCAT_STATE_MACHINE_PREFIX: required by the step-functions component")
}
