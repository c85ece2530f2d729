package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"
)

// TestFlowExamples: the control-flow examples satisfy examples/schema.json
// and pass the offline checks.
func TestFlowExamples(t *testing.T) {
	t.Parallel()
	f, err := os.Open("../../examples/schema.json")
	require.NoError(t, err)
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	require.NoError(t, c.AddResource("schema.json", doc))
	sch, err := c.Compile("schema.json")
	require.NoError(t, err)

	b, err := LoadFiles("../../examples/flow")
	require.NoError(t, err)
	require.Len(t, b.Workflows, 4)
	require.True(t, b.hasConditions())
	files, err := collectFiles("../../examples/flow")
	require.NoError(t, err)
	for _, p := range files {
		raw, err := os.ReadFile(p)
		require.NoError(t, err)
		for _, d := range yamlDocs(t, bytes.NewReader(raw)) {
			require.NoError(t, sch.Validate(d), "%s", p)
		}
	}
	// The sub-workflow's callee is applied first.
	order := []string{}
	for _, w := range calleesFirst(b.Workflows) {
		order = append(order, w.Name)
	}
	require.Less(t, strings.Index(strings.Join(order, ","), "summarise-documents"), strings.Index(strings.Join(order, ","), "digest"))
}

// TestValidateControlFlow: each construct's mistakes are file:line errors
// offline.
func TestValidateControlFlow(t *testing.T) {
	t.Parallel()
	agent := "kind: Agent\nname: a\ntype: code\nconfig: {source: \"function main(i) { return i; }\"}\n---\n"
	for _, tc := range []struct{ steps, want string }{
		{"  - {key: x, agent: a, when: 'steps.y.output.ok'}\n  - {key: y, agent: a}\n", `steps[0].when: references step "y", which is not upstream`},
		{"  - {key: x, agent: a, when: '1 + 2'}\n", "must be a boolean expression"},
		{"  - {key: x, agent: a, forEach: 'docs'}\n", "steps[0].forEach: must be one template that gives a list"},
		{"  - {key: x, agent: a, inputs: {d: '{{item}}'}}\n", "only available in the inputs of a forEach step"},
		{"  - {key: x, type: wait}\n", "a wait step needs seconds or until"},
		{"  - {key: x, type: approval, agent: a}\n", "a approval step runs no agent"},
		{"  - {key: x, type: workflow}\n", "steps[0].workflow: is required"},
		{"  - {key: x, type: workflow, workflow: w}\n", "workflow cycle: w → w"},
		{"  - {key: x, type: later}\n", `steps[0].type: must be agent, wait, approval or workflow, not "later"`},
		{"  - {key: x, agent: a, onError: ignore}\n", `steps[0].onError: must be fail (the run fails) or continue`},
	} {
		dir := t.TempDir()
		body := agent + "kind: Workflow\nname: w\nsteps:\n" + tc.steps
		require.NoError(t, os.WriteFile(filepath.Join(dir, "w.yaml"), []byte(body), 0o600))
		_, err := LoadFiles(dir)
		require.Error(t, err, tc.steps)
		require.Contains(t, err.Error(), tc.want, tc.steps)
		require.Contains(t, err.Error(), "w.yaml:", "errors name the file and line")
	}
}
