package catalog_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/catalog"
	"github.com/turbocat/turbocat/internal/executor"
	"github.com/turbocat/turbocat/internal/turbocat"
)

func TestBuiltinsAreValid(t *testing.T) {
	t.Parallel()
	ts, err := catalog.Builtins()
	require.NoError(t, err)
	kinds := map[string]int{}
	names := map[string]bool{}
	for _, tpl := range ts {
		kinds[tpl.Kind]++
		require.False(t, names[tpl.Name], "duplicate name %q", tpl.Name)
		names[tpl.Name] = true
		require.NotEmpty(t, tpl.Description, tpl.Name)
		if tpl.Kind == turbocat.TemplateAgent {
			require.NoError(t, executor.ValidateConfig(tpl.AgentType, tpl.Definition), tpl.Name)
		}
	}
	require.GreaterOrEqual(t, kinds[turbocat.TemplateAgent], 8)
	require.GreaterOrEqual(t, kinds[turbocat.TemplateWorkflow], 2)
}
