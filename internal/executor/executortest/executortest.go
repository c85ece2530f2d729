// Package executortest is the conformance suite of the executor.Executor
// interface: one function, Run, that every agent type's tests call with a
// Harness describing how to make that type succeed, log, hang, fail and
// overflow. It checks what a workflow author relies on whatever the type:
// the output and log shape, the type's timeout error, cancellation through
// the context, invalid configs, and that the resolved secret values never
// appear in the output, the logs or the error.
package executortest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/executor"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// Canary is the value of the secret CANARY in every conformance run.
const Canary = "cnry-7f3e9a1c-SECRET"

// SecretRef is the template naming the canary secret in configs.
const SecretRef = "{{secrets.CANARY}}"

// Harness describes one executor type to the suite. Each config function
// returns an agent config for the type; configs may use SecretRef and
// {{input.msg}} (the input is {"msg": "hello-conformance"}).
type Harness struct {
	// Type is the agent type ("code", "api", "llm").
	Type string
	// Executor is the executor under test.
	Executor executor.Executor
	// TimeoutName is the type's timeout error name.
	TimeoutName string
	// OversizeName is the error name of an output over the type's limit.
	OversizeName string
	// Echo succeeds with an output (a JSON object) that contains the input's
	// msg and the secret, and logs at least one line holding the secret
	// when the type can.
	Echo func(t *testing.T) json.RawMessage
	// Fail fails with the secret's value in the error cause.
	Fail func(t *testing.T) json.RawMessage
	// Slow runs for many seconds unless stopped (no timeoutSeconds of its own).
	Slow func(t *testing.T) json.RawMessage
	// Oversize produces an output over the type's limit.
	Oversize func(t *testing.T) json.RawMessage
	// Invalid is a config that fails schema validation.
	Invalid json.RawMessage
}

// Input is the step input of every conformance run.
const Input = `{"msg":"hello-conformance"}`

func request(h Harness, cfg json.RawMessage) executor.Request {
	return executor.Request{
		AgentID: "conformance-agent",
		Type:    h.Type,
		Config:  cfg,
		Input:   json.RawMessage(Input),
		Secrets: executor.StaticSecrets{"CANARY": Canary},
	}
}

func requireNoCanary(t *testing.T, res executor.Result, err error) {
	t.Helper()
	dump, jerr := json.Marshal(res)
	require.NoError(t, jerr)
	require.NotContains(t, string(dump), Canary, "result leaks the secret")
	if err != nil {
		require.NotContains(t, err.Error(), Canary, "error leaks the secret")
	}
}

func requireName(t *testing.T, err error, name string) *turbocat.StepError {
	t.Helper()
	var e *turbocat.StepError
	require.ErrorAs(t, err, &e)
	require.Equal(t, name, e.Name, e.Cause)
	require.NotEmpty(t, e.Cause)
	return e
}

// Run runs the conformance suite against h.
func Run(t *testing.T, h Harness) {
	t.Run("success output, logs and scrubbing", func(t *testing.T) {
		t.Parallel()
		// Through a registry too: the steprunner calls it that way.
		reg := executor.NewRegistry()
		reg.Register(h.Type, h.Executor)
		for _, ex := range []executor.Executor{h.Executor, reg} {
			res, err := ex.Execute(context.Background(), request(h, h.Echo(t)))
			require.NoError(t, err)
			var out map[string]any
			require.NoError(t, json.Unmarshal(res.Output, &out), "output is a JSON object: %s", res.Output)
			require.Contains(t, string(res.Output), "hello-conformance", "the input reached the agent")
			require.Contains(t, string(res.Output), "[REDACTED]", "the secret reached the agent and was scrubbed from its output")
			require.NotEmpty(t, res.Logs)
			for _, l := range res.Logs {
				require.False(t, l.Time.IsZero())
				require.Contains(t, []string{executor.LevelDebug, executor.LevelInfo, executor.LevelWarn, executor.LevelError}, l.Level)
			}
			require.GreaterOrEqual(t, res.DurationMs, int64(0))
			requireNoCanary(t, res, nil)
		}
	})
	t.Run("failure cause is scrubbed", func(t *testing.T) {
		t.Parallel()
		res, err := h.Executor.Execute(context.Background(), request(h, h.Fail(t)))
		require.Error(t, err)
		var e *turbocat.StepError
		require.ErrorAs(t, err, &e)
		require.True(t, strings.HasPrefix(e.Name, strings.ToUpper(h.Type[:1])+h.Type[1:]+"."), "a %s error name: %s", h.Type, e.Name)
		require.Contains(t, e.Cause, "[REDACTED]", "the cause mentioned the secret and was scrubbed")
		requireNoCanary(t, res, err)
	})
	t.Run("step timeout", func(t *testing.T) {
		t.Parallel()
		req := request(h, h.Slow(t))
		req.Timeout = 300 * time.Millisecond
		res, err := h.Executor.Execute(context.Background(), req)
		e := requireName(t, err, h.TimeoutName)
		require.True(t, e.Retryable, "a timeout is retryable")
		requireNoCanary(t, res, err)
	})
	t.Run("cancellation", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			time.Sleep(150 * time.Millisecond)
			cancel()
		}()
		res, err := h.Executor.Execute(ctx, request(h, h.Slow(t)))
		requireName(t, err, executor.ErrCanceled)
		requireNoCanary(t, res, err)
	})
	t.Run("oversize output rejected", func(t *testing.T) {
		t.Parallel()
		res, err := h.Executor.Execute(context.Background(), request(h, h.Oversize(t)))
		requireName(t, err, h.OversizeName)
		require.Nil(t, res.Output)
	})
	t.Run("invalid config", func(t *testing.T) {
		t.Parallel()
		_, err := h.Executor.Execute(context.Background(), request(h, h.Invalid))
		requireName(t, err, executor.ErrInvalidConfig)
	})
	t.Run("unknown secret", func(t *testing.T) {
		t.Parallel()
		req := request(h, json.RawMessage(strings.ReplaceAll(string(h.Echo(t)), "secrets.CANARY", "secrets.NOT_DEFINED")))
		_, err := h.Executor.Execute(context.Background(), req)
		e := requireName(t, err, executor.ErrInvalidConfig)
		require.Contains(t, e.Cause, "NOT_DEFINED")
	})
}
