package sfn_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/enginetest"
	"github.com/turbocat/turbocat/internal/runtime"
	"github.com/turbocat/turbocat/internal/runtime/sfnapi"
	"github.com/turbocat/turbocat/internal/sfn"
	"github.com/turbocat/turbocat/internal/turbocat"
)

const roleArn = "arn:aws:iam::123456789012:role/turbocat-sfn"

func awsConfig(endpoint string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider("AKIDLOCAL", "secret", "")),
	}
}

// recorder keeps the requests the adapter sent, by operation.
type recorder struct {
	mu   sync.Mutex
	reqs map[string][][]byte
}

func (r *recorder) bodies(op string) [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reqs[op]
}

type bundle struct {
	rt     *runtime.Runtime
	engine *sfn.Engine
	rec    *recorder
	url    string
}

// setup serves a fresh local runtime over the Step Functions protocol and
// returns the adapter pointed at it; wrap, if set, sits in front of the
// protocol handler.
func setup(t *testing.T, opts sfn.Options, wrap func(http.Handler) http.Handler) *bundle {
	t.Helper()
	rt, err := runtime.New(context.Background(), runtime.Options{})
	require.NoError(t, err)
	t.Cleanup(rt.Close)
	rec := &recorder{reqs: map[string][][]byte{}}
	var h http.Handler = sfnapi.NewHandler(rt, nil, sfnapi.WithCredentials(sfnapi.Credentials{AccessKeyID: "AKIDLOCAL", SecretAccessKey: "secret"}))
	if wrap != nil {
		h = wrap(h)
	}
	inner := h
	h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AWSStepFunctions.")
		rec.mu.Lock()
		rec.reqs[op] = append(rec.reqs[op], body)
		rec.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		inner.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	if opts.RoleArn == "" {
		opts.RoleArn = roleArn
	}
	if opts.MaxBackoff == 0 {
		opts.MaxBackoff = 5 * time.Millisecond
	}
	return &bundle{rt: rt, engine: sfn.New(awsConfig(srv.URL), opts), rec: rec, url: srv.URL}
}

// TestConformanceWire runs the engine suite on the adapter through the
// Step Functions JSON protocol of Turbocat's local runtime.
func TestConformanceWire(t *testing.T) {
	t.Parallel()
	enginetest.Run(t, func(t *testing.T) *enginetest.Harness {
		b := setup(t, sfn.Options{}, nil)
		return &enginetest.Harness{
			Engine: b.engine,
			Register: func(name string, fn enginetest.Func) {
				b.rt.RegisterFunction(name, func(ctx context.Context, p json.RawMessage) (json.RawMessage, error) { return fn(ctx, p) })
			},
		}
	})
}

// TestConformanceLocalStack runs the suite against LocalStack's Step
// Functions when LOCALSTACK_ENDPOINT is set (e.g. http://localhost:4566),
// Task states included: their functions run in LocalStack's Lambda (see
// relayHarness), which reaches this process at TURBOCAT_RELAY_HOST
// (default host.docker.internal) port TURBOCAT_RELAY_PORT (18480).
func TestConformanceLocalStack(t *testing.T) {
	t.Parallel()
	endpoint := os.Getenv("LOCALSTACK_ENDPOINT")
	if endpoint == "" {
		t.Skip("LOCALSTACK_ENDPOINT is not set: no LocalStack here; set it (e.g. http://localhost:4566) to run the suite against LocalStack")
	}
	cfg := awsConfig(endpoint)
	engine := sfn.New(cfg, sfn.Options{RoleArn: "arn:aws:iam::000000000000:role/turbocat-sfn"})
	// LocalStack runs Tasks on Lambda functions it hosts: each in-process
	// function of the suite is deployed as a relay function calling back.
	relay := newRelayHarness(t, cfg)
	enginetest.Run(t, func(*testing.T) *enginetest.Harness {
		return &enginetest.Harness{Engine: engine, Timeout: 2 * time.Minute, Register: relay.register}
	})
}

const fastDef = `{"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"ok":true},"End":true}}}`

func await(t *testing.T, e *sfn.Engine, ref, status string) *turbocat.EngineExecution {
	t.Helper()
	var x *turbocat.EngineExecution
	require.Eventually(t, func() bool {
		var err error
		x, err = e.DescribeExecution(context.Background(), ref)
		require.NoError(t, err)
		return x.Status == status
	}, 20*time.Second, 10*time.Millisecond, "execution %s never reached %s", ref, status)
	return x
}

func TestStartFinishedExecutionIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, sfn.Options{}, nil)
	v, err := b.engine.PublishStateMachine(ctx, "quick", []byte(fastDef))
	require.NoError(t, err)
	ref, err := b.engine.StartExecution(ctx, v, "exec-1", []byte(`{"n": 1, "s": "x"}`))
	require.NoError(t, err)
	await(t, b.engine, ref, turbocat.EngineSucceeded)

	// A retried start (same name, same input up to JSON formatting) after
	// the execution finished returns it rather than failing.
	again, err := b.engine.StartExecution(ctx, v, "exec-1", []byte(`{"s":"x","n":1}`))
	require.NoError(t, err)
	require.Equal(t, ref, again)

	_, err = b.engine.StartExecution(ctx, v, "exec-1", []byte(`{"n":2}`))
	require.Equal(t, turbocat.ECONFLICT, turbocat.ErrorCodeOf(err), "error: %v", err)
	require.Contains(t, turbocat.AsError(err).Message, "different input")
}

func TestPublishSendsOptions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, sfn.Options{
		Type:    sfn.TypeExpress,
		Logging: &sfn.Logging{LogGroupArn: "arn:aws:logs:us-east-1:123456789012:log-group:/turbocat/sfn:*", Level: "ALL", IncludeExecutionData: true},
		Tracing: true,
		Tags:    map[string]string{"app": "turbocat"},
	}, nil)
	_, err := b.engine.PublishStateMachine(ctx, "opts", []byte(fastDef))
	require.NoError(t, err)
	reqs := b.rec.bodies("CreateStateMachine")
	require.Len(t, reqs, 1)
	var got map[string]any
	require.NoError(t, json.Unmarshal(reqs[0], &got))
	require.Equal(t, "EXPRESS", got["type"])
	require.Equal(t, roleArn, got["roleArn"])
	require.Equal(t, true, got["publish"])
	require.Equal(t, map[string]any{"enabled": true}, got["tracingConfiguration"])
	require.Equal(t, []any{map[string]any{"key": "app", "value": "turbocat"}}, got["tags"])
	require.Equal(t, map[string]any{
		"level": "ALL", "includeExecutionData": true,
		"destinations": []any{map[string]any{"cloudWatchLogsLogGroup": map[string]any{"logGroupArn": "arn:aws:logs:us-east-1:123456789012:log-group:/turbocat/sfn:*"}}},
	}, got["loggingConfiguration"])

	sm, err := b.rt.DescribeStateMachine(ctx, "arn:aws:states:us-east-1:123456789012:stateMachine:opts")
	require.NoError(t, err)
	require.Equal(t, roleArn, sm.RoleArn)
	require.Equal(t, "EXPRESS", sm.Type)
}

func TestPublishUpdatesThroughOneCall(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, sfn.Options{}, nil)
	v1, err := b.engine.PublishStateMachine(ctx, "m", []byte(fastDef))
	require.NoError(t, err)
	require.Equal(t, "arn:aws:states:us-east-1:123456789012:stateMachine:m:1", v1)

	// A fresh engine (no cache) finds the machine ARN from the error.
	other := sfn.New(awsConfig(b.url), sfn.Options{RoleArn: roleArn})
	v2, err := other.PublishStateMachine(ctx, "m", []byte(strings.Replace(fastDef, "true", "false", 1)))
	require.NoError(t, err)
	require.Equal(t, "arn:aws:states:us-east-1:123456789012:stateMachine:m:2", v2)
	require.Len(t, b.rec.bodies("UpdateStateMachine"), 1, "update and publish are one call")
	require.Empty(t, b.rec.bodies("PublishStateMachineVersion"))
	require.Empty(t, b.rec.bodies("ListStateMachines"), "the ARN comes from the StateMachineAlreadyExists message")
}

