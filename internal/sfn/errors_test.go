package sfn

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/turbocat"
)

func TestTranslate(t *testing.T) {
	t.Parallel()
	api := func(code string, fault smithy.ErrorFault) error {
		return fmt.Errorf("operation error SFN: %w", &smithy.GenericAPIError{Code: code, Message: "aws says " + code, Fault: fault})
	}
	cases := []struct {
		err      error
		want     turbocat.ErrorCode
		contains string
	}{
		{api("StateMachineDoesNotExist", smithy.FaultClient), turbocat.ENOTFOUND, "publish the workflow first"},
		{api("ExecutionDoesNotExist", smithy.FaultClient), turbocat.ENOTFOUND, "execution not found"},
		{api("ResourceNotFound", smithy.FaultClient), turbocat.ENOTFOUND, "aws says ResourceNotFound"},
		{api("TaskTimedOut", smithy.FaultClient), turbocat.ENOTFOUND, "timed out"},
		{api("InvalidDefinition", smithy.FaultClient), turbocat.EVALIDATION, "invalid state machine definition"},
		{api("InvalidName", smithy.FaultClient), turbocat.EVALIDATION, "1-80 letters"},
		{api("ValidationException", smithy.FaultClient), turbocat.EVALIDATION, "aws says ValidationException"},
		{api("InvalidExecutionInput", smithy.FaultClient), turbocat.EVALIDATION, "256 KiB"},
		{api("InvalidLoggingConfiguration", smithy.FaultClient), turbocat.EVALIDATION, "log group ARN"},
		{api("ExecutionAlreadyExists", smithy.FaultClient), turbocat.ECONFLICT, "already exists"},
		{api("ConflictException", smithy.FaultClient), turbocat.ECONFLICT, "try again"},
		{api("StateMachineLimitExceeded", smithy.FaultClient), turbocat.EQUOTA, "quota"},
		{api("ExecutionLimitExceeded", smithy.FaultClient), turbocat.EUNAVAILABLE, "try again later"},
		{api("ThrottlingException", smithy.FaultClient), turbocat.EUNAVAILABLE, "try again later"},
		{api("InternalFailure", smithy.FaultServer), turbocat.EUNAVAILABLE, "unavailable"},
		{api("AccessDeniedException", smithy.FaultClient), turbocat.EINTERNAL, "IAM permissions"},
	}
	for _, c := range cases {
		t.Run(c.err.Error(), func(t *testing.T) {
			t.Parallel()
			err := translate(c.err, "do thing")
			e := turbocat.AsError(err)
			require.NotNil(t, e, "error: %v", err)
			require.Equal(t, c.want, e.Code)
			require.Contains(t, e.Message, "do thing: ")
			require.Contains(t, e.Message, c.contains)
			require.ErrorIs(t, err, c.err, "the AWS error stays in the chain for the logs")
		})
	}
}

func TestTranslatePassesThrough(t *testing.T) {
	t.Parallel()
	require.NoError(t, translate(nil, "x"))
	err := translate(fmt.Errorf("send: %w", context.DeadlineExceeded), "describe")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Nil(t, turbocat.AsError(err), "cancellation is not a domain error")
	other := errors.New("weird")
	err = translate(other, "describe")
	require.ErrorIs(t, err, other)
	require.Equal(t, turbocat.EINTERNAL, turbocat.ErrorCodeOf(err))
}
