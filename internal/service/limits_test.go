package service_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/service"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// TestStepTimeoutsStopAtTheLambdaLimit: a step runs in one invocation of
// the steprunner, and a Lambda function runs at most 900 s, so a longer
// step timeout is refused when the workflow is saved — on every engine, so
// a workflow accepted by turbocat dev also deploys to AWS — with a message
// naming the limit.
func TestStepTimeoutsStopAtTheLambdaLimit(t *testing.T) {
	t.Parallel()
	shape := func(timeout int) []turbocat.FieldError {
		w := &turbocat.Workflow{Name: "long", Steps: []turbocat.WorkflowStep{{Key: "wait", AgentID: "a", Inputs: json.RawMessage(`{}`), TimeoutSeconds: timeout}}}
		return service.ValidateWorkflowShape(w, 500)
	}
	require.Empty(t, shape(service.MaxStepTimeoutSeconds))
	details := shape(service.MaxStepTimeoutSeconds + 1)
	require.Len(t, details, 1)
	require.Equal(t, "steps[0].timeoutSeconds", details[0].Field)
	require.Contains(t, details[0].Message, "must be 1 to 900")
	require.Contains(t, details[0].Message, "steprunner Lambda function, which runs at most 900 seconds")
}
