package httpapi

import (
	"net/http"
	"strings"

	"github.com/turbocat/turbocat/internal/turbocat"
)

// The trigger group (functions/trigger): signed webhooks that start runs
// of deployments. No JWT: the signature is the credential.

// hook starts a run of a deployment from a signed webhook call. 202 with
// the execution id.
func (s *Server) hook(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	return s.serveHook(w, r, id, func(sig, key string, body []byte) (*turbocat.Execution, error) {
		return s.Deployments.Hook(r.Context(), id, sig, key, body)
	})
}

// hookEnvironment is the stable webhook of a workflow's environment.
func (s *Server) hookEnvironment(w http.ResponseWriter, r *http.Request) error {
	wf, env := r.PathValue("workflowId"), r.PathValue("environment")
	return s.serveHook(w, r, wf+"/"+env, func(sig, key string, body []byte) (*turbocat.Execution, error) {
		return s.Deployments.HookEnvironment(r.Context(), wf, env, sig, key, body)
	})
}

// serveHook rate-limits calls to one webhook (named by limitKey), reads
// the body and the signature and starts the run.
func (s *Server) serveHook(w http.ResponseWriter, r *http.Request, limitKey string,
	start func(signature, idempotencyKey string, body []byte) (*turbocat.Execution, error)) error {
	if ok, retry := s.hookLimiter.allow("hook:" + limitKey); !ok {
		return &turbocat.Error{Code: turbocat.ERATELIMITED, Message: "too many calls to this webhook; retry later", RetryAfter: retry}
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	if err := checkText(body); err != nil {
		return err
	}
	// API Gateway joins repeated headers with commas and the Lambda adapter
	// splits them again: rejoin the signature's "t=...,v1=..." parts.
	sig := strings.Join(r.Header.Values("X-Turbocat-Signature"), ",")
	e, err := start(sig, r.Header.Get("Idempotency-Key"), body)
	if err != nil {
		return err
	}
	writeData(w, r, http.StatusAccepted, runResult{ExecutionID: e.ID, Status: e.Status})
	return nil
}
