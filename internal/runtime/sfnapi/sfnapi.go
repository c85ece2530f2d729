// Package sfnapi serves a runtime.Runtime over the AWS Step Functions JSON
// protocol (POST with X-Amz-Target: AWSStepFunctions.<Operation> and
// application/x-amz-json-1.0 bodies), so aws-sdk-go-v2, the AWS CLI and
// other Step Functions clients can drive the local runtime unmodified.
// Request signatures are accepted without being checked.
package sfnapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/turbocat/turbocat/internal/runtime"
)

// maxBody bounds request bodies (definitions and inputs are far smaller).
const maxBody = 4 << 20

// Handler is an http.Handler for the Step Functions JSON protocol.
type Handler struct {
	rt  *runtime.Runtime
	log *slog.Logger
	ops map[string]operation
}

// operation decodes a request body, runs it and returns the response value.
type operation func(ctx context.Context, body []byte) (any, error)

// op makes an operation of a typed function: it decodes the request body
// into In (a SerializationException when that fails) and returns fn's
// result for encoding.
func op[In, Out any](fn func(context.Context, In) (Out, error)) operation {
	return func(ctx context.Context, body []byte) (any, error) {
		var in In
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, &serializationError{err}
		}
		return fn(ctx, in)
	}
}

// NewHandler returns a Handler serving rt. A nil logger discards logs.
func NewHandler(rt *runtime.Runtime, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{rt: rt, log: log}
	h.ops = map[string]operation{
		"CreateStateMachine":               op(h.createStateMachine),
		"UpdateStateMachine":               op(h.updateStateMachine),
		"DescribeStateMachine":             op(h.describeStateMachine),
		"DescribeStateMachineForExecution": op(h.describeStateMachineForExecution),
		"ListStateMachines":                op(h.listStateMachines),
		"DeleteStateMachine":               op(h.deleteStateMachine),
		"PublishStateMachineVersion":       op(h.publishVersion),
		"ListStateMachineVersions":         op(h.listVersions),
		"DeleteStateMachineVersion":        op(h.deleteVersion),
		"CreateStateMachineAlias":          op(h.createAlias),
		"UpdateStateMachineAlias":          op(h.updateAlias),
		"DescribeStateMachineAlias":        op(h.describeAlias),
		"DeleteStateMachineAlias":          op(h.deleteAlias),
		"ListStateMachineAliases":          op(h.listAliases),
		"StartExecution":                   op(h.startExecution),
		"StartSyncExecution":               op(h.startSyncExecution),
		"StopExecution":                    op(h.stopExecution),
		"DescribeExecution":                op(h.describeExecution),
		"ListExecutions":                   op(h.listExecutions),
		"GetExecutionHistory":              op(h.getExecutionHistory),
		"SendTaskSuccess":                  op(h.sendTaskSuccess),
		"SendTaskFailure":                  op(h.sendTaskFailure),
		"SendTaskHeartbeat":                op(h.sendTaskHeartbeat),
	}
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "UnsupportedOperation", "only POST is supported")
		return
	}
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, "AWSStepFunctions.")
	fn := h.ops[op]
	if !ok || fn == nil {
		writeError(w, http.StatusBadRequest, "UnknownOperationException", fmt.Sprintf("unknown operation %q", target))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "SerializationException", "cannot read request body")
		return
	}
	if len(body) > maxBody {
		writeError(w, http.StatusRequestEntityTooLarge, "ValidationException", "request body too large")
		return
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		body = []byte("{}")
	}
	out, err := fn(r.Context(), body)
	if err != nil {
		var apiErr *runtime.Error
		var se *serializationError
		switch {
		case errors.As(err, &apiErr):
			writeError(w, http.StatusBadRequest, apiErr.Code, apiErr.Message)
		case errors.As(err, &se):
			writeError(w, http.StatusBadRequest, "SerializationException", se.Error())
		default:
			h.log.ErrorContext(r.Context(), "step functions operation failed", slog.String("operation", op), slog.Any("error", err))
			writeError(w, http.StatusInternalServerError, "InternalFailure", "internal error")
		}
		return
	}
	b, err := json.Marshal(out)
	if err != nil {
		h.log.ErrorContext(r.Context(), "encode response", slog.String("operation", op), slog.Any("error", err))
		writeError(w, http.StatusInternalServerError, "InternalFailure", "internal error")
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-Errortype", code)
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"__type": code, "message": msg})
	_, _ = w.Write(b)
}

type serializationError struct{ err error }

func (e *serializationError) Error() string { return "invalid request: " + e.err.Error() }

// epoch renders a time as the protocol's epoch-seconds number.
type epoch time.Time

