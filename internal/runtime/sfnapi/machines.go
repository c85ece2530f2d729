package sfnapi

import (
	"context"
	"encoding/json"

	"github.com/turbocat/turbocat/internal/runtime"
)

type createIn struct {
	Name, Definition, RoleArn, Type, VersionDescription string
	Publish                                             bool
	Tags                                                []runtime.Tag
	LoggingConfiguration                                *runtime.LoggingConfiguration
	TracingConfiguration                                *runtime.TracingConfiguration
}

func tagMap(tags []runtime.Tag) map[string]string {
	if len(tags) == 0 {
		return nil
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

func (h *Handler) createStateMachine(ctx context.Context, in createIn) (any, error) {
	switch {
	case in.Name == "":
		return nil, validation("Value null at 'name' failed to satisfy constraint: Member must not be null")
	case in.Definition == "":
		return nil, validation("Value null at 'definition' failed to satisfy constraint: Member must not be null")
	case in.RoleArn == "":
		return nil, validation("Value null at 'roleArn' failed to satisfy constraint: Member must not be null")
	}
	out, err := h.rt.CreateStateMachine(ctx, runtime.CreateStateMachineInput{Name: in.Name, Definition: in.Definition, RoleArn: in.RoleArn,
		Type: in.Type, Publish: in.Publish, VersionDescription: in.VersionDescription, Tags: tagMap(in.Tags),
		Logging: in.LoggingConfiguration, Tracing: in.TracingConfiguration})
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
	LoggingConfiguration                                     *runtime.LoggingConfiguration
	TracingConfiguration                                     *runtime.TracingConfiguration
}

func (h *Handler) updateStateMachine(ctx context.Context, in updateIn) (any, error) {
	v, at, err := h.rt.UpdateStateMachine(ctx, runtime.UpdateStateMachineInput{StateMachineArn: in.StateMachineArn, Definition: in.Definition,
		RoleArn: in.RoleArn, Publish: in.Publish, VersionDescription: in.VersionDescription,
		Logging: in.LoggingConfiguration, Tracing: in.TracingConfiguration})
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
	var logging any = obj{"level": "OFF", "includeExecutionData": false}
	if sm.Logging != nil {
		l := *sm.Logging
		if l.Level == "" {
			l.Level = "OFF"
		}
		logging = l
	}
	var tracing any = obj{"enabled": false}
	if sm.Tracing != nil {
		tracing = sm.Tracing
	}
	return obj{
		"stateMachineArn": sm.Arn, "name": sm.Name, "status": "ACTIVE", "definition": sm.Definition, "roleArn": sm.RoleArn,
		"type": sm.Type, "creationDate": ep(sm.CreationDate), "revisionId": sm.RevisionID, "description": sm.Description,
		"loggingConfiguration": logging, "tracingConfiguration": tracing,
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

type validateIn struct {
	Definition, Type, Severity string
	MaxResults                 int
}

func (h *Handler) validateDefinition(_ context.Context, in validateIn) (any, error) {
	if in.Definition == "" {
		return nil, validation("Value null at 'definition' failed to satisfy constraint: Member must not be null")
	}
	out, err := h.rt.ValidateStateMachineDefinition(runtime.ValidateInput{Definition: in.Definition, Type: in.Type, Severity: in.Severity, MaxResults: in.MaxResults})
	if err != nil {
		return nil, err
	}
	diags := make([]obj, 0, len(out.Diagnostics))
	for _, d := range out.Diagnostics {
		o := obj{"severity": d.Severity, "code": d.Code, "message": d.Message}
		if d.Location != "" {
			o["location"] = d.Location
		}
		diags = append(diags, o)
	}
	return obj{"result": out.Result, "diagnostics": diags, "truncated": out.Truncated}, nil
}

type testStateIn struct {
	Definition, RoleArn, Input, InspectionLevel, Variables, StateName, Context string
	RevealSecrets                                                              bool
	Mock                                                                       *struct {
		Result      *string
		ErrorOutput *struct{ Error, Cause string }
	}
	StateConfiguration *struct{ RetrierRetryCount int }
}

func (h *Handler) testState(ctx context.Context, in testStateIn) (any, error) {
	if in.Definition == "" {
		return nil, validation("Value null at 'definition' failed to satisfy constraint: Member must not be null")
	}
	req := runtime.TestStateInput{Definition: in.Definition, StateName: in.StateName, Input: in.Input, InspectionLevel: in.InspectionLevel,
		Variables: in.Variables, Context: in.Context}
	if m := in.Mock; m != nil {
		req.Mock = &runtime.TestStateMock{}
		switch {
		case m.Result != nil && m.ErrorOutput != nil:
			return nil, validation("A mock specifies either a result or an errorOutput")
		case m.Result != nil:
			req.Mock.Result = *m.Result
		case m.ErrorOutput != nil:
			req.Mock.Error, req.Mock.Cause = m.ErrorOutput.Error, m.ErrorOutput.Cause
		}
	}
	if in.StateConfiguration != nil {
		req.RetrierRetryCount = in.StateConfiguration.RetrierRetryCount
	}
	out, err := h.rt.TestState(ctx, req)
	if err != nil {
		return nil, err
	}
	res := obj{"status": out.Status}
	if out.Output != "" {
		res["output"] = out.Output
	}
	if out.NextState != "" {
		res["nextState"] = out.NextState
	}
	if out.Error != "" || out.Status == "FAILED" || out.Status == "RETRIABLE" || out.Status == "CAUGHT_ERROR" {
		res["error"] = out.Error
		res["cause"] = out.Cause
	}
	if out.Inspection != nil {
		b, err := json.Marshal(out.Inspection)
		if err != nil {
			return nil, err
		}
		res["inspectionData"] = json.RawMessage(b)
	}
	return res, nil
}
