package sfnapi

import (
	"context"

	"github.com/turbocat/turbocat/internal/runtime"
)

type startIn struct {
	StateMachineArn, Name, Input, TraceHeader string
}

func (h *Handler) startExecution(ctx context.Context, in startIn) (any, error) {
	out, err := h.rt.StartExecution(ctx, runtime.StartInput{StateMachineArn: in.StateMachineArn, Name: in.Name, Input: in.Input})
	if err != nil {
		return nil, err
	}
	return obj{"executionArn": out.ExecutionArn, "startDate": ep(out.StartDate)}, nil
}

func (h *Handler) executionJSON(ex *runtime.Execution) obj {
	redrive, why := h.rt.RedriveStatus(ex)
	res := obj{
		"executionArn": ex.ExecutionArn, "stateMachineArn": ex.StateMachineArn, "name": ex.Name, "status": ex.Status,
		"startDate": ep(ex.StartDate), "input": string(ex.Input), "inputDetails": obj{"included": true},
		"redriveCount": ex.RedriveCount, "redriveStatus": redrive,
	}
	if why != "" {
		res["redriveStatusReason"] = why
	}
	if !ex.RedriveDate.IsZero() {
		res["redriveDate"] = ep(ex.RedriveDate)
	}
	if !ex.StopDate.IsZero() {
		res["stopDate"] = ep(ex.StopDate)
	}
	if ex.Output != nil {
		res["output"] = string(ex.Output)
		res["outputDetails"] = obj{"included": true}
	}
	if ex.Error != "" {
		res["error"] = ex.Error
	}
	if ex.Cause != "" {
		res["cause"] = ex.Cause
	}
	if ex.StateMachineVersionArn != "" {
		res["stateMachineVersionArn"] = ex.StateMachineVersionArn
	}
	if ex.StateMachineAliasArn != "" {
		res["stateMachineAliasArn"] = ex.StateMachineAliasArn
	}
	return res
}

func (h *Handler) startSyncExecution(ctx context.Context, in startIn) (any, error) {
	ex, err := h.rt.StartSyncExecution(ctx, runtime.StartInput{StateMachineArn: in.StateMachineArn, Name: in.Name, Input: in.Input, ExpressOnly: true})
	if err != nil {
		return nil, err
	}
	res := h.executionJSON(ex)
	for _, k := range []string{"redriveCount", "redriveStatus", "redriveStatusReason", "redriveDate"} {
		delete(res, k)
	}
	res["billingDetails"] = obj{"billedDurationInMilliseconds": ex.StopDate.Sub(ex.StartDate).Milliseconds(), "billedMemoryUsedInMB": 64}
	return res, nil
}

func (h *Handler) stopExecution(ctx context.Context, in struct{ ExecutionArn, Error, Cause string }) (any, error) {
	at, err := h.rt.StopExecution(ctx, in.ExecutionArn, in.Error, in.Cause)
	if err != nil {
		return nil, err
	}
	return obj{"stopDate": ep(at)}, nil
}

func (h *Handler) describeExecution(ctx context.Context, in struct{ ExecutionArn string }) (any, error) {
	ex, err := h.rt.DescribeExecution(ctx, in.ExecutionArn)
	if err != nil {
		return nil, err
	}
	return h.executionJSON(ex), nil
}

// statusFilters are the values ListExecutions's statusFilter takes.
var statusFilters = map[string]bool{"": true, "RUNNING": true, "SUCCEEDED": true, "FAILED": true, "TIMED_OUT": true, "ABORTED": true, "PENDING_REDRIVE": true}

func (h *Handler) listExecutions(ctx context.Context, in listIn) (any, error) {
	if !statusFilters[in.StatusFilter] {
		return nil, validation("Value '%s' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE]", in.StatusFilter)
	}
	if in.StateMachineArn != "" {
		if _, err := h.rt.DescribeStateMachine(ctx, in.StateMachineArn); err != nil {
			if _, aerr := h.rt.DescribeStateMachineAlias(ctx, in.StateMachineArn); aerr != nil {
				return nil, err
			}
		}
	}
	var items []obj
	for _, ex := range h.rt.ListExecutions(ctx, runtime.ListExecutionsInput{StateMachineArn: in.StateMachineArn, StatusFilter: in.StatusFilter}) {
		e := obj{"executionArn": ex.ExecutionArn, "stateMachineArn": ex.StateMachineArn, "name": ex.Name, "status": ex.Status, "startDate": ep(ex.StartDate)}
		if !ex.StopDate.IsZero() {
			e["stopDate"] = ep(ex.StopDate)
		}
		if ex.StateMachineVersionArn != "" {
			e["stateMachineVersionArn"] = ex.StateMachineVersionArn
		}
		if ex.StateMachineAliasArn != "" {
			e["stateMachineAliasArn"] = ex.StateMachineAliasArn
		}
		items = append(items, e)
	}
	p, next, err := page(items, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return withToken(obj{"executions": nonNil(p)}, next), nil
}

func (h *Handler) getExecutionHistory(ctx context.Context, in listIn) (any, error) {
	evs, err := h.rt.GetExecutionHistory(ctx, in.ExecutionArn)
	if err != nil {
		return nil, err
	}
	if in.ReverseOrder {
		for i, j := 0, len(evs)-1; i < j; i, j = i+1, j-1 {
			evs[i], evs[j] = evs[j], evs[i]
		}
	}
	p, next, err := page(evs, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return withToken(obj{"events": nonNil(p)}, next), nil
}

func (h *Handler) sendTaskSuccess(ctx context.Context, in struct{ TaskToken, Output string }) (any, error) {
	return obj{}, h.rt.SendTaskSuccess(ctx, in.TaskToken, in.Output)
}

func (h *Handler) sendTaskFailure(ctx context.Context, in struct{ TaskToken, Error, Cause string }) (any, error) {
	return obj{}, h.rt.SendTaskFailure(ctx, in.TaskToken, in.Error, in.Cause)
}

func (h *Handler) sendTaskHeartbeat(ctx context.Context, in struct{ TaskToken string }) (any, error) {
	return obj{}, h.rt.SendTaskHeartbeat(ctx, in.TaskToken)
}

type redriveIn struct{ ExecutionArn, ClientToken string }

func (h *Handler) redriveExecution(ctx context.Context, in redriveIn) (any, error) {
	at, err := h.rt.RedriveExecution(ctx, in.ExecutionArn)
	if err != nil {
		return nil, err
	}
	return obj{"redriveDate": ep(at)}, nil
}
