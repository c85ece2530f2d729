package service

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/turbocat"
	"github.com/turbocat/turbocat/internal/workflowcheck/workflowchecktest"
)

// TestWorkflowCasesThroughTheService: the shared table of validation cases
// (the CLI's validate runs the same) gets the same answer from the API's
// service: valid ones are stored, the others refused with exactly the
// problems listed (issue 18, item 3).
func TestWorkflowCasesThroughTheService(t *testing.T) {
	t.Parallel()
	for _, tc := range workflowchecktest.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			var in WorkflowInput
			require.NoError(t, json.Unmarshal([]byte(tc.Workflow), &in))
			wfs := &workflowStore{}
			s := &Workflows{Store: wfs, Agents: &agentStore{owned: map[string]bool{"ag": true}}}
			_, err := s.Create(context.Background(), &turbocat.Actor{UserID: "u1"}, in)
			if len(tc.Want) == 0 {
				require.NoError(t, err)
				require.Len(t, wfs.created, 1)
				return
			}
			e := turbocat.AsError(err)
			require.NotNil(t, e, "%v", err)
			require.Len(t, e.Details, len(tc.Want), "%+v", e.Details)
			for _, w := range tc.Want {
				found := false
				for _, d := range e.Details {
					if d.Field == w.Field {
						require.Contains(t, d.Message, w.Contains)
						found = true
					}
				}
				require.True(t, found, "no problem on %s in %+v", w.Field, e.Details)
			}
		})
	}
}