func TestAliasRoutingAndListExecutions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, sfn.Options{}, nil)
	v1, err := b.engine.PublishStateMachine(ctx, "flow", []byte(fastDef))
	require.NoError(t, err)
	v2, err := b.engine.PublishStateMachine(ctx, "flow", []byte(strings.Replace(fastDef, "true", "false", 1)))
	require.NoError(t, err)
	machine := "arn:aws:states:us-east-1:123456789012:stateMachine:flow"

	alias, err := b.engine.CreateOrUpdateAlias(ctx, machine, "live", []sfn.Route{{VersionArn: v1, Weight: 100}})
	require.NoError(t, err)
	require.Equal(t, machine+":live", alias)
	a, err := b.engine.DescribeAlias(ctx, alias)
	require.NoError(t, err)
	require.Equal(t, "live", a.Name)
	require.Equal(t, []sfn.Route{{VersionArn: v1, Weight: 100}}, a.Routing)

	// Canary: the same call moves the existing alias.
	_, err = b.engine.CreateOrUpdateAlias(ctx, machine, "live", []sfn.Route{{VersionArn: v1, Weight: 90}, {VersionArn: v2, Weight: 10}})
	require.NoError(t, err)
	a, err = b.engine.DescribeAlias(ctx, alias)
	require.NoError(t, err)
	require.Equal(t, []sfn.Route{{VersionArn: v1, Weight: 90}, {VersionArn: v2, Weight: 10}}, a.Routing)

	_, err = b.engine.CreateOrUpdateAlias(ctx, machine, "live", []sfn.Route{{VersionArn: v1, Weight: 90}})
	require.Equal(t, turbocat.EVALIDATION, turbocat.ErrorCodeOf(err))
	require.Contains(t, err.Error(), "sum to 90")
	_, err = b.engine.CreateOrUpdateAlias(ctx, machine, "beta", []sfn.Route{{VersionArn: machine + ":77", Weight: 100}})
	require.Equal(t, turbocat.ENOTFOUND, turbocat.ErrorCodeOf(err), "error: %v", err)
	_, err = b.engine.DescribeAlias(ctx, machine+":nope")
	require.Equal(t, turbocat.ENOTFOUND, turbocat.ErrorCodeOf(err), "error: %v", err)

	// Roll back to v1 alone, then start through the alias and list.
	_, err = b.engine.CreateOrUpdateAlias(ctx, machine, "live", []sfn.Route{{VersionArn: v1, Weight: 100}})
	require.NoError(t, err)
	ref, err := b.engine.StartExecution(ctx, alias, "via-alias", nil)
	require.NoError(t, err)
	require.Equal(t, "arn:aws:states:us-east-1:123456789012:execution:flow:via-alias", ref)
	await(t, b.engine, ref, turbocat.EngineSucceeded)
	ref2, err := b.engine.StartExecution(ctx, v2, "via-version", nil)
	require.NoError(t, err)
	await(t, b.engine, ref2, turbocat.EngineSucceeded)

	all, err := b.engine.ListExecutions(ctx, sfn.ListExecutionsInput{Target: machine})
	require.NoError(t, err)
	require.Len(t, all, 2)
	require.Equal(t, "via-version", all[0].Name, "newest first")
	require.Equal(t, turbocat.EngineSucceeded, all[0].Status)
	require.NotNil(t, all[0].StoppedAt)

	onV2, err := b.engine.ListExecutions(ctx, sfn.ListExecutionsInput{Target: v2})
	require.NoError(t, err)
	require.Len(t, onV2, 1)
	require.Equal(t, ref2, onV2[0].Ref)

	limited, err := b.engine.ListExecutions(ctx, sfn.ListExecutionsInput{Target: machine, Limit: 1})
	require.NoError(t, err)
	require.Len(t, limited, 1)

	running, err := b.engine.ListExecutions(ctx, sfn.ListExecutionsInput{Target: machine, Status: turbocat.EngineRunning})
	require.NoError(t, err)
	require.Empty(t, running)
	// AWS answers ListExecutions of an unknown machine with
	// StateMachineDoesNotExist (→ ENOTFOUND, see TestTranslate); the local
	// endpoint returns an empty list instead, so that is not asserted here.
}

const tokenDef = `{"StartAt":"Ask","States":{"Ask":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
	"Parameters":{"FunctionName":"ask","Payload":{"token.$":"$$.Task.Token"}},"HeartbeatSeconds":600,"End":true}}}`

func TestTaskTokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, sfn.Options{}, nil)
	tokens := make(chan string, 2)
	b.rt.RegisterFunction("ask", func(_ context.Context, p json.RawMessage) (json.RawMessage, error) {
		var in struct{ Token string }
		if err := json.Unmarshal(p, &in); err != nil {
			return nil, err
		}
		tokens <- in.Token
		return json.RawMessage(`{}`), nil
	})
	v, err := b.engine.PublishStateMachine(ctx, "approve", []byte(tokenDef))
	require.NoError(t, err)

	okRef, err := b.engine.StartExecution(ctx, v, "yes", nil)
	require.NoError(t, err)
	token := <-tokens
	require.NoError(t, b.engine.SendTaskHeartbeat(ctx, token))
	require.NoError(t, b.engine.SendTaskSuccess(ctx, token, []byte(`{"approved":true}`)))
	await(t, b.engine, okRef, turbocat.EngineSucceeded)
	err = b.engine.SendTaskSuccess(ctx, token, []byte(`{}`))
	require.NotEqual(t, "", string(turbocat.ErrorCodeOf(err)), "an answered token cannot be answered again")
	require.Contains(t, []turbocat.ErrorCode{turbocat.ENOTFOUND, turbocat.EVALIDATION}, turbocat.ErrorCodeOf(err), "error: %v", err)

	noRef, err := b.engine.StartExecution(ctx, v, "no", nil)
	require.NoError(t, err)
	token = <-tokens
	require.NoError(t, b.engine.SendTaskFailure(ctx, token, "Turbocat.Rejected", "a reviewer said no"))
	x := await(t, b.engine, noRef, turbocat.EngineFailed)
	require.Equal(t, "Turbocat.Rejected", x.Error)
	require.Equal(t, "a reviewer said no", x.Cause)
}

