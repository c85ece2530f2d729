package sfn_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/sfn"
	"github.com/turbocat/turbocat/internal/turbocat"
)

func TestSubstitute(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"StepRunnerFunctionArn": "arn:aws:lambda:us-east-1:1:function:runner", "Quote": `a"b\c`}
	cases := []struct {
		name, def, want, errHas string
	}{
		{"replaces", `{"FunctionName":"${StepRunnerFunctionArn}"}`, `{"FunctionName":"arn:aws:lambda:us-east-1:1:function:runner"}`, ""},
		{"every occurrence", `["${StepRunnerFunctionArn}","${StepRunnerFunctionArn}"]`,
			`["arn:aws:lambda:us-east-1:1:function:runner","arn:aws:lambda:us-east-1:1:function:runner"]`, ""},
		{"escapes for JSON", `{"x":"${Quote}"}`, `{"x":"a\"b\\c"}`, ""},
		{"no placeholders", `{"a":"$.b","c":"{}"}`, `{"a":"$.b","c":"{}"}`, ""},
		{"not a placeholder", `{"a":"${not-a-name}","b":"${}"}`, `{"a":"${not-a-name}","b":"${}"}`, ""},
		{"unknown", `{"a":"${Missing}","b":"${Other}","c":"${Missing}"}`, "", "unknown placeholders Missing, Other (known: Quote, StepRunnerFunctionArn)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := sfn.Substitute([]byte(c.def), vars)
			if c.errHas != "" {
				require.Equal(t, turbocat.EVALIDATION, turbocat.ErrorCodeOf(err))
				require.Contains(t, err.Error(), c.errHas)
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.want, string(got))
			require.True(t, json.Valid(got))
		})
	}
}

func TestExecutionArn(t *testing.T) {
	t.Parallel()
	cases := []struct {
		target, want string
		ok           bool
	}{
		{"arn:aws:states:eu-west-1:123:stateMachine:flow", "arn:aws:states:eu-west-1:123:execution:flow:run-1", true},
		{"arn:aws:states:eu-west-1:123:stateMachine:flow:7", "arn:aws:states:eu-west-1:123:execution:flow:run-1", true},
		{"arn:aws:states:eu-west-1:123:stateMachine:flow:live", "arn:aws:states:eu-west-1:123:execution:flow:run-1", true},
		{"arn:aws-cn:states:cn-north-1:123:stateMachine:flow", "arn:aws-cn:states:cn-north-1:123:execution:flow:run-1", true},
		{"arn:aws:lambda:eu-west-1:123:function:flow", "", false},
		{"flow", "", false},
	}
	for _, c := range cases {
		got, ok := sfn.ExecutionArn(c.target, "run-1")
		require.Equal(t, c.ok, ok, c.target)
		require.Equal(t, c.want, got, c.target)
	}
}
