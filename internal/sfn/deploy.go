package sfn

import (
	"context"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/turbocat/turbocat/internal/turbocat"
)

// Route sends Weight percent of an alias's executions to a version.
type Route struct {
	VersionArn string
	Weight     int
}

// Alias is a state machine alias.
type Alias struct {
	Arn         string
	Name        string
	Description string
	Routing     []Route
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// AliasArn is the ARN of alias aliasName of the machine machineArn.
func AliasArn(machineArn, aliasName string) string { return machineArn + ":" + aliasName }

func toRouting(routing []Route) []types.RoutingConfigurationListItem {
	out := make([]types.RoutingConfigurationListItem, 0, len(routing))
	for _, r := range routing {
		out = append(out, types.RoutingConfigurationListItem{StateMachineVersionArn: aws.String(r.VersionArn), Weight: int32(r.Weight)})
	}
	return out
}

func validateRouting(routing []Route) error {
	if len(routing) == 0 || len(routing) > 2 {
		return turbocat.Errorf(turbocat.EVALIDATION, "alias routing needs one or two versions, got %d", len(routing))
	}
	sum := 0
	for _, r := range routing {
		if r.VersionArn == "" {
			return turbocat.Errorf(turbocat.EVALIDATION, "alias routing: a version ARN is empty")
		}
		if r.Weight < 0 || r.Weight > 100 {
			return turbocat.Errorf(turbocat.EVALIDATION, "alias routing: weight %d of %s is outside 0-100", r.Weight, r.VersionArn)
		}
		sum += r.Weight
	}
	if sum != 100 {
		return turbocat.Errorf(turbocat.EVALIDATION, "alias routing: weights sum to %d, they must sum to 100", sum)
	}
	return nil
}

// CreateOrUpdateAlias points the alias aliasName of machineArn at routing
// (one version at 100, or two versions whose weights sum to 100) and
// returns the alias ARN. It creates the alias if needed. EVALIDATION for a
// bad routing, ENOTFOUND for an unknown version.
func (e *Engine) CreateOrUpdateAlias(ctx context.Context, machineArn, aliasName string, routing []Route) (string, error) {
	if err := validateRouting(routing); err != nil {
		return "", err
	}
	arn := AliasArn(machineArn, aliasName)
	_, err := e.client.DescribeStateMachineAlias(ctx, &awssfn.DescribeStateMachineAliasInput{StateMachineAliasArn: aws.String(arn)})
	switch {
	case err == nil:
		return e.updateAlias(ctx, arn, routing)
	case !isCode[*types.ResourceNotFound](err):
		return "", translate(err, "describe alias "+arn)
	}
	out, err := e.client.CreateStateMachineAlias(ctx, &awssfn.CreateStateMachineAliasInput{
		Name:                 aws.String(aliasName),
		RoutingConfiguration: toRouting(routing),
	})
	if isCode[*types.ConflictException](err) {
		// Created concurrently with another routing: move it to ours.
		return e.updateAlias(ctx, arn, routing)
	}
	if err != nil {
		return "", translate(err, "create alias "+arn)
	}
	return aws.ToString(out.StateMachineAliasArn), nil
}

func (e *Engine) updateAlias(ctx context.Context, arn string, routing []Route) (string, error) {
	_, err := e.client.UpdateStateMachineAlias(ctx, &awssfn.UpdateStateMachineAliasInput{
		StateMachineAliasArn: aws.String(arn),
		RoutingConfiguration: toRouting(routing),
	})
	if err != nil {
		return "", translate(err, "update alias "+arn)
	}
	return arn, nil
}

// DescribeAlias returns an alias. ENOTFOUND for an unknown alias.
func (e *Engine) DescribeAlias(ctx context.Context, aliasArn string) (*Alias, error) {
	out, err := e.client.DescribeStateMachineAlias(ctx, &awssfn.DescribeStateMachineAliasInput{StateMachineAliasArn: aws.String(aliasArn)})
	if err != nil {
		return nil, translate(err, "describe alias "+aliasArn)
	}
	a := &Alias{Arn: aws.ToString(out.StateMachineAliasArn), Name: aws.ToString(out.Name), Description: aws.ToString(out.Description)}
	for _, r := range out.RoutingConfiguration {
		a.Routing = append(a.Routing, Route{VersionArn: aws.ToString(r.StateMachineVersionArn), Weight: int(r.Weight)})
	}
	if out.CreationDate != nil {
		a.CreatedAt = *out.CreationDate
	}
	if out.UpdateDate != nil {
		a.UpdatedAt = *out.UpdateDate
	}
	return a, nil
}

// ListExecutionsInput filters ListExecutions.
type ListExecutionsInput struct {
	// Target is a machine, version or alias ARN.
	Target string
	// Status is one of the turbocat.Engine* statuses; "" for all.
	Status string
	// Limit caps the number returned (0: all).
	Limit int
}

// ListExecutions lists the executions of a machine, version or alias,
// newest first, following pages up to in.Limit. ENOTFOUND for an unknown
// target.
func (e *Engine) ListExecutions(ctx context.Context, in ListExecutionsInput) ([]*turbocat.EngineExecution, error) {
	// A machine, version or alias ARN all go in StateMachineArn.
	req := &awssfn.ListExecutionsInput{StateMachineArn: aws.String(in.Target)}
	if in.Status != "" {
		req.StatusFilter = types.ExecutionStatus(in.Status)
	}
	var out []*turbocat.EngineExecution
	p := awssfn.NewListExecutionsPaginator(e.client, req)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, translate(err, "list executions of "+in.Target)
		}
		for _, x := range page.Executions {
			ex := &turbocat.EngineExecution{Ref: aws.ToString(x.ExecutionArn), Name: aws.ToString(x.Name), Status: string(x.Status)}
			if x.StartDate != nil {
				ex.StartedAt = *x.StartDate
			}
			if x.StopDate != nil {
				t := *x.StopDate
				ex.StoppedAt = &t
			}
			out = append(out, ex)
			if in.Limit > 0 && len(out) >= in.Limit {
				return out, nil
			}
		}
	}
	return out, nil
}

