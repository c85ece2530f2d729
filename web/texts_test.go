package web

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/workflowcheck"
)

// TestSkipSemanticsMatchesValidator keeps the console's explanation of
// skipping (shown next to a step's when condition) the validator's own, the
// text `turbocat validate` prints.
func TestSkipSemanticsMatchesValidator(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("lib/steps.ts")
	require.NoError(t, err)
	require.Contains(t, string(src), "'"+workflowcheck.SkipSemantics+"'",
		"web/lib/steps.ts SKIP_SEMANTICS differs from workflowcheck.SkipSemantics: copy the Go text")
}
