// Package agenttests is the agent-tests component of the Lambda wiring: the
// agents function runs test runs in the steprunner, invoking its published
// version, and so links no agent executor.
package agenttests

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/turbocat/turbocat/internal/awsperm"
	"github.com/turbocat/turbocat/internal/executor"
	"github.com/turbocat/turbocat/internal/lambdafn"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// AgentTests runs agent test runs in the steprunner: its published version
// (TURBOCAT_STEPRUNNER_ARN) is invoked synchronously.
func AgentTests() lambdafn.Option {
	return lambdafn.NewOption(awsperm.AgentTests, func(ctx context.Context, f *lambdafn.Function) error {
		fn, err := lambdafn.RequireEnv(awsperm.AgentTests, "TURBOCAT_STEPRUNNER_ARN")
		if err != nil {
			return err
		}
		cfg, err := f.AWS(ctx)
		if err != nil {
			return err
		}
		f.App.Agents.Runner = &remoteRunner{client: lambda.NewFromConfig(cfg), function: fn}
		f.App.Agents.MaxTestSeconds = lambdafn.MaxAgentTestSeconds
		f.App.Agents.TestLimitReason = "on AWS the API answers within API Gateway's 30-second integration timeout"
		return nil
	})
}

// remoteRunner is service.AgentRunner through the steprunner function.
type remoteRunner struct {
	client   *lambda.Client
	function string
}

// RunAgent implements service.AgentRunner. The steprunner scrubs what it
// returns: the secrets it resolved never leave it.
func (r *remoteRunner) RunAgent(ctx context.Context, userID string, agent *turbocat.Agent, req executor.Request) (executor.Result, error) {
	payload, err := json.Marshal(lambdafn.AgentTestRequest{Action: lambdafn.ActionTestAgent, UserID: userID, AgentID: agent.ID, Input: req.Input, TimeoutMs: req.Timeout.Milliseconds()})
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
	var res lambdafn.AgentTestResponse
	if err := json.Unmarshal(out.Payload, &res); err != nil {
		return executor.Result{}, fmt.Errorf("agent test run: the steprunner's answer: %w", err)
	}
	if res.Error != nil {
		return res.Result, res.Error
	}
	return res.Result, nil
}
