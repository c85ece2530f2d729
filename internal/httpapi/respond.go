// Package httpapi is Turbocat's REST API: the route table, the middleware
// chain (request id, security headers, CORS, recovery, access log, rate
// limits, body limits, authentication, scopes), strict JSON decoding, the
// response envelope and the handlers. Handlers are plain net/http: the local
// server mounts them all, each Lambda function mounts its resource's subset.
package httpapi

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/turbocat/turbocat/internal/turbocat"
)

// envelope is the shape of every response body.
type envelope struct {
	Success bool       `json:"success"`
	Data    any        `json:"data,omitempty"`
	Error   *errorBody `json:"error,omitempty"`
	Meta    meta       `json:"meta"`
}

type errorBody struct {
	Code    turbocat.ErrorCode    `json:"code"`
	Message string                `json:"message"`
	Details []turbocat.FieldError `json:"details,omitempty"`
}

type meta struct {
	Timestamp string `json:"timestamp"`
	RequestID string `json:"requestId"`
}

func metaOf(r *http.Request) meta {
	return meta{Timestamp: time.Now().UTC().Format(time.RFC3339Nano), RequestID: requestIDFrom(r.Context())}
}

// writeData writes a success envelope.
func writeData(w http.ResponseWriter, r *http.Request, status int, data any) {
	writeEnvelope(w, status, envelope{Success: true, Data: data, Meta: metaOf(r)})
}

func writeEnvelope(w http.ResponseWriter, status int, env envelope) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(env); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"success":false,"error":{"code":"INTERNAL","message":"internal error"},"meta":{}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// statusOf maps an error code to its HTTP status, once, for the whole API.
func statusOf(code turbocat.ErrorCode) int {
	switch code {
	case turbocat.EVALIDATION:
		return http.StatusBadRequest
	case turbocat.EUNAUTHORIZED, turbocat.ETOKENEXPIRED:
		return http.StatusUnauthorized
	case turbocat.EFORBIDDEN, turbocat.EQUOTA:
		return http.StatusForbidden
	case turbocat.ENOTFOUND:
		return http.StatusNotFound
	case turbocat.EMETHOD:
		return http.StatusMethodNotAllowed
	case turbocat.ECONFLICT, turbocat.EREPLAYED:
		return http.StatusConflict
	case turbocat.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case turbocat.ERATELIMITED:
		return http.StatusTooManyRequests
	case turbocat.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// writeError writes an error envelope. Internal errors are logged with their
// detail and the request id; the client only learns that something failed.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := turbocat.AsError(err)
	if e == nil || e.Code == turbocat.EINTERNAL {
		s.logger.LogAttrs(r.Context(), slog.LevelError, "internal error",
			slog.String("request_id", requestIDFrom(r.Context())),
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.String("error", err.Error()))
		e = &turbocat.Error{Code: turbocat.EINTERNAL, Message: "internal error; quote the request id when reporting it"}
	}
	status := statusOf(e.Code)
	if e.Code == turbocat.ERATELIMITED && e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(e.RetryAfter.Seconds()+0.999)))
	}
	if e.Code == turbocat.EUNAUTHORIZED || e.Code == turbocat.ETOKENEXPIRED {
		w.Header().Set("WWW-Authenticate", `Bearer realm="turbocat"`)
	}
	writeEnvelope(w, status, envelope{Success: false, Error: &errorBody{Code: e.Code, Message: e.Message, Details: e.Details}, Meta: metaOf(r)})
}

// The shapes most handlers share: call the resource's service, then write
// its answer in the envelope.

// read writes what get returns, with 200.
func read[T any](w http.ResponseWriter, r *http.Request, get func() (T, error)) error {
	v, err := get()
	if err != nil {
		return err
	}
	writeData(w, r, http.StatusOK, v)
	return nil
}

// list parses the page parameters (limit, cursor), calls get with them and
// writes the page, with 200.
func list[T any](w http.ResponseWriter, r *http.Request, get func(turbocat.Page) (T, error)) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	return read(w, r, func() (T, error) { return get(p) })
}

// write decodes the body (strictly) into an In, calls do with it and writes
// the result with status.
func write[In, Out any](w http.ResponseWriter, r *http.Request, status int, do func(In) (Out, error)) error {
	var in In
	if err := decode(r, &in); err != nil {
		return err
	}
	out, err := do(in)
	if err != nil {
		return err
	}
	writeData(w, r, status, out)
	return nil
}

// create is write answering 201 Created.
func create[In, Out any](w http.ResponseWriter, r *http.Request, do func(In) (Out, error)) error {
	return write(w, r, http.StatusCreated, do)
}

// update is write answering 200.
func update[In, Out any](w http.ResponseWriter, r *http.Request, do func(In) (Out, error)) error {
	return write(w, r, http.StatusOK, do)
}

// remove calls del and answers {"<key>": value}, naming what was deleted.
func remove(w http.ResponseWriter, r *http.Request, key, value string, del func() error) error {
	if err := del(); err != nil {
		return err
	}
	writeData(w, r, http.StatusOK, map[string]string{key: value})
	return nil
}
