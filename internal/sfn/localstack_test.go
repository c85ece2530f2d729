package sfn_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/enginetest"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// relayHarness runs the suite's in-process functions behind real Lambda
// functions in LocalStack: each Register deploys testdata/relay under the
// function's name, which forwards the Task's payload to this process.
type relayHarness struct {
	t      *testing.T
	lambda *lambda.Client
	code   []byte
	base   string // URL of this process's relay server, as containers see it
	mu     sync.Mutex
	fns    map[string]enginetest.Func
}

// newRelayHarness builds the relay for LocalStack's Lambda (linux, this
// host's architecture: LocalStack runs functions in containers of the
// host's architecture) and starts the server it calls back.
func newRelayHarness(t *testing.T, cfg aws.Config) *relayHarness {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", filepath.Join(dir, "bootstrap"), "./testdata/relay")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	var zipped bytes.Buffer
	zw := zip.NewWriter(&zipped)
	bin, err := os.ReadFile(filepath.Join(dir, "bootstrap"))
	require.NoError(t, err)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "bootstrap", Method: zip.Deflate, ExternalAttrs: 0o755 << 16})
	require.NoError(t, err)
	_, err = w.Write(bin)
	require.NoError(t, err)
	require.NoError(t, zw.Close())

	h := &relayHarness{t: t, lambda: lambda.NewFromConfig(cfg), code: zipped.Bytes(), fns: map[string]enginetest.Func{}}
	// Lambda containers reach the host, not its loopback: listen on every
	// interface (this test runs only where LocalStack does).
	ln, err := net.Listen("tcp", "0.0.0.0:"+envOr("TURBOCAT_RELAY_PORT", "18480"))
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(h.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	h.base = "http://" + envOr("TURBOCAT_RELAY_HOST", "host.docker.internal") + ":" + envOr("TURBOCAT_RELAY_PORT", "18480")
	return h
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func (h *relayHarness) serve(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	fn := h.fns[r.URL.Path[1:]]
	h.mu.Unlock()
	payload, _ := io.ReadAll(r.Body)
	if fn == nil {
		http.Error(w, `{"Type":"Relay.Unknown","Message":"no function `+r.URL.Path+`"}`, http.StatusNotFound)
		return
	}
	out, err := fn(r.Context(), payload)
	if err != nil {
		name := "Error"
		var se *turbocat.StepError
		if errors.As(err, &se) {
			name = se.Name
		}
		b, _ := json.Marshal(map[string]string{"Type": name, "Message": err.Error()})
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write(b)
		return
	}
	_, _ = w.Write(out)
}

// register deploys the relay as the Lambda function name.
func (h *relayHarness) register(name string, fn enginetest.Func) {
	h.mu.Lock()
	h.fns[name] = fn
	h.mu.Unlock()
	arch := types.ArchitectureX8664
	if runtime.GOARCH == "arm64" {
		arch = types.ArchitectureArm64
	}
	ctx := context.Background()
	_, err := h.lambda.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName:  aws.String(name),
		Runtime:       types.RuntimeProvidedal2023,
		Handler:       aws.String("bootstrap"),
		Architectures: []types.Architecture{arch},
		Role:          aws.String("arn:aws:iam::000000000000:role/turbocat-relay"),
		Code:          &types.FunctionCode{ZipFile: h.code},
		Timeout:       aws.Int32(30),
		Environment:   &types.Environment{Variables: map[string]string{"TURBOCAT_RELAY_URL": h.base + "/" + name}},
	})
	require.NoError(h.t, err, "deploy the relay function %s to LocalStack", name)
	h.t.Cleanup(func() {
		_, _ = h.lambda.DeleteFunction(context.Background(), &lambda.DeleteFunctionInput{FunctionName: aws.String(name)})
	})
	waiter := lambda.NewFunctionActiveV2Waiter(h.lambda)
	require.NoError(h.t, waiter.Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)}, 2*time.Minute), "relay function %s never became active", name)
}
