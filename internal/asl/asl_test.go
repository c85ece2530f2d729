package asl_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/asl"
)

const full = `{
  "Comment": "everything",
  "StartAt": "P",
  "TimeoutSeconds": 60,
  "States": {
    "P": {"Type": "Pass", "Result": {"a": 1}, "ResultPath": null, "Next": "T"},
    "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
      "Parameters": {"FunctionName": "f", "Payload.$": "$"},
      "ResultSelector": {"p.$": "$.Payload"}, "ResultPath": "$.r", "OutputPath": "$",
      "TimeoutSeconds": 10, "HeartbeatSeconds": 5,
      "Retry": [{"ErrorEquals": ["Api.Http5xx"], "IntervalSeconds": 2, "MaxAttempts": 6, "BackoffRate": 2, "MaxDelaySeconds": 30, "JitterStrategy": "FULL"},
                {"ErrorEquals": ["States.ALL"]}],
      "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "F"}],
      "Next": "C"},
    "C": {"Type": "Choice", "Choices": [
        {"And": [{"Variable": "$.x", "NumericGreaterThan": 1}, {"Not": {"Variable": "$.y", "IsPresent": true}}], "Next": "W"},
        {"Variable": "$.s", "StringMatches": "a*", "Next": "Par"}],
      "Default": "F"},
    "W": {"Type": "Wait", "Seconds": 0, "Next": "Par"},
    "Par": {"Type": "Parallel", "Branches": [
        {"StartAt": "B1", "States": {"B1": {"Type": "Succeed"}}}],
      "Next": "M"},
    "M": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2,
      "ItemSelector": {"v.$": "$$.Map.Item.Value"},
      "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}},
      "End": true},
    "F": {"Type": "Fail", "Error": "E", "CausePath": "$.c"}
  }
}`

func TestParseRoundTrip(t *testing.T) {
	t.Parallel()
	sm, err := asl.Parse([]byte(full))
	require.NoError(t, err)

	require.True(t, sm.States["P"].ResultPath.IsNull(), "ResultPath null must survive parsing")
	require.True(t, sm.States["T"].InputPath.IsZero(), "absent InputPath stays absent")
	require.Equal(t, "$.r", sm.States["T"].ResultPath.String())
	require.Equal(t, 0, *sm.States["W"].Seconds)
	require.Equal(t, 6, sm.States["T"].Retry[0].Attempts())
	require.Equal(t, 3, sm.States["T"].Retry[1].Attempts(), "default MaxAttempts")
	require.NotNil(t, sm.States["M"].Processor())

	out, err := json.Marshal(sm)
	require.NoError(t, err)
	require.JSONEq(t, full, string(out))

	again, err := json.Marshal(sm)
	require.NoError(t, err)
	require.Equal(t, string(out), string(again), "marshalling is deterministic")
	require.Contains(t, string(out), `"ResultPath":null`)
	require.NotContains(t, string(out), `"InputPath"`)
}