func (e epoch) MarshalJSON() ([]byte, error) {
	t := time.Time(e)
	return []byte(strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)), nil
}

func ep(t time.Time) *epoch {
	if t.IsZero() {
		return nil
	}
	e := epoch(t)
	return &e
}

type obj = map[string]any

type createIn struct {
	Name, Definition, RoleArn, Type, VersionDescription string
	Publish                                             bool
}

func (h *Handler) createStateMachine(ctx context.Context, in createIn) (any, error) {
	out, err := h.rt.CreateStateMachine(ctx, runtime.CreateStateMachineInput{Name: in.Name, Definition: in.Definition, RoleArn: in.RoleArn,
		Type: in.Type, Publish: in.Publish, VersionDescription: in.VersionDescription})
	if err != nil {
		return nil, err
	}
	res := obj{"stateMachineArn": out.StateMachineArn, "creationDate": ep(out.CreationDate)}
	if out.StateMachineVersionArn != "" {
		res["stateMachineVersionArn"] = out.StateMachineVersionArn
	}
	return res, nil
}

type updateIn struct {
	StateMachineArn, Definition, RoleArn, VersionDescription string
	Publish                                                  bool
}

func (h *Handler) updateStateMachine(ctx context.Context, in updateIn) (any, error) {
	v, at, err := h.rt.UpdateStateMachine(ctx, runtime.UpdateStateMachineInput{StateMachineArn: in.StateMachineArn, Definition: in.Definition,
		RoleArn: in.RoleArn, Publish: in.Publish, VersionDescription: in.VersionDescription})
	if err != nil {
		return nil, err
	}
	sm, err := h.rt.DescribeStateMachine(ctx, in.StateMachineArn)
	if err != nil {
		return nil, err
	}
	res := obj{"updateDate": ep(at), "revisionId": sm.RevisionID}
	if v != "" {
		res["stateMachineVersionArn"] = v
	}
	return res, nil
}

func machineJSON(sm *runtime.StateMachine) obj {
	return obj{
		"stateMachineArn": sm.Arn, "name": sm.Name, "status": "ACTIVE", "definition": sm.Definition, "roleArn": sm.RoleArn,
		"type": sm.Type, "creationDate": ep(sm.CreationDate), "revisionId": sm.RevisionID, "description": sm.Description,
		"loggingConfiguration": obj{"level": "OFF", "includeExecutionData": false},
		"tracingConfiguration": obj{"enabled": false},
	}
}

func (h *Handler) describeStateMachine(ctx context.Context, in struct{ StateMachineArn string }) (any, error) {
	sm, err := h.rt.DescribeStateMachine(ctx, in.StateMachineArn)
	if err != nil {
		return nil, err
	}
	return machineJSON(sm), nil
}

func (h *Handler) describeStateMachineForExecution(ctx context.Context, in struct{ ExecutionArn string }) (any, error) {
	ex, err := h.rt.DescribeExecution(ctx, in.ExecutionArn)
	if err != nil {
		return nil, err
	}
	sm, err := h.rt.DescribeStateMachine(ctx, ex.StateMachineArn)
	if err != nil {
		return nil, err
	}
	return obj{"stateMachineArn": sm.Arn, "name": sm.Name, "definition": ex.Definition, "roleArn": ex.RoleArn, "updateDate": ep(sm.UpdateDate)}, nil
}

// page slices items by an opaque offset token.
func page[T any](items []T, maxResults int, token string) ([]T, string, error) {
	start := 0
	if token != "" {
		b, err := base64.RawURLEncoding.DecodeString(token)
		if err == nil {
			start, err = strconv.Atoi(string(b))
		}
		if err != nil || start < 0 || start > len(items) {
			return nil, "", &runtime.Error{Code: "InvalidToken", Message: "invalid nextToken"}
		}
	}
	if maxResults <= 0 || maxResults > 1000 {
		maxResults = 100
	}
	end := min(len(items), start+maxResults)
	next := ""
	if end < len(items) {
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
	}
	return items[start:end], next, nil
}

type listIn struct {
	StateMachineArn, StatusFilter, NextToken, ExecutionArn string
	MaxResults                                             int
	ReverseOrder                                           bool
}

func withToken(res obj, next string) obj {
	if next != "" {
		res["nextToken"] = next
	}
	return res
}

