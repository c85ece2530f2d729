package runtime

import (
	"errors"
	"fmt"
	"strings"

	"github.com/turbocat/turbocat/internal/turbocat"
)

// Predefined Step Functions error names.
const (
	ErrALL                  = "States.ALL"
	ErrTaskFailed           = "States.TaskFailed"
	ErrTimeout              = "States.Timeout"
	ErrHeartbeatTimeout     = "States.HeartbeatTimeout"
	ErrDataLimitExceeded    = "States.DataLimitExceeded"
	ErrResultPathMatch      = "States.ResultPathMatchFailure"
	ErrParameterPathFailure = "States.ParameterPathFailure"
	ErrIntrinsicFailure     = "States.IntrinsicFailure"
	ErrNoChoiceMatched      = "States.NoChoiceMatched"
	ErrBranchFailed         = "States.BranchFailed"
	ErrRuntime              = "States.Runtime"
	ErrPermissions          = "States.Permissions"
	ErrItemReaderFailed     = "States.ItemReaderFailed"
)

// MaxPayloadBytes is the Step Functions limit on a state's input or output.
const MaxPayloadBytes = 256 * 1024

// TaskError is returned (possibly wrapped) by a registered function to fail
// its Task with a named error (Name, e.g. "Api.Http5xx", and Cause), which
// the state's Retry and Catch match on. Other errors fail the Task with
// States.TaskFailed. It is Turbocat's step error: the step runner's
// failures reach the interpreter as they are.
type TaskError = turbocat.StepError

// stateErr is an error raised while running a state.
type stateErr struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// matches reports whether a Retry or Catch ErrorEquals list matches the
// error, following the AWS rules: States.ALL matches everything except
// States.Runtime and States.DataLimitExceeded, States.TaskFailed matches
// everything except States.Timeout, and States.Runtime is never matched.
func (e *stateErr) matches(names []string) bool {
	if e.Error == ErrRuntime {
		return false
	}
	for _, n := range names {
		switch {
		case n == e.Error:
			return true
		case n == ErrALL:
			if e.Error != ErrDataLimitExceeded {
				return true
			}
		case n == ErrTaskFailed:
			if e.Error != ErrTimeout && e.Error != ErrDataLimitExceeded {
				return true
			}
		}
	}
	return false
}

// Error codes returned by the Runtime API, named as the Step Functions API
// names its exceptions.
const (
	CodeStateMachineDoesNotExist  = "StateMachineDoesNotExist"
	CodeStateMachineAlreadyExists = "StateMachineAlreadyExists"
	CodeStateMachineDeleting      = "StateMachineDeleting"
	CodeExecutionDoesNotExist     = "ExecutionDoesNotExist"
	CodeExecutionAlreadyExists    = "ExecutionAlreadyExists"
	CodeInvalidDefinition         = "InvalidDefinition"
	CodeInvalidArn                = "InvalidArn"
	CodeInvalidName               = "InvalidName"
	CodeInvalidExecutionInput     = "InvalidExecutionInput"
	CodeInvalidOutput             = "InvalidOutput"
	CodeInvalidToken              = "InvalidToken"
	CodeTaskDoesNotExist          = "TaskDoesNotExist"
	CodeTaskTimedOut              = "TaskTimedOut"
	CodeResourceNotFound          = "ResourceNotFound"
	CodeConflict                  = "ConflictException"
	CodeValidation                = "ValidationException"
)

// Error is an API error with a Step Functions exception name as Code.
type Error struct {
	Code    string
	Message string
}

// Error implements error.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

func apiErr(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the Code of an *Error in err's chain, or "".
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// Step Functions exceptions added with variables, redrive and TestState.
const (
	CodeStateMachineTypeNotSupported = "StateMachineTypeNotSupported"
	CodeExecutionNotRedrivable       = "ExecutionNotRedrivable"
	CodeTooManyTags                  = "TooManyTags"
	CodeMissingRequiredParameter     = "MissingRequiredParameter"
	CodeInvalidLoggingConfiguration  = "InvalidLoggingConfiguration"
	CodeInvalidTracingConfiguration  = "InvalidTracingConfiguration"
	CodeActivityDoesNotExist         = "ActivityDoesNotExist"
	CodeActivityAlreadyExists        = "ActivityAlreadyExists"
)

// parseArn checks a Step Functions ARN,
// arn:<partition>:states:<region>:<account>:<type>:<name>[:<qualifier>...]
// with no empty part, and returns its resource type (without allocating:
// every execution start checks one).
func parseArn(s string) (kind string, ok bool) {
	i := 0
	for p := range strings.SplitSeq(s, ":") {
		switch {
		case i == 0 && p != "arn", i == 2 && p != "states", p == "" && i != 2:
			return "", false
		case i == 5:
			kind = p
		}
		i++
	}
	return kind, i >= 7
}

// checkArn returns InvalidArn unless s is a Step Functions ARN of one of
// the resource types kinds.
func checkArn(s string, kinds ...string) error {
	kind, ok := parseArn(s)
	if !ok {
		return apiErr(CodeInvalidArn, "Invalid Arn: 'Unable to parse ARN: %s'", s)
	}
	for _, k := range kinds {
		if kind == k {
			return nil
		}
	}
	return apiErr(CodeInvalidArn, "Invalid Arn: 'Resource type not valid in this context: %s'", kind)
}

func validArn(s string, kinds ...string) bool { return checkArn(s, kinds...) == nil }

func asError(err error, target **Error) bool { return errors.As(err, target) }
