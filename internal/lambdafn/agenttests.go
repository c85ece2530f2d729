package lambdafn

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/turbocat/turbocat/internal/app"
	"github.com/turbocat/turbocat/internal/awsperm"
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

// agentTestRequest is the payload of ActionTestAgent.
type agentTestRequest struct {
	Action    string          `json:"action"`
	UserID    string          `json:"userId"`
	AgentID   string          `json:"agentId"`
	Input     json.RawMessage `json:"input"`
	TimeoutMs int64           `json:"timeoutMs"`
}

// agentTestResponse is the steprunner's answer to ActionTestAgent.
type agentTestResponse struct {
	Result executor.Result     `json:"result"`
	Error  *turbocat.StepError `json:"error,omitempty"`
}

// AgentTests runs agent test runs in the steprunner: its published version
// (TURBOCAT_STEPRUNNER_ARN) is invoked synchronously.
func AgentTests() Option {
	return Option{component: awsperm.AgentTests, wire: func(ctx context.Context, f *Function) error {
		fn, err := requireEnv(awsperm.AgentTests, "TURBOCAT_STEPRUNNER_ARN")
		if err != nil {
			return err
		}
		cfg, err := f.AWS(ctx)
		if err != nil {
			return err
		}
		f.App.Agents.Runner = &remoteRunner{client: lambda.NewFromConfig(cfg), function: fn}
		f.App.Agents.MaxTestSeconds = MaxAgentTestSeconds
		f.App.Agents.TestLimitReason = "on AWS the API answers within API Gateway's 30-second integration timeout"
		return nil
	}}
}

// remoteRunner is service.AgentRunner through the steprunner function.
type remoteRunner struct {
	client   *lambda.Client
	function string
}

// RunAgent implements service.AgentRunner. The steprunner scrubs what it
// returns: the secrets it resolved never leave it.
func (r *remoteRunner) RunAgent(ctx context.Context, userID string, agent *turbocat.Agent, req executor.Request) (executor.Result, error) {
	payload, err := json.Marshal(agentTestRequest{Action: ActionTestAgent, UserID: userID, AgentID: agent.ID, Input: req.Input, TimeoutMs: req.Timeout.Milliseconds()})
	if err != nil {
		return executor.Result{}, err
	}
	out, err := r.client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(r.function), Payload: payload})
	if err != nil {
		return executor.Result{}, fmt.Errorf("agent test run: invoke the steprunner: %w", err)
	}
	if out.FunctionError != nil {
		return executor.Result{}, fmt.Errorf("agent test run: the steprunner failed (%s): %s", aws.ToString(out.FunctionError), out.Payload)
	}
	var res agentTestResponse
	if err := json.Unmarshal(out.Payload, &res); err != nil {
		return executor.Result{}, fmt.Errorf("agent test run: the steprunner's answer: %w", err)
	}
	if res.Error != nil {
		return res.Result, res.Error
	}
	return res.Result, nil
}

// testAgent serves ActionTestAgent in the steprunner.
func testAgent(ctx context.Context, a *app.App, r *steprunner.Runner, raw json.RawMessage) (json.RawMessage, error) {
	var req agentTestRequest
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
	resp := agentTestResponse{Result: res}
	if runErr != nil {
		xe := executor.AsError(runErr, "")
		xe.Cause = scrub.String(xe.Cause)
		resp.Error = xe
	}
	return json.Marshal(resp)
}
