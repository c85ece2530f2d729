package lambdafn

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/turbocat/turbocat/internal/app"
	"github.com/turbocat/turbocat/internal/executor"
	"github.com/turbocat/turbocat/internal/secrets"
	"github.com/turbocat/turbocat/internal/steprunner"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// ActionTestAgent is the steprunner payload action of an agent test run
// (POST /agents/{id}/test): the agents function does not link the agent
// executors (the JavaScript engine, the model SDKs); it invokes the
// steprunner, which runs the agent as a step would and answers with the
// result, every secret value already scrubbed.
const ActionTestAgent = "test-agent"

// AgentTestRequest is the payload of ActionTestAgent.
type AgentTestRequest struct {
	Action    string          `json:"action"`
	UserID    string          `json:"userId"`
	AgentID   string          `json:"agentId"`
	Input     json.RawMessage `json:"input"`
	TimeoutMs int64           `json:"timeoutMs"`
}

// AgentTestResponse is the steprunner's answer to ActionTestAgent.
type AgentTestResponse struct {
	Result executor.Result     `json:"result"`
	Error  *turbocat.StepError `json:"error,omitempty"`
}

// testAgent serves ActionTestAgent in the steprunner.
func testAgent(ctx context.Context, a *app.App, r *steprunner.Runner, raw json.RawMessage) (json.RawMessage, error) {
	var req AgentTestRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return nil, fmt.Errorf("test-agent payload: %w", err)
	}
	agent, err := a.DB.Agent(ctx, req.UserID, req.AgentID)
	if err != nil {
		return nil, err
	}
	scrub := secrets.NewScrubber()
	res, runErr := r.RunAgent(ctx, req.UserID, agent, executor.Request{Input: req.Input, Timeout: time.Duration(req.TimeoutMs) * time.Millisecond, Scrubber: scrub})
	res.Output = scrub.JSON(res.Output)
	for i := range res.Logs {
		res.Logs[i].Message = scrub.String(res.Logs[i].Message)
		res.Logs[i].Data = scrub.JSON(res.Logs[i].Data)
	}
	resp := AgentTestResponse{Result: res}
	if runErr != nil {
		xe := executor.AsError(runErr, "")
		xe.Cause = scrub.String(xe.Cause)
		resp.Error = xe
	}
	return json.Marshal(resp)
}