// throttle answers the first n requests (or all, n < 0) with status and
// code instead of passing them on, counting every request.
func throttle(n int, status int, code string, count *atomic.Int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c := count.Add(1)
			if n < 0 || c <= int64(n) {
				w.Header().Set("Content-Type", "application/x-amz-json-1.0")
				w.Header().Set("X-Amzn-Errortype", code)
				w.WriteHeader(status)
				_, _ = w.Write([]byte(`{"__type":"` + code + `","message":"slow down"}`))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func TestRetriesTransientErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		status int
		code   string
	}{
		{"throttling", http.StatusBadRequest, "ThrottlingException"},
		{"server fault", http.StatusInternalServerError, "InternalFailure"},
		{"unavailable", http.StatusServiceUnavailable, "ServiceUnavailable"},
	}
	for _, c := range cases {
		t.Run(c.name+" then success", func(t *testing.T) {
			t.Parallel()
			var count atomic.Int64
			b := setup(t, sfn.Options{MaxAttempts: 4}, throttle(2, c.status, c.code, &count))
			v, err := b.engine.PublishStateMachine(context.Background(), "m", []byte(fastDef))
			require.NoError(t, err, "two transient failures are retried away")
			require.Equal(t, "arn:aws:states:us-east-1:123456789012:stateMachine:m:1", v)
			require.Equal(t, int64(3), count.Load())
		})
		t.Run(c.name+" persisting", func(t *testing.T) {
			t.Parallel()
			var count atomic.Int64
			b := setup(t, sfn.Options{MaxAttempts: 3}, throttle(-1, c.status, c.code, &count))
			_, err := b.engine.DescribeExecution(context.Background(), "arn:aws:states:us-east-1:123456789012:execution:m:x")
			require.Equal(t, turbocat.EUNAVAILABLE, turbocat.ErrorCodeOf(err), "error: %v", err)
			require.Contains(t, turbocat.AsError(err).Message, "try again later")
			require.Equal(t, int64(3), count.Load(), "attempts are bounded by MaxAttempts")
		})
	}
}

func TestUnreachableEndpointIsUnavailable(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	e := sfn.New(awsConfig(url), sfn.Options{MaxAttempts: 2, MaxBackoff: time.Millisecond})
	_, err := e.DescribeExecution(context.Background(), "arn:aws:states:us-east-1:123456789012:execution:m:x")
	require.Equal(t, turbocat.EUNAVAILABLE, turbocat.ErrorCodeOf(err), "error: %v", err)
}

func TestCancelledContextIsNotDomainError(t *testing.T) {
	t.Parallel()
	b := setup(t, sfn.Options{}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := b.engine.PublishStateMachine(ctx, "m", []byte(fastDef))
	require.ErrorIs(t, err, context.Canceled)
	require.Nil(t, turbocat.AsError(err))
}

// TestPublishFindsMachineByListing covers endpoints whose
// StateMachineAlreadyExists message carries no ARN.
func TestPublishFindsMachineByListing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	stripArn := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			if rec.Header().Get("X-Amzn-Errortype") == "StateMachineAlreadyExists" {
				body = []byte(`{"__type":"StateMachineAlreadyExists","message":"State Machine Already Exists"}`)
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(body)
		})
	}
	b := setup(t, sfn.Options{}, stripArn)
	for _, name := range []string{"other-1", "target", "other-2"} {
		_, err := b.engine.PublishStateMachine(ctx, name, []byte(fastDef))
		require.NoError(t, err)
	}
	fresh := sfn.New(awsConfig(b.url), sfn.Options{RoleArn: roleArn})
	v, err := fresh.PublishStateMachine(ctx, "target", []byte(strings.Replace(fastDef, "true", "false", 1)))
	require.NoError(t, err)
	require.Equal(t, "arn:aws:states:us-east-1:123456789012:stateMachine:target:2", v)
	require.NotEmpty(t, b.rec.bodies("ListStateMachines"), "the machine was found by listing")
}
