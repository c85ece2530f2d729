package cond_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/cond"
)

func vars(t *testing.T) cond.Vars {
	t.Helper()
	var inputs map[string]any
	require.NoError(t, json.Unmarshal([]byte(`{"lang":"fr","n":3,"tags":["a","b"]}`), &inputs))
	var out any
	require.NoError(t, json.Unmarshal([]byte(`{"label":"invoice","score":0.9}`), &out))
	return cond.Vars{
		Inputs: inputs,
		Steps: map[string]cond.Step{
			"classify": {Output: out, Status: "completed"},
			"fetch":    {Status: "failed", Error: map[string]any{"error": "Api.Http5xx", "cause": "502"}},
			"maybe":    {Status: "skipped"},
		},
		Execution: map[string]any{"id": "e1"},
	}
}

func TestEval(t *testing.T) {
	t.Parallel()
	v := vars(t)
	for _, tc := range []struct {
		expr string
		want bool
	}{
		{`steps.classify.output.label == "invoice"`, true},
		{`steps.classify.output.score > 0.5 && inputs.n >= 3`, true},
		{`inputs.n == 3`, true},
		{`"b" in inputs.tags`, true},
		{`steps.fetch.status == "failed" && steps.fetch.error.error == "Api.Http5xx"`, true},
		{`steps.maybe.status == "skipped"`, true},
		{`steps.maybe.output == null`, true},
		{`steps.maybe.status == "completed" && steps.maybe.output.x > 1`, false},
		{`has(steps.classify.output.missing)`, false},
		{`execution.id == "e1"`, true},
		{`inputs.lang != "fr"`, false},
	} {
		got, err := cond.Eval(tc.expr, v)
		require.NoError(t, err, tc.expr)
		require.Equal(t, tc.want, got, tc.expr)
	}
}

func TestEvalErrors(t *testing.T) {
	t.Parallel()
	_, err := cond.Eval(`steps.maybe.output.x > 1`, vars(t))
	require.Error(t, err, "selecting a field of null is an error the step reports")
	_, err = cond.Eval(`inputs.missing == 1`, vars(t))
	require.ErrorContains(t, err, "no such key")
}

func TestCheck(t *testing.T) {
	t.Parallel()
	keys, err := cond.Check(`steps.b.status == "failed" || steps["a"].output.ok && inputs.x > 1 && has(steps.c.output)`)
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b", "c"}, keys)

	for _, tc := range []struct{ expr, msg string }{
		{``, "empty"},
		{`steps.a.output.x >`, "invalid CEL"},
		{`foo == 1`, "undeclared reference to 'foo'"},
		{`1 + 2`, "must be a boolean expression; this one is of type int"},
		{`"x"`, "of type string"},
	} {
		_, err := cond.Check(tc.expr)
		require.Error(t, err, tc.expr)
		require.Contains(t, err.Error(), tc.msg, tc.expr)
		var ce *cond.Error
		require.ErrorAs(t, err, &ce)
	}
}
