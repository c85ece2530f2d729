// Package sfnapi serves a runtime.Runtime over the AWS Step Functions JSON
// protocol (POST with X-Amz-Target: AWSStepFunctions.<Operation> and
// application/x-amz-json-1.0 bodies), so aws-sdk-go-v2, the AWS CLI and
// other Step Functions clients can drive the local runtime unmodified.
// Requests must carry credentials (see Credentials): a SigV4 signature by
// the configured access key, or the configured bearer token.
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
	rt    *runtime.Runtime
	log   *slog.Logger
	creds Credentials
	now   func() time.Time
	ops   map[string]operation
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

// Option configures a Handler.
type Option func(*Handler)

// WithCredentials sets the credentials requests must carry. Without them
// every request is refused.
func WithCredentials(c Credentials) Option { return func(h *Handler) { h.creds = c } }

// WithClock sets the time SigV4 signatures are checked against (tests).
func WithClock(now func() time.Time) Option { return func(h *Handler) { h.now = now } }

// NewHandler returns a Handler serving rt. A nil logger discards logs.
func NewHandler(rt *runtime.Runtime, log *slog.Logger, opts ...Option) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{rt: rt, log: log, now: time.Now}
	for _, o := range opts {
		o(h)
	}
	h.ops = map[string]operation{
		"CreateStateMachine":               op(h.createStateMachine),
		"UpdateStateMachine":               op(h.updateStateMachine),
		"DescribeStateMachine":             op(h.describeStateMachine),
		"DescribeStateMachineForExecution": op(h.describeStateMachineForExecution),
		"ListStateMachines":                op(h.listStateMachines),
		"DeleteStateMachine":               op(h.deleteStateMachine),
		"ValidateStateMachineDefinition":   op(h.validateDefinition),
		"TestState":                        op(h.testState),
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
		"RedriveExecution":                 op(h.redriveExecution),
		"DescribeExecution":                op(h.describeExecution),
		"ListExecutions":                   op(h.listExecutions),
		"GetExecutionHistory":              op(h.getExecutionHistory),
		"SendTaskSuccess":                  op(h.sendTaskSuccess),
		"SendTaskFailure":                  op(h.sendTaskFailure),
		"SendTaskHeartbeat":                op(h.sendTaskHeartbeat),
		"TagResource":                      op(h.tagResource),
		"UntagResource":                    op(h.untagResource),
		"ListTagsForResource":              op(h.listTags),
		"CreateActivity":                   op(h.createActivity),
		"DeleteActivity":                   op(h.deleteActivity),
		"DescribeActivity":                 op(h.describeActivity),
		"ListActivities":                   op(h.listActivities),
		"GetActivityTask":                  op(h.getActivityTask),
	}
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "UnsupportedOperation", "only POST is supported")
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
	if aerr := h.authenticate(r, body); aerr != nil {
		writeError(w, http.StatusBadRequest, aerr.code, aerr.msg)
		return
	}
	target := r.Header.Get("X-Amz-Target")
	opName, ok := strings.CutPrefix(target, "AWSStepFunctions.")
	fn := h.ops[opName]
	if !ok || fn == nil {
		writeError(w, http.StatusBadRequest, "UnknownOperationException", fmt.Sprintf("unknown operation %q", target))
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
			h.log.ErrorContext(r.Context(), "step functions operation failed", slog.String("operation", opName), slog.Any("error", err))
			writeError(w, http.StatusInternalServerError, "InternalFailure", "internal error")
		}
		return
	}
	b, err := json.Marshal(out)
	if err != nil {
		h.log.ErrorContext(r.Context(), "encode response", slog.String("operation", opName), slog.Any("error", err))
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

// validation is a ValidationException in AWS's wording.
func validation(format string, args ...any) error {
	return &runtime.Error{Code: runtime.CodeValidation, Message: "1 validation error detected: " + fmt.Sprintf(format, args...)}
}

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

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
