// Package turbocat holds Turbocat's domain: the entities users work with
// (users, agents, templates, workflows, executions, deployments, API keys,
// audit entries), the store interfaces the adapters implement, and the error
// types every layer speaks (Error for requests, StepError for steps). It imports nothing of Turbocat's own and only
// the standard library, so every other package can depend on it.
package turbocat

import (
	"errors"
	"fmt"
	"time"
)

// ErrorCode classifies an Error. The HTTP layer maps each code to a status
// once; services never think in HTTP statuses.
type ErrorCode string

// Error codes, as they appear in the API envelope.
const (
	EVALIDATION   ErrorCode = "VALIDATION_ERROR"   // 400
	EUNAUTHORIZED ErrorCode = "UNAUTHORIZED"       // 401
	ETOKENEXPIRED ErrorCode = "TOKEN_EXPIRED"      // 401
	EFORBIDDEN    ErrorCode = "FORBIDDEN"          // 403
	ENOTFOUND     ErrorCode = "NOT_FOUND"          // 404
	EMETHOD       ErrorCode = "METHOD_NOT_ALLOWED" // 405
	ECONFLICT     ErrorCode = "CONFLICT"           // 409
	EREPLAYED     ErrorCode = "REPLAYED"           // 409: a signed request seen before
	EQUOTA        ErrorCode = "QUOTA_EXCEEDED"     // 403
	ETOOLARGE     ErrorCode = "PAYLOAD_TOO_LARGE"  // 413
	ERATELIMITED  ErrorCode = "RATE_LIMITED"       // 429
	EINTERNAL     ErrorCode = "INTERNAL"           // 500
	EUNAVAILABLE  ErrorCode = "UNAVAILABLE"        // 503
)

// ErrorCodes lists every error code, in the API document's order.
var ErrorCodes = []ErrorCode{EVALIDATION, EUNAUTHORIZED, ETOKENEXPIRED, EFORBIDDEN, ENOTFOUND, EMETHOD, ECONFLICT, EREPLAYED,
	EQUOTA, ETOOLARGE, ERATELIMITED, EINTERNAL, EUNAVAILABLE}

// FieldError is one problem with one field of a request, e.g.
// {Field: "steps[2].dependsOn[0]", Message: "unknown step \"fetch\""}.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is the error type services return. Message is safe to show to the
// caller; Err (optional) is the underlying cause, for logs only.
type Error struct {
	Code       ErrorCode
	Message    string
	Details    []FieldError
	RetryAfter time.Duration // for ERATELIMITED
	Err        error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with a formatted message.
func Errorf(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ValidationError returns an EVALIDATION error carrying field details.
func ValidationError(msg string, details ...FieldError) *Error {
	return &Error{Code: EVALIDATION, Message: msg, Details: details}
}

// NotFound returns the ENOTFOUND error for a resource kind, e.g. "agent".
func NotFound(kind string) *Error {
	return &Error{Code: ENOTFOUND, Message: kind + " not found"}
}

// ErrorCodeOf returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCodeOf(err error) ErrorCode {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// AsError returns the first *Error in err's chain, or nil.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// StepError is how a step fails: the executors, the step runner and the
// engines all speak it. Name is the error name a step's Retry and Catch
// match (ErrorEquals), such as Api.Http5xx or Step.InputError; Cause is a
// human-readable explanation with every secret value scrubbed; Retryable
// says whether running the step again may succeed.
type StepError struct {
	Name      string `json:"error"`
	Cause     string `json:"cause"`
	Retryable bool   `json:"retryable"`
}

func (e *StepError) Error() string { return e.Name + ": " + e.Cause }

// StepErrorf returns a *StepError with a formatted cause.
func StepErrorf(name string, retryable bool, format string, args ...any) *StepError {
	return &StepError{Name: name, Cause: fmt.Sprintf(format, args...), Retryable: retryable}
}

// Step error names of Turbocat's own that the engines act on.
const (
	// ErrStoreUnavailable fails a step whose record could not be read or
	// written because the database was unreachable or restarting. Every
	// compiled Task retries it with backoff, apart from the step's own
	// retries: the step runs again once the database is back.
	ErrStoreUnavailable = "Turbocat.StoreUnavailable"
)
