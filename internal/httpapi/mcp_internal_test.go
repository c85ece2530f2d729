package httpapi

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/turbocat"
)

var validToolName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

func TestToolNames(t *testing.T) {
	t.Parallel()
	dep := func(name, env, id string) *turbocat.DeployedWorkflow {
		return &turbocat.DeployedWorkflow{Name: name, Environment: env, WorkflowID: id}
	}
	long := strings.Repeat("x", 100)
	tests := []struct {
		name string
		in   []*turbocat.DeployedWorkflow
		want []string
	}{
		{"name and environment", []*turbocat.DeployedWorkflow{dep("greeter", "prod", "a1"), dep("greeter", "staging", "a1")},
			[]string{"greeter_prod", "greeter_staging"}},
		{"other characters become one _", []*turbocat.DeployedWorkflow{dep("Fan out: résumé!", "prod", "a1")}, []string{"Fan_out_r_sum__prod"}},
		{"nothing usable", []*turbocat.DeployedWorkflow{dep("???", "prod", "a1")}, []string{"__prod"}},
		{"names that clash once sanitized take the workflow id", []*turbocat.DeployedWorkflow{
			dep("a b", "prod", "11111111-aaaa"), dep("a_b", "prod", "22222222-bbbb"), dep("a-b", "prod", "33333333-cccc")},
			[]string{"a_b_11111111_prod", "a_b_22222222_prod", "a-b_prod"}},
		{"long names keep their environment", []*turbocat.DeployedWorkflow{dep(long, "production", "a1")},
			[]string{strings.Repeat("x", 53) + "_production"}},
		{"a clash the id cannot settle takes a counter", []*turbocat.DeployedWorkflow{dep(long, "prod", "same"), dep(long+"y", "prod", "same")},
			[]string{strings.Repeat("x", 54) + "_same_prod", strings.Repeat("x", 54) + "_same_pr_2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := toolNames(tt.in)
			require.Equal(t, tt.want, got)
			seen := map[string]bool{}
			for _, n := range got {
				require.Regexp(t, validToolName, n)
				require.False(t, seen[n], "%s is given twice", n)
				seen[n] = true
			}
			require.Equal(t, got, toolNames(tt.in), "the same deployments get the same names")
		})
	}
}

func TestObjectSchema(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"none", ``, `{"type":"object"}`, true},
		{"null", `null`, `{"type":"object"}`, true},
		{"object", `{"type":"object","required":["a"]}`, `{"type":"object","required":["a"]}`, true},
		{"type left open", `{"properties":{"a":{"type":"string"}}}`, `{"type":"object","properties":{"a":{"type":"string"}}}`, true},
		{"object among types", `{"type":["object","null"]}`, `{"type":"object"}`, true},
		{"no object allowed", `{"type":"string"}`, ``, false},
		{"no object among types", `{"type":["string","null"]}`, ``, false},
		{"not a schema object", `true`, ``, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := objectSchema(json.RawMessage(tt.in))
			require.Equal(t, tt.ok, ok)
			if tt.ok {
				require.JSONEq(t, tt.want, string(got))
			}
		})
	}
}

func TestRunToolResult(t *testing.T) {
	t.Parallel()
	text := func(r *mcp.CallToolResult) string { return r.Content[0].(*mcp.TextContent).Text }

	done := runToolResult(&turbocat.Execution{ID: "e1", Status: turbocat.ExecutionCompleted, OutputData: json.RawMessage(`{"a":1}`)})
	require.False(t, done.IsError)
	require.JSONEq(t, `{"a":1}`, text(done))
	require.Equal(t, json.RawMessage(`{"a":1}`), done.StructuredContent)

	list := runToolResult(&turbocat.Execution{ID: "e2", Status: turbocat.ExecutionCompleted, OutputData: json.RawMessage(`[1,2]`)})
	require.False(t, list.IsError)
	require.Equal(t, `[1,2]`, text(list))
	require.Nil(t, list.StructuredContent, "structured content is an object")

	running := runToolResult(&turbocat.Execution{ID: "e3", Status: turbocat.ExecutionRunning})
	require.False(t, running.IsError, "a run still going is no error")
	require.Contains(t, text(running), "e3 is still running after 25 seconds")
	require.Equal(t, "e3", running.Meta["executionId"])

	timedOut := runToolResult(&turbocat.Execution{ID: "e4", Status: turbocat.ExecutionTimedOut, Error: json.RawMessage(`{"error":"States.Timeout","cause":"the run took too long"}`)})
	require.True(t, timedOut.IsError)
	require.Equal(t, "The run e4 ended timed_out: States.Timeout: the run took too long", text(timedOut))
}
