package sfn

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/turbocat/turbocat/internal/turbocat"
)

// translate maps an error of a Step Functions call to the domain: a
// *turbocat.Error whose message says what to do, wrapping the AWS error
// for the logs. Context cancellation is only wrapped.
func translate(err error, op string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", op, err)
	}
	code, msg := "", ""
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code, msg = ae.ErrorCode(), ae.ErrorMessage()
	}
	mk := func(c turbocat.ErrorCode, hint string) error {
		m := op + ": " + hint
		if msg != "" {
			m += " (" + msg + ")"
		}
		return &turbocat.Error{Code: c, Message: m, Err: err}
	}
	switch code {
	case "StateMachineDoesNotExist":
		return mk(turbocat.ENOTFOUND, "state machine not found; publish the workflow first")
	case "ExecutionDoesNotExist":
		return mk(turbocat.ENOTFOUND, "execution not found")
	case "ResourceNotFound", "ActivityDoesNotExist":
		return mk(turbocat.ENOTFOUND, "resource not found")
	case "TaskDoesNotExist", "TaskTimedOut":
		return mk(turbocat.ENOTFOUND, "task token unknown, already answered or timed out")
	case "InvalidDefinition":
		return mk(turbocat.EVALIDATION, "invalid state machine definition")
	case "InvalidName":
		return mk(turbocat.EVALIDATION, "invalid name: use 1-80 letters, digits, '-' or '_'")
	case "InvalidArn":
		return mk(turbocat.EVALIDATION, "invalid ARN")
	case "InvalidExecutionInput":
		return mk(turbocat.EVALIDATION, "execution input must be a JSON text of at most 256 KiB")
	case "InvalidOutput":
		return mk(turbocat.EVALIDATION, "task output must be a JSON text of at most 256 KiB")
	case "InvalidToken":
		return mk(turbocat.EVALIDATION, "invalid task token")
	case "InvalidLoggingConfiguration":
		return mk(turbocat.EVALIDATION, "invalid logging configuration: check the log group ARN and the role's CloudWatch Logs permissions")
	case "InvalidTracingConfiguration":
		return mk(turbocat.EVALIDATION, "invalid tracing configuration")
	case "StateMachineTypeNotSupported":
		return mk(turbocat.EVALIDATION, "operation not supported for this state machine type")
	case "ValidationException", "MissingRequiredParameter", "TooManyTags":
		return mk(turbocat.EVALIDATION, "request rejected by Step Functions")
	case "ExecutionAlreadyExists":
		return mk(turbocat.ECONFLICT, "execution already exists")
	case "StateMachineAlreadyExists", "ConflictException":
		return mk(turbocat.ECONFLICT, "conflicting concurrent change; try again")
	case "StateMachineDeleting":
		return mk(turbocat.ECONFLICT, "state machine is being deleted")
	case "ExecutionNotRedrivable":
		return mk(turbocat.ECONFLICT, "execution cannot be redriven")
	case "StateMachineLimitExceeded", "ServiceQuotaExceededException", "ActivityLimitExceeded":
		return mk(turbocat.EQUOTA, "Step Functions quota reached; delete unused state machines or versions, or raise the quota")
	case "ExecutionLimitExceeded":
		return mk(turbocat.EUNAVAILABLE, "too many open executions; try again later")
	case "AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException",
		"KmsAccessDeniedException", "KmsInvalidStateException":
		return mk(turbocat.EINTERNAL, "Step Functions denied the call: check the credentials and IAM permissions")
	}
	if transient(err, ae) {
		return mk(turbocat.EUNAVAILABLE, "Step Functions is unavailable or throttling; try again later")
	}
	return fmt.Errorf("%s: %w", op, err)
}

// transient reports throttling, server faults and network failures, which
// the SDK retryer has already retried.
func transient(err error, ae smithy.APIError) bool {
	var maxErr *retry.MaxAttemptsError
	if errors.As(err, &maxErr) {
		return true
	}
	if ae != nil {
		if ae.ErrorFault() == smithy.FaultServer {
			return true
		}
		if _, ok := retry.DefaultThrottleErrorCodes[ae.ErrorCode()]; ok {
			return true
		}
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && (re.HTTPStatusCode() >= 500 || re.HTTPStatusCode() == 429) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe)
}