func (h *Handler) listStateMachines(ctx context.Context, in listIn) (any, error) {
	var items []obj
	for _, sm := range h.rt.ListStateMachines(ctx) {
		items = append(items, obj{"stateMachineArn": sm.Arn, "name": sm.Name, "type": sm.Type, "creationDate": ep(sm.CreationDate)})
	}
	p, next, err := page(items, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return withToken(obj{"stateMachines": nonNil(p)}, next), nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (h *Handler) deleteStateMachine(ctx context.Context, in struct{ StateMachineArn string }) (any, error) {
	return obj{}, h.rt.DeleteStateMachine(ctx, in.StateMachineArn)
}

func (h *Handler) publishVersion(ctx context.Context, in struct{ StateMachineArn, Description string }) (any, error) {
	v, err := h.rt.PublishStateMachineVersion(ctx, in.StateMachineArn, in.Description)
	if err != nil {
		return nil, err
	}
	return obj{"stateMachineVersionArn": v.Arn, "creationDate": ep(v.CreationDate)}, nil
}

func (h *Handler) listVersions(ctx context.Context, in listIn) (any, error) {
	sm, err := h.rt.DescribeStateMachine(ctx, in.StateMachineArn)
	if err != nil {
		return nil, err
	}
	var items []obj
	for i := len(sm.Versions) - 1; i >= 0; i-- {
		v := sm.Versions[i]
		items = append(items, obj{"stateMachineVersionArn": v.Arn, "creationDate": ep(v.CreationDate)})
	}
	p, next, err := page(items, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return withToken(obj{"stateMachineVersions": nonNil(p)}, next), nil
}

func (h *Handler) deleteVersion(ctx context.Context, in struct{ StateMachineVersionArn string }) (any, error) {
	return obj{}, h.rt.DeleteStateMachine(ctx, in.StateMachineVersionArn)
}

type aliasIn struct {
	Name, Description, StateMachineAliasArn string
	RoutingConfiguration                    []runtime.RoutingEntry
}

func (h *Handler) createAlias(ctx context.Context, in aliasIn) (any, error) {
	a, err := h.rt.CreateStateMachineAlias(ctx, runtime.CreateAliasInput{Name: in.Name, Description: in.Description, Routing: in.RoutingConfiguration})
	if err != nil {
		return nil, err
	}
	return obj{"stateMachineAliasArn": a.Arn, "creationDate": ep(a.CreationDate)}, nil
}

func (h *Handler) updateAlias(ctx context.Context, in aliasIn) (any, error) {
	a, err := h.rt.UpdateStateMachineAlias(ctx, in.StateMachineAliasArn, in.Description, in.RoutingConfiguration)
	if err != nil {
		return nil, err
	}
	return obj{"updateDate": ep(a.UpdateDate)}, nil
}

func (h *Handler) describeAlias(ctx context.Context, in aliasIn) (any, error) {
	a, err := h.rt.DescribeStateMachineAlias(ctx, in.StateMachineAliasArn)
	if err != nil {
		return nil, err
	}
	return obj{"stateMachineAliasArn": a.Arn, "name": a.Name, "description": a.Description, "routingConfiguration": a.Routing,
		"creationDate": ep(a.CreationDate), "updateDate": ep(a.UpdateDate)}, nil
}

func (h *Handler) deleteAlias(ctx context.Context, in aliasIn) (any, error) {
	return obj{}, h.rt.DeleteStateMachine(ctx, in.StateMachineAliasArn)
}

func (h *Handler) listAliases(ctx context.Context, in listIn) (any, error) {
	sm, err := h.rt.DescribeStateMachine(ctx, in.StateMachineArn)
	if err != nil {
		return nil, err
	}
	var items []obj
	for _, a := range sm.Aliases {
		items = append(items, obj{"stateMachineAliasArn": a.Arn, "creationDate": ep(a.CreationDate)})
	}
	p, next, err := page(items, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return withToken(obj{"stateMachineAliases": nonNil(p)}, next), nil
}

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

func executionJSON(ex *runtime.Execution) obj {
	res := obj{
		"executionArn": ex.ExecutionArn, "stateMachineArn": ex.StateMachineArn, "name": ex.Name, "status": ex.Status,
		"startDate": ep(ex.StartDate), "input": string(ex.Input), "inputDetails": obj{"included": true},
		"redriveCount": 0, "redriveStatus": "NOT_REDRIVABLE",
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
	ex, err := h.rt.StartSyncExecution(ctx, runtime.StartInput{StateMachineArn: in.StateMachineArn, Name: in.Name, Input: in.Input})
	if err != nil {
		return nil, err
	}
	res := executionJSON(ex)
	delete(res, "redriveCount")
	delete(res, "redriveStatus")
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
	return executionJSON(ex), nil
}

func (h *Handler) listExecutions(ctx context.Context, in listIn) (any, error) {
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