// SendTaskSuccess completes the waiting task of token with output (JSON).
// ENOTFOUND for an unknown, answered or timed-out token.
func (e *Engine) SendTaskSuccess(ctx context.Context, token string, output []byte) error {
	_, err := e.client.SendTaskSuccess(ctx, &awssfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(string(output))})
	return translate(err, "send task success")
}

// SendTaskFailure fails the waiting task of token with an error name and
// cause. ENOTFOUND for an unknown, answered or timed-out token.
func (e *Engine) SendTaskFailure(ctx context.Context, token, errName, cause string) error {
	_, err := e.client.SendTaskFailure(ctx, &awssfn.SendTaskFailureInput{TaskToken: aws.String(token), Error: optString(errName), Cause: optString(cause)})
	return translate(err, "send task failure")
}

// SendTaskHeartbeat reports that the task of token is still working.
// ENOTFOUND for an unknown, answered or timed-out token.
func (e *Engine) SendTaskHeartbeat(ctx context.Context, token string) error {
	_, err := e.client.SendTaskHeartbeat(ctx, &awssfn.SendTaskHeartbeatInput{TaskToken: aws.String(token)})
	return translate(err, "send task heartbeat")
}

// SetAlias implements turbocat.Engine: the alias of the versions' state
// machine (the version ARN without its ":N").
func (e *Engine) SetAlias(ctx context.Context, name string, routing []turbocat.AliasRoute) (string, error) {
	if len(routing) == 0 {
		return "", &turbocat.Error{Code: turbocat.EVALIDATION, Message: "set alias: an alias needs a version to route to"}
	}
	rs := make([]Route, len(routing))
	for i, r := range routing {
		rs[i] = Route{VersionArn: r.VersionRef, Weight: r.Weight}
	}
	machine := routing[0].VersionRef
	if i := strings.LastIndexByte(machine, ':'); i > 0 {
		machine = machine[:i]
	}
	return e.CreateOrUpdateAlias(ctx, machine, name, rs)
}
