package sfn_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/sfn"
	"github.com/turbocat/turbocat/internal/turbocat"
)

func passDef(i int) []byte {
	return fmt.Appendf(nil, `{"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"v":%d},"End":true}}}`, i)
}

func versions(t *testing.T, b *bundle, machine string) []string {
	t.Helper()
	out, err := b.engine.Client().ListStateMachineVersions(context.Background(), &awssfn.ListStateMachineVersionsInput{StateMachineArn: aws.String(machine)})
	require.NoError(t, err)
	var arns []string
	for _, v := range out.StateMachineVersions {
		arns = append(arns, aws.ToString(v.StateMachineVersionArn))
	}
	return arns
}

// TestPublishPrunesOldVersions: a machine keeps its KeepVersions most
// recent versions and every version an alias routes to; older ones are
// deleted after each publish, so a workflow edited a thousand times never
// reaches Step Functions' 1,000 versions per machine.
func TestPublishPrunesOldVersions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, sfn.Options{KeepVersions: 3}, nil)
	first, err := b.engine.PublishStateMachine(ctx, "pruned", passDef(1))
	require.NoError(t, err)
	// An environment's alias on version 1 keeps it.
	_, err = b.engine.SetAlias(ctx, "prod", []turbocat.AliasRoute{{VersionRef: first, Weight: 100}})
	require.NoError(t, err)
	var last string
	for i := 2; i <= 8; i++ {
		last, err = b.engine.PublishStateMachine(ctx, "pruned", passDef(i))
		require.NoError(t, err)
	}
	machine := last[:strings.LastIndexByte(last, ':')]
	got := versions(t, b, machine)
	require.Len(t, got, 4, "the 3 most recent and the one the alias routes to: %v", got)
	require.Contains(t, got, first)
	require.Contains(t, got, last)
	require.NotEmpty(t, b.rec.bodies("DeleteStateMachineVersion"))

	// Without KeepVersions nothing is deleted.
	keep := setup(t, sfn.Options{}, nil)
	for i := 1; i <= 5; i++ {
		last, err = keep.engine.PublishStateMachine(ctx, "kept", passDef(i))
		require.NoError(t, err)
	}
	require.Len(t, versions(t, keep, last[:strings.LastIndexByte(last, ':')]), 5)
}

// TestDeleteStateMachine: deleting a workflow deletes its machine, found by
// name (from the prefix of its ARN, or by listing); a machine that is gone
// already is ENOTFOUND.
func TestDeleteStateMachine(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, sfn.Options{}, nil)
	v, err := b.engine.PublishStateMachine(ctx, "doomed", passDef(1))
	require.NoError(t, err)
	machine := v[:strings.LastIndexByte(v, ':')]
	// A fresh engine (another cold start) knows the machine by name only.
	fresh := sfn.New(awsConfig(b.url), sfn.Options{RoleArn: roleArn, MachineArnPrefix: strings.TrimSuffix(machine, "doomed")})
	require.NoError(t, fresh.DeleteStateMachine(ctx, "doomed"))
	_, err = b.engine.Client().DescribeStateMachine(ctx, &awssfn.DescribeStateMachineInput{StateMachineArn: aws.String(machine)})
	require.Error(t, err, "the machine is gone")

	lister := sfn.New(awsConfig(b.url), sfn.Options{RoleArn: roleArn})
	require.Equal(t, turbocat.ENOTFOUND, turbocat.ErrorCodeOf(lister.DeleteStateMachine(ctx, "never-created")))
}
