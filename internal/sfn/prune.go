package sfn

import (
	"context"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/turbocat/turbocat/internal/turbocat"
)

// prune deletes the versions of machineArn beyond the KeepVersions most
// recent, except current (just published) and those an alias routes to.
// It is best effort: a failure is logged and publishing goes on.
func (e *Engine) prune(ctx context.Context, machineArn, current string) {
	if e.opts.KeepVersions <= 0 {
		return
	}
	if err := e.pruneVersions(ctx, machineArn, current); err != nil {
		e.log.WarnContext(ctx, "prune state machine versions", slog.String("state_machine_arn", machineArn), slog.String("error", err.Error()))
	}
}

func (e *Engine) pruneVersions(ctx context.Context, machineArn, current string) error {
	var versions []string // newest first, as AWS lists them
	for token := (*string)(nil); ; {
		page, err := e.client.ListStateMachineVersions(ctx, &awssfn.ListStateMachineVersionsInput{StateMachineArn: aws.String(machineArn), NextToken: token})
		if err != nil {
			return translate(err, "list versions of "+machineArn)
		}
		for _, v := range page.StateMachineVersions {
			versions = append(versions, aws.ToString(v.StateMachineVersionArn))
		}
		if token = page.NextToken; token == nil {
			break
		}
	}
	if len(versions) <= e.opts.KeepVersions {
		return nil
	}
	keep := map[string]bool{current: true}
	for token := (*string)(nil); ; {
		page, err := e.client.ListStateMachineAliases(ctx, &awssfn.ListStateMachineAliasesInput{StateMachineArn: aws.String(machineArn), NextToken: token})
		if err != nil {
			return translate(err, "list aliases of "+machineArn)
		}
		for _, a := range page.StateMachineAliases {
			al, err := e.DescribeAlias(ctx, aws.ToString(a.StateMachineAliasArn))
			if err != nil {
				return err
			}
			for _, r := range al.Routing {
				keep[r.VersionArn] = true
			}
		}
		if token = page.NextToken; token == nil {
			break
		}
	}
	for _, v := range versions[e.opts.KeepVersions:] {
		if keep[v] {
			continue
		}
		_, err := e.client.DeleteStateMachineVersion(ctx, &awssfn.DeleteStateMachineVersionInput{StateMachineVersionArn: aws.String(v)})
		// An alias that moved onto it meanwhile keeps it (ConflictException).
		if err != nil && !isCode[*types.ConflictException](err) {
			return translate(err, "delete version "+v)
		}
	}
	return nil
}

// DeleteStateMachine deletes the machine called name with its versions and
// aliases (Step Functions stops its running executions). ENOTFOUND when
// there is none.
func (e *Engine) DeleteStateMachine(ctx context.Context, name string) error {
	arn, err := e.machineArn(ctx, name, nil)
	if err != nil {
		if turbocat.ErrorCodeOf(err) == turbocat.ECONFLICT {
			return turbocat.NotFound("state machine")
		}
		return err
	}
	if _, err := e.client.DeleteStateMachine(ctx, &awssfn.DeleteStateMachineInput{StateMachineArn: aws.String(arn)}); err != nil {
		return translate(err, "delete state machine "+name)
	}
	e.mu.Lock()
	delete(e.machines, name)
	e.mu.Unlock()
	return nil
}
