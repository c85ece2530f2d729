package tracing

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/stretchr/testify/require"
)

// recorder captures the documents that would go to the daemon.
type recorder struct {
	mu   sync.Mutex
	docs []map[string]any
}

func (r *recorder) emit(doc []byte) {
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		panic(err)
	}
	r.mu.Lock()
	r.docs = append(r.docs, m)
	r.mu.Unlock()
}

func record(t *testing.T) *recorder {
	enabled.Store(true)
	r := &recorder{}
	setEmitter(r.emit)
	t.Cleanup(func() { enabled.Store(false); setEmitter(func([]byte) {}) })
	return r
}

// lambdaCtx is the context aws-lambda-go gives a handler of a sampled
// invocation.
func lambdaCtx(sampled string) context.Context {
	//lint:ignore SA1029 aws-lambda-go puts the trace header under this plain string key.
	return context.WithValue(context.Background(), traceHeaderKey, "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled="+sampled)
}

func TestSpansAreSubsegmentsOfTheInvocation(t *testing.T) {
	// Off: inert.
	_, s := Start(lambdaCtx("1"), "step", map[string]string{"executionId": "x"})
	require.Nil(t, s.s)

	r := record(t)
	// No trace in ctx (turbocat dev): inert, no error.
	_, s = Start(context.Background(), "step", nil)
	require.Nil(t, s.s)
	// An unsampled invocation: nothing is sent.
	_, s = Start(lambdaCtx("0"), "step", nil)
	require.Nil(t, s.s)

	ctx, step := Start(lambdaCtx("1"), "step", map[string]string{"executionId": "e-1", "stepKey": "fetch"})
	step.Annotate("agentType", "api")
	_, inner := Start(ctx, "inner", nil)
	inner.End(nil)
	step.End(errors.New("Api.Http5xx: upstream answered 503"))

	require.Len(t, r.docs, 2)
	in, st := r.docs[0], r.docs[1]
	require.Equal(t, "step", st["name"])
	require.Equal(t, "subsegment", st["type"])
	require.Equal(t, "1-5759e988-bd862e3fe1be46a994272793", st["trace_id"])
	require.Equal(t, "53995c3f42cd8ad8", st["parent_id"], "the step hangs from the function's segment")
	require.Equal(t, st["id"], in["parent_id"], "a span opened inside another is its child")
	require.Equal(t, map[string]any{"executionId": "e-1", "stepKey": "fetch", "agentType": "api"}, st["annotations"])
	require.Equal(t, true, st["fault"], "the step's error is recorded")
	require.Contains(t, st["cause"].(map[string]any)["exceptions"].([]any)[0].(map[string]any)["message"], "503")
	require.Greater(t, st["end_time"].(float64), st["start_time"].(float64)-1e-3)
}

// TestAWSCallsAreTracedAndPropagated: a real SDK client call becomes an
// "aws" subsegment and carries the trace header downstream.
func TestAWSCallsAreTracedAndPropagated(t *testing.T) {
	r := record(t)
	var header string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		header = req.Header.Get("X-Amzn-Trace-Id")
		_, _ = io.Copy(io.Discard, req.Body)
		w.Header().Set("x-amzn-RequestId", "req-42")
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = w.Write([]byte(`{"FailedEntryCount":0,"Entries":[{"EventId":"e"}]}`))
	}))
	t.Cleanup(srv.Close)
	cfg := aws.Config{Region: "eu-west-1", Credentials: aws.AnonymousCredentials{}, BaseEndpoint: aws.String(srv.URL)}
	InstrumentAWS(&cfg.APIOptions)
	client := eventbridge.NewFromConfig(cfg)
	_, err := client.PutEvents(lambdaCtx("1"), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{Source: aws.String("turbocat")}}})
	require.NoError(t, err)
	require.Len(t, r.docs, 1)
	d := r.docs[0]
	require.Equal(t, "EventBridge", d["name"])
	require.Equal(t, "aws", d["namespace"])
	require.Equal(t, map[string]any{"operation": "PutEvents", "region": "eu-west-1", "request_id": "req-42", "http_status": "200"}, d["aws"])
	require.Equal(t, "Root=1-5759e988-bd862e3fe1be46a994272793;Parent="+d["id"].(string)+";Sampled=1", header)
}

// TestEnableSendsToTheDaemon: the documents reach a UDP listener in the
// daemon's format.
func TestEnableSendsToTheDaemon(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { pc.Close() })
	t.Setenv("AWS_XRAY_DAEMON_ADDRESS", "tcp:127.0.0.1:1 udp:"+pc.LocalAddr().String())
	Enable()
	t.Cleanup(func() { enabled.Store(false); setEmitter(func([]byte) {}) })
	_, s := Start(lambdaCtx("1"), "api", nil)
	s.End(nil)
	buf := make([]byte, 4096)
	require.NoError(t, pc.SetReadDeadline(time.Now().Add(5*time.Second)))
	n, _, err := pc.ReadFrom(buf)
	require.NoError(t, err)
	hdr, doc, ok := splitLine(buf[:n])
	require.True(t, ok)
	require.JSONEq(t, `{"format": "json", "version": 1}`, hdr)
	require.Contains(t, doc, `"name":"api"`)
}

func splitLine(b []byte) (string, string, bool) {
	for i, c := range b {
		if c == '\n' {
			return string(b[:i]), string(b[i+1:]), true
		}
	}
	return "", "", false
}
