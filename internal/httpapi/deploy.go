package httpapi

import (
	"net/http"
	"strings"

	"github.com/turbocat/turbocat/internal/service"
	"github.com/turbocat/turbocat/internal/turbocat"
)

func (s *Server) deploys() (*service.Deployments, error) {
	if s.Deploys == nil {
		return nil, turbocat.Errorf(turbocat.EUNAVAILABLE, "no workflow engine is configured on this server")
	}
	return s.Deploys, nil
}

func (s *Server) deployWorkflow(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.Workflows.Workflow(r.Context(), actor(r).UserID, r.PathValue("id")); err != nil {
		return err
	}
	d, err := s.deploys()
	if err != nil {
		return err
	}
	var in service.DeployInput
	if err := decode(r, &in); err != nil {
		return err
	}
	out, err := d.Deploy(r.Context(), actor(r), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeData(w, r, http.StatusCreated, out)
	return nil
}

func (s *Server) rollbackDeployment(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.Deployments.Deployment(r.Context(), actor(r).UserID, r.PathValue("id")); err != nil {
		return err
	}
	d, err := s.deploys()
	if err != nil {
		return err
	}
	out, err := d.Rollback(r.Context(), actor(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeData(w, r, http.StatusOK, out)
	return nil
}

func (s *Server) rotateDeploymentSecret(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.Deployments.Deployment(r.Context(), actor(r).UserID, r.PathValue("id")); err != nil {
		return err
	}
	d, err := s.deploys()
	if err != nil {
		return err
	}
	out, err := d.RotateSecret(r.Context(), actor(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeData(w, r, http.StatusOK, out)
	return nil
}

func (s *Server) deactivateDeployment(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.Deployments.Deployment(r.Context(), actor(r).UserID, r.PathValue("id")); err != nil {
		return err
	}
	d, err := s.deploys()
	if err != nil {
		return err
	}
	out, err := d.Deactivate(r.Context(), actor(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeData(w, r, http.StatusOK, out)
	return nil
}

// hook starts a run of a deployment from a signed webhook call (no JWT: the
// signature is the credential). 202 with the execution id.
func (s *Server) hook(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	return s.serveHook(w, r, id, func(d *service.Deployments, sig, key string, body []byte) (*turbocat.Execution, error) {
		return d.Hook(r.Context(), id, sig, key, body)
	})
}

// hookEnvironment is the stable webhook of a workflow's environment.
func (s *Server) hookEnvironment(w http.ResponseWriter, r *http.Request) error {
	wf, env := r.PathValue("workflowId"), r.PathValue("environment")
	return s.serveHook(w, r, wf+"/"+env, func(d *service.Deployments, sig, key string, body []byte) (*turbocat.Execution, error) {
		return d.HookEnvironment(r.Context(), wf, env, sig, key, body)
	})
}

// serveHook rate-limits calls to one webhook (named by limitKey), reads
// the body and the signature and starts the run.
func (s *Server) serveHook(w http.ResponseWriter, r *http.Request, limitKey string,
	start func(d *service.Deployments, signature, idempotencyKey string, body []byte) (*turbocat.Execution, error)) error {
	d, err := s.deploys()
	if err != nil {
		return err
	}
	if ok, retry := s.hookLimiter.allow("hook:" + limitKey); !ok {
		return &turbocat.Error{Code: turbocat.ERATELIMITED, Message: "too many calls to this webhook; retry later", RetryAfter: retry}
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	// API Gateway joins repeated headers with commas and the Lambda adapter
	// splits them again: rejoin the signature's "t=...,v1=..." parts.
	sig := strings.Join(r.Header.Values("X-Turbocat-Signature"), ",")
	e, err := start(d, sig, r.Header.Get("Idempotency-Key"), body)
	if err != nil {
		return err
	}
	writeData(w, r, http.StatusAccepted, runResult{ExecutionID: e.ID, Status: e.Status})
	return nil
}

// Outbound webhook subscriptions.

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) error {
	var in service.WebhookInput
	if err := decode(r, &in); err != nil {
		return err
	}
	out, err := s.Events.Subscribe(r.Context(), actor(r), in)
	if err != nil {
		return err
	}
	writeData(w, r, http.StatusCreated, out)
	return nil
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Events.Store.ListWebhooks(r.Context(), actor(r).UserID, MaxLimit)
	if err != nil {
		return err
	}
	if list == nil {
		list = []*turbocat.Webhook{}
	}
	writeData(w, r, http.StatusOK, turbocat.List[*turbocat.Webhook]{Items: list})
	return nil
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	if err := s.Events.Store.DeleteWebhook(r.Context(), actor(r).UserID, r.PathValue("id")); err != nil {
		return err
	}
	writeData(w, r, http.StatusOK, map[string]string{"id": r.PathValue("id")})
	return nil
}

func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	list, err := s.Events.Store.ListDeliveries(r.Context(), actor(r).UserID, r.PathValue("id"), p.Limit)
	if err != nil {
		return err
	}
	if list == nil {
		list = []*turbocat.WebhookDelivery{}
	}
	writeData(w, r, http.StatusOK, turbocat.List[*turbocat.WebhookDelivery]{Items: list})
	return nil
}