func TestPathMarshal(t *testing.T) {
	t.Parallel()
	type wrap struct {
		P asl.Path `json:"P,omitzero"`
	}
	tests := []struct {
		name string
		in   asl.Path
		want string
	}{
		{"absent", asl.Path{}, `{}`},
		{"null", asl.NullPath(), `{"P":null}`},
		{"value", asl.PathOf("$.a"), `{"P":"$.a"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, err := json.Marshal(wrap{P: tc.in})
			require.NoError(t, err)
			require.Equal(t, tc.want, string(b))
			var back wrap
			require.NoError(t, json.Unmarshal(b, &back))
			require.Equal(t, tc.in, back.P)
		})
	}
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		def  string
		want string
	}{
		{"missing StartAt target", `{"StartAt":"X","States":{"A":{"Type":"Succeed"}}}`, `StartAt "X" is not a state`},
		{"bad Next", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"}}}`, `state "A": Next "B" is not a state`},
		{"no Next or End", `{"StartAt":"A","States":{"A":{"Type":"Pass"}}}`, `state "A": one of Next or End is required`},
		{"both Next and End", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B","End":true},"B":{"Type":"Succeed"}}}`, `state "A": Next and End cannot both be set`},
		{"Succeed with End", `{"StartAt":"A","States":{"A":{"Type":"Succeed","End":true}}}`, `state "A": a Succeed state cannot have End`},
		{"Retry on Pass", `{"StartAt":"A","States":{"A":{"Type":"Pass","End":true,"Retry":[{"ErrorEquals":["States.ALL"]}]}}}`, `state "A": field Retry is not allowed in a Pass state`},
		{"Catch on Choice", `{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Variable":"$.a","IsNull":true,"Next":"B"}],"Catch":[{"ErrorEquals":["States.ALL"],"Next":"B"}]},"B":{"Type":"Succeed"}}}`, `state "A": field Catch is not allowed in a Choice state`},
		{"unreachable", `{"StartAt":"A","States":{"A":{"Type":"Succeed"},"B":{"Type":"Succeed"}}}`, `state "B": state is not reachable`},
		{"unknown type", `{"StartAt":"A","States":{"A":{"Type":"Nope"}}}`, `state "A": unknown state Type "Nope"`},
		{"States.ALL not last", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"f","End":true,"Retry":[{"ErrorEquals":["States.ALL"]},{"ErrorEquals":["X"]}]}}}`, `States.ALL must appear alone`},
		{"Wait without duration", `{"StartAt":"A","States":{"A":{"Type":"Wait","End":true}}}`, `exactly one of Seconds`},
		{"Task without Resource", `{"StartAt":"A","States":{"A":{"Type":"Task","End":true}}}`, `state "A": Resource is required`},
		{"Next across branch", `{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[{"StartAt":"B","States":{"B":{"Type":"Pass","Next":"P"}}}]}}}`, `P/branch[0]: state "B": Next "P" is not a state in this scope`},
		{"choice rule without operator", `{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Variable":"$.a","Next":"B"}]},"B":{"Type":"Succeed"}}}`, `Choices[0]: no comparison operator`},
		{"nested Next", `{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Not":{"Variable":"$.a","IsNull":true,"Next":"B"},"Next":"B"}]},"B":{"Type":"Succeed"}}}`, `nested rule cannot have Next`},
		{"Map without processor", `{"StartAt":"M","States":{"M":{"Type":"Map","End":true}}}`, `state "M": ItemProcessor is required`},
		{"unknown query language", `{"QueryLanguage":"XPath","StartAt":"A","States":{"A":{"Type":"Succeed"}}}`, `QueryLanguage "XPath" is not supported`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := asl.Parse([]byte(tc.def))
			require.Error(t, err)
			var verrs asl.ValidationErrors
			require.True(t, errors.As(err, &verrs), "got %v", err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestParseRejectsUnknownField(t *testing.T) {
	t.Parallel()
	_, err := asl.Parse([]byte(`{"StartAt":"A","States":{"A":{"Type":"Succeed","Bogus":1}}}`))
	require.Error(t, err)
	require.True(t, strings.Contains(err.Error(), "Bogus"), err.Error())
}

func TestValidateBuiltMachine(t *testing.T) {
	t.Parallel()
	sm := &asl.StateMachine{
		StartAt: "A",
		States: map[string]*asl.State{
			"A": {Type: asl.TypePass, ResultPath: asl.NullPath(), Next: "B"},
			"B": {Type: asl.TypeSucceed},
		},
	}
	require.NoError(t, sm.Validate())
	b, err := json.Marshal(sm)
	require.NoError(t, err)
	require.Equal(t, `{"StartAt":"A","States":{"A":{"Type":"Pass","ResultPath":null,"Next":"B"},"B":{"Type":"Succeed"}}}`, string(b))
}
