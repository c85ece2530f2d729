package runtime

import (
	"context"
	"fmt"

	"github.com/turbocat/turbocat/internal/turbocat"
)

// Engine adapts a Runtime to the domain's engine interface, so `turbocat
// dev` runs workflows exactly as the sfn adapter does on AWS.
type Engine struct {
	R *Runtime
}

var _ turbocat.Engine = Engine{}

// PublishStateMachine implements turbocat.Engine.
func (e Engine) PublishStateMachine(ctx context.Context, name string, definition []byte) (string, error) {
	out, err := e.R.CreateStateMachine(ctx, CreateStateMachineInput{Name: name, Definition: string(definition), Publish: true})
	if err == nil && out.StateMachineVersionArn != "" {
		return out.StateMachineVersionArn, nil
	}
	if err != nil && ErrorCode(err) != CodeStateMachineAlreadyExists {
		return "", domainError(err)
	}
	// The machine exists (with another definition): update and publish.
	v, _, err := e.R.UpdateStateMachine(ctx, UpdateStateMachineInput{StateMachineArn: e.R.arnPrefix("stateMachine") + name, Definition: string(definition), Publish: true})
	if err != nil {
		return "", domainError(err)
	}
	return v, nil
}

// StartExecution implements turbocat.Engine.
func (e Engine) StartExecution(ctx context.Context, target, name string, input []byte) (string, error) {
	out, err := e.R.StartExecution(ctx, StartInput{StateMachineArn: target, Name: name, Input: string(input)})
	if err != nil {
		return "", domainError(err)
	}
	return out.ExecutionArn, nil
}

// StopExecution implements turbocat.Engine.
func (e Engine) StopExecution(ctx context.Context, ref, errName, cause string) error {
	_, err := e.R.StopExecution(ctx, ref, errName, cause)
	if err != nil && ErrorCode(err) != CodeExecutionDoesNotExist {
		return domainError(err)
	}
	return nil
}

// DescribeExecution implements turbocat.Engine.
func (e Engine) DescribeExecution(ctx context.Context, ref string) (*turbocat.EngineExecution, error) {
	x, err := e.R.DescribeExecution(ctx, ref)
	if err != nil {
		return nil, domainError(err)
	}
	out := &turbocat.EngineExecution{Ref: x.ExecutionArn, Name: x.Name, Status: x.Status, Error: x.Error, Cause: x.Cause, StartedAt: x.StartDate}
	if !x.StopDate.IsZero() {
		t := x.StopDate
		out.StoppedAt = &t
	}
	return out, nil
}

// domainError maps the runtime's Step Functions exceptions to domain codes.
func domainError(err error) error {
	switch ErrorCode(err) {
	case CodeStateMachineDoesNotExist, CodeExecutionDoesNotExist, CodeResourceNotFound:
		return &turbocat.Error{Code: turbocat.ENOTFOUND, Message: "engine: " + err.Error(), Err: err}
	case CodeInvalidDefinition, CodeInvalidName, CodeValidation:
		return &turbocat.Error{Code: turbocat.EVALIDATION, Message: "engine: " + err.Error(), Err: err}
	case CodeExecutionAlreadyExists:
		return &turbocat.Error{Code: turbocat.ECONFLICT, Message: "engine: " + err.Error(), Err: err}
	}
	return fmt.Errorf("engine: %w", err)
}
