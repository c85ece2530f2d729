package asl_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/asl"
)

const jsonataMachine = `{
  "QueryLanguage": "JSONata",
  "StartAt": "T",
  "States": {
    "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
      "Arguments": {"FunctionName": "f", "Payload": "{% $states.input %}"},
      "TimeoutSeconds": "{% $timeout %}",
      "Output": "{% $states.result.Payload %}",
      "Assign": {"count": "{% $count($states.result.Payload.items) %}"},
      "Catch": [{"ErrorEquals": ["States.ALL"], "Output": "{% $states.errorOutput %}", "Assign": {"failed": true}, "Next": "F"}],
      "Next": "C"},
    "C": {"Type": "Choice", "Choices": [{"Condition": "{% $count > 2 %}", "Next": "M", "Assign": {"many": true}}], "Default": "W"},
    "W": {"Type": "Wait", "Seconds": "{% $count %}", "Next": "M"},
    "M": {"Type": "Map", "Items": "{% $states.input.items %}", "MaxConcurrency": "{% 2 %}",
      "ItemSelector": {"v": "{% $states.context.Map.Item.Value %}"},
      "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "Output": {"x": "{% $states.input.v %}"}, "End": true}}},
      "End": true},
    "F": {"Type": "Fail", "Error": "{% $states.input.Error %}", "Cause": "boom"}
  }
}`

func TestParseJSONataMachine(t *testing.T) {
	t.Parallel()
	sm, err := asl.Parse([]byte(jsonataMachine))
	require.NoError(t, err)
	require.Equal(t, "{% $timeout %}", sm.States["T"].Exprs["TimeoutSeconds"])
	require.Nil(t, sm.States["T"].TimeoutSeconds)
	require.Equal(t, "{% $count %}", sm.States["W"].Exprs["Seconds"])
	require.Equal(t, `"{% $count > 2 %}"`, string(sm.States["C"].Choices[0].Condition))
	require.Equal(t, []string{"count"}, asl.AssignNames(sm.States["T"].Assign, true))
	out, err := json.Marshal(sm)
	require.NoError(t, err)
	require.JSONEq(t, jsonataMachine, string(out), "expressions in numeric fields survive marshalling")
}

func TestQueryLanguageRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, def, code, location, msg string
	}{
		{"JSONPath field in a JSONata state",
			`{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"a":1},"End":true}}}`,
			asl.CodeInvalidQuery, "/States/A/Parameters", "field Parameters is not supported in JSONata states; use Arguments"},
		{"ResultPath in a JSONata state",
			`{"StartAt":"A","States":{"A":{"Type":"Task","QueryLanguage":"JSONata","Resource":"f","ResultPath":"$.x","End":true}}}`,
			asl.CodeInvalidQuery, "/States/A/ResultPath", "field ResultPath is not supported in JSONata states"},
		{"JSONata field in a JSONPath state",
			`{"StartAt":"A","States":{"A":{"Type":"Pass","Output":{"a":1},"End":true}}}`,
			asl.CodeInvalidQuery, "/States/A/Output", "field Output is only supported in JSONata states"},
		{"expression in a JSONPath number",
			`{"StartAt":"A","States":{"A":{"Type":"Wait","Seconds":"{% 1 %}","End":true}}}`,
			asl.CodeInvalidQuery, "/States/A/Seconds", "field Seconds must be a number in JSONPath states"},
		{"JSONPath state in a JSONata machine",
			`{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","QueryLanguage":"JSONPath","End":true}}}`,
			asl.CodeInvalidQuery, "/States/A/QueryLanguage", "cannot use JSONPath"},
		{"choice Variable in JSONata",
			`{"QueryLanguage":"JSONata","StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.a","IsNull":true,"Next":"D"}],"Default":"D"},"D":{"Type":"Succeed"}}}`,
			asl.CodeSchema, "/States/C/Choices/0/Condition", "Condition is required"},
		{"Condition in JSONPath",
			`{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Condition":"{% true %}","Variable":"$.a","IsNull":true,"Next":"D"}]},"D":{"Type":"Succeed"}}}`,
			asl.CodeInvalidQuery, "/States/C/Choices/0/Condition", "Condition is only supported in JSONata states"},
		{"Catch ResultPath in JSONata",
			`{"QueryLanguage":"JSONata","StartAt":"T","States":{"T":{"Type":"Task","Resource":"f","Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.e","Next":"D"}],"End":true},"D":{"Type":"Succeed"}}}`,
			asl.CodeInvalidQuery, "/States/T/Catch/0/ResultPath", "use Output"},
		{"reserved variable", `{"StartAt":"A","States":{"A":{"Type":"Pass","Assign":{"states":1},"End":true}}}`,
			asl.CodeInvalidVariable, "/States/A/Assign/states", "reserved variable name"},
		{"bad variable name", `{"StartAt":"A","States":{"A":{"Type":"Pass","Assign":{"1x":1},"End":true}}}`,
			asl.CodeInvalidVariable, "/States/A/Assign/1x", "not a valid variable name"},
		{"variable assigned twice", `{"StartAt":"A","States":{"A":{"Type":"Pass","Assign":{"x":1,"x.$":"$.a"},"End":true}}}`,
			asl.CodeInvalidVariable, "/States/A/Assign/x.$", "assigned twice"},
		{"Assign on Succeed", `{"StartAt":"A","States":{"A":{"Type":"Succeed","Assign":{"x":1}}}}`,
			asl.CodeSchema, "/States/A/Assign", "field Assign is not allowed in a Succeed state"},
		{"unknown field located", `{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[{"StartAt":"B","States":{"B":{"Type":"Succeed","Bogus":1}}}]}}}`,
			asl.CodeSchema, "/States/P/Branches/0/States/B/Bogus", `field "Bogus" is not supported`},
		{"missing target located", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Nope"}}}`,
			asl.CodeMissingTarget, "/States/A/Next", `Next "Nope" is not a state`},
		{"wrong type located", `{"StartAt":"A","States":{"A":{"Type":"Pass","End":"yes"}}}`,
			asl.CodeSchema, "/States/A/End", "field End must be a boolean, got string"},
		{"not JSON", `{"StartAt":`, asl.CodeInvalidJSON, "", "not valid JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, diags := asl.Check([]byte(tc.def))
			var found *asl.ValidationError
			for _, d := range diags {
				if d.Location == tc.location && d.Code == tc.code {
					found = d
				}
			}
			require.NotNil(t, found, "no %s at %q in %v", tc.code, tc.location, diags)
			require.Contains(t, found.Msg, tc.msg)
			_, err := asl.Parse([]byte(tc.def))
			require.Error(t, err)
		})
	}
}
