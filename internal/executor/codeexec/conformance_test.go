package codeexec

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/executor"
	"github.com/turbocat/turbocat/internal/executor/executortest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	ex, err := New(Options{Workers: 2})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ex.Close() })
	src := func(s string) func(*testing.T) json.RawMessage {
		return func(*testing.T) json.RawMessage { return codeConfig(s, 0) }
	}
	executortest.Run(t, executortest.Harness{
		Type:         executor.TypeCode,
		Executor:     ex,
		TimeoutName:  executor.ErrCodeTimeout,
		OversizeName: executor.ErrOutputTooLarge,
		Echo: src(`function main(input){
			const s = ` + executortest.SecretRef + `;
			console.log("using secret", s);
			return {msg: input.msg, secret: s, twice: s + s}
		}`),
		Fail:     src(`function main(){ throw new Error("login failed for " + ` + executortest.SecretRef + `) }`),
		Slow:     src(`function main(){ for(;;){} }`),
		Oversize: src(`function main(){ return {big: "z".repeat(2 << 20)} }`),
		Invalid:  json.RawMessage(`{"source": 42}`),
	})
}
