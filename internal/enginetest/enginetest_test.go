package enginetest_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/enginetest"
	"github.com/turbocat/turbocat/internal/runtime"
)

// TestRuntimeEngine runs the suite against the local runtime in process.
func TestRuntimeEngine(t *testing.T) {
	t.Parallel()
	enginetest.Run(t, func(t *testing.T) *enginetest.Harness {
		rt, err := runtime.New(context.Background(), runtime.Options{})
		require.NoError(t, err)
		t.Cleanup(rt.Close)
		return &enginetest.Harness{
			Engine: runtime.Engine{R: rt},
			Register: func(name string, fn enginetest.Func) {
				rt.RegisterFunction(name, func(ctx context.Context, p json.RawMessage) (json.RawMessage, error) { return fn(ctx, p) })
			},
		}
	})
}
