package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

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

// StartExecution implements turbocat.Engine. Starting a finished
// execution's name again with the same input returns that execution, as for
// a running one.
func (e Engine) StartExecution(ctx context.Context, target, name string, input []byte) (string, error) {
	out, err := e.R.StartExecution(ctx, StartInput{StateMachineArn: target, Name: name, Input: string(input)})
	if ErrorCode(err) == CodeExecutionAlreadyExists {
		for _, x := range e.R.ListExecutions(ctx, ListExecutionsInput{}) {
			if x.Name == name && sameJSON(x.Input, input) {
				return x.ExecutionArn, nil
			}
		}
	}
	if err != nil {
		return "", domainError(err)
	}
	return out.ExecutionArn, nil
}

func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// StopExecution implements turbocat.Engine.
func (e Engine) StopExecution(ctx context.Context, ref, errName, cause string) error {
	if _, err := e.R.StopExecution(ctx, ref, errName, cause); err != nil {
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

// SendTaskSuccess implements turbocat.Engine.
func (e Engine) SendTaskSuccess(ctx context.Context, token string, output []byte) error {
	if len(output) == 0 {
		output = []byte("{}")
	}
	if err := e.R.SendTaskSuccess(ctx, token, string(output)); err != nil {
		return domainError(err)
	}
	return nil
}

// SendTaskFailure implements turbocat.Engine.
func (e Engine) SendTaskFailure(ctx context.Context, token, errName, cause string) error {
	if err := e.R.SendTaskFailure(ctx, token, errName, cause); err != nil {
		return domainError(err)
	}
	return nil
}

// domainError maps the runtime's Step Functions exceptions to domain codes.
func domainError(err error) error {
	var re *Error
	msg := err.Error()
	if errors.As(err, &re) {
		msg = re.Code + ": " + re.Message
	}
	switch ErrorCode(err) {
	case CodeStateMachineDoesNotExist, CodeExecutionDoesNotExist, CodeResourceNotFound:
		return &turbocat.Error{Code: turbocat.ENOTFOUND, Message: "engine: " + msg}
	case CodeInvalidDefinition, CodeInvalidName, CodeValidation, CodeInvalidExecutionInput, CodeInvalidArn, CodeInvalidToken, CodeInvalidOutput:
		return &turbocat.Error{Code: turbocat.EVALIDATION, Message: "engine: " + msg}
	case CodeExecutionAlreadyExists:
		return &turbocat.Error{Code: turbocat.ECONFLICT, Message: "engine: " + msg}
	case CodeTaskDoesNotExist, CodeTaskTimedOut:
		return &turbocat.Error{Code: turbocat.ENOTFOUND, Message: "engine: task token unknown, already answered or timed out: " + msg}
	}
	return fmt.Errorf("engine: %w", err)
}

// WaitExecution blocks until the execution ends or ctx is done (the API's
// ?wait=N uses it instead of polling).
func (e Engine) WaitExecution(ctx context.Context, ref string) error {
	if _, err := e.R.Wait(ctx, ref); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return domainError(err)
	}
	return nil
}

// SetAlias implements turbocat.Engine.
func (e Engine) SetAlias(ctx context.Context, name string, routing []turbocat.AliasRoute) (string, error) {
	if len(routing) == 0 {
		return "", &turbocat.Error{Code: turbocat.EVALIDATION, Message: "engine: an alias needs a version to route to"}
	}
	entries := make([]RoutingEntry, len(routing))
	for i, r := range routing {
		entries[i] = RoutingEntry{StateMachineVersionArn: r.VersionRef, Weight: r.Weight}
	}
	machine := routing[0].VersionRef
	if i := strings.LastIndexByte(machine, ':'); i > 0 {
		machine = machine[:i]
	}
	aliasArn := machine + ":" + name
	if _, err := e.R.DescribeStateMachineAlias(ctx, aliasArn); err == nil {
		if _, err := e.R.UpdateStateMachineAlias(ctx, aliasArn, "", entries); err != nil {
			return "", domainError(err)
		}
		return aliasArn, nil
	}
	a, err := e.R.CreateStateMachineAlias(ctx, CreateAliasInput{Name: name, Routing: entries})
	if err != nil {
		return "", domainError(err)
	}
	return a.Arn, nil
}
