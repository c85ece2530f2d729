package runtime

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
)

// The states:startExecution service integration runs another state machine
// of this runtime as a child execution:
//
//   - arn:aws:states:::states:startExecution starts it and returns
//     {ExecutionArn, StartDate};
//   - .sync waits for it and returns its description, Input and Output as
//     JSON strings;
//   - .sync:2 does the same with Input and Output parsed as JSON.
//
// A child that fails, times out or is aborted fails the Task with
// States.TaskFailed, its description (with the child's Error and Cause) as
// the cause. Stopping the parent stops a .sync child. A child started
// without a Name gets one derived from the parent execution, the state and
// the attempt, so a resumed parent finds the child it started before the
// restart instead of starting another.

type startExecutionParams struct {
	StateMachineArn string
	Name            string
	Input           any
}

func (ru *run) startExecutionFunction(cs *cstate, th *thread, attempt int) Function {
	mode := cs.syncMode
	r := ru.r
	parent := ru.ex.rec
	return func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
		v, err := decodeJSON(payload)
		if err != nil {
			return nil, err
		}
		m, _ := v.(map[string]any)
		var p startExecutionParams
		p.StateMachineArn, _ = m["StateMachineArn"].(string)
		p.Name, _ = m["Name"].(string)
		p.Input = m["Input"]
		if p.StateMachineArn == "" {
			return nil, &TaskError{Name: "StepFunctions.ValidationException", Cause: "StateMachineArn is required"}
		}
		input := "{}"
		switch x := p.Input.(type) {
		case nil:
		case string:
			input = x // the input as JSON text
		default:
			b, err := encodeJSON(x)
			if err != nil {
				return nil, err
			}
			input = string(b)
		}
		name := p.Name
		if name == "" {
			sum := sha256.Sum256([]byte(fmt.Sprintf("%s|%s|%d|%d", parent.ExecutionArn, th.key, th.seq, attempt)))
			name = truncate(parent.Name, 40) + "-" + hex.EncodeToString(sum[:12])
		}
		start := StartInput{StateMachineArn: p.StateMachineArn, Name: name, Input: input}
		out, err := r.StartExecution(context.WithoutCancel(ctx), start)
		var arn string
		switch {
		case err == nil:
			arn = out.ExecutionArn
		case ErrorCode(err) == CodeExecutionAlreadyExists:
			// Started before a restart: the same child if the input matches.
			p, perr := r.prepareStart(start)
			if perr != nil {
				return nil, serviceError(err)
			}
			old, derr := r.DescribeExecution(ctx, p.rec.ExecutionArn)
			if derr != nil || !jsonSame(old.Input, []byte(input)) {
				return nil, serviceError(err)
			}
			arn = old.ExecutionArn
		default:
			return nil, serviceError(err)
		}
		if mode == "" {
			ex, err := r.DescribeExecution(ctx, arn)
			if err != nil {
				return nil, serviceError(err)
			}
			return encodeJSON(map[string]any{"ExecutionArn": arn, "StartDate": json.Number(fmt.Sprint(ex.StartDate.UnixMilli()))})
		}
		ex, err := r.Wait(ctx, arn)
		if err != nil {
			// The parent stopped (or timed out): so does its child. When
			// the runtime is closing both stay RUNNING, to be resumed.
			if ctx.Err() != nil && !errors.Is(context.Cause(ctx), errClosing) {
				_, _ = r.StopExecution(context.WithoutCancel(ctx), arn, "", "The parent execution "+parent.ExecutionArn+" was stopped.")
			}
			return nil, err
		}
		desc := childDescription(ex, mode == ".sync:2")
		if ex.Status != StatusSucceeded {
			b, _ := encodeJSON(desc)
			return nil, &TaskError{Name: ErrTaskFailed, Cause: string(b)}
		}
		return encodeJSON(desc)
	}
}

// childDescription is the DescribeExecution response a .sync Task
// returns, with Input and Output parsed when parsed is set (.sync:2).
func childDescription(ex *Execution, parsed bool) map[string]any {
	d := map[string]any{
		"ExecutionArn": ex.ExecutionArn, "StateMachineArn": ex.StateMachineArn, "Name": ex.Name, "Status": ex.Status,
		"StartDate": json.Number(fmt.Sprint(ex.StartDate.UnixMilli())), "StopDate": json.Number(fmt.Sprint(ex.StopDate.UnixMilli())),
		"Input": string(ex.Input), "InputDetails": map[string]any{"Included": true},
	}
	if ex.Output != nil {
		d["Output"] = string(ex.Output)
		d["OutputDetails"] = map[string]any{"Included": true}
	}
	if parsed {
		if v, err := decodeJSON(ex.Input); err == nil {
			d["Input"] = v
		}
		if ex.Output != nil {
			if v, err := decodeJSON(ex.Output); err == nil {
				d["Output"] = v
			}
		}
	}
	if ex.Error != "" {
		d["Error"] = ex.Error
	}
	if ex.Cause != "" {
		d["Cause"] = ex.Cause
	}
	return d
}

// serviceError names an API error as the service integration reports it:
// StepFunctions.<the API's error code>, e.g.
// StepFunctions.StateMachineDoesNotExist (the AWS documentation retries
// StepFunctions.ExecutionLimitExceeded).
func serviceError(err error) error {
	var e *Error
	if !asError(err, &e) {
		return err
	}
	return &TaskError{Name: "StepFunctions." + e.Code, Cause: e.Message}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
