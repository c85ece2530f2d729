package httpapi

import (
	"net/http"

	"github.com/turbocat/turbocat/internal/service"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// The deployments group (functions/deployments): deployments and outbound
// webhook subscriptions.

func (s *Server) listDeployments(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := turbocat.DeploymentFilter{WorkflowID: q.Get("workflowId"), Environment: q.Get("environment")}
	return list(w, r, func(p turbocat.Page) (*turbocat.List[*turbocat.Deployment], error) {
		return s.Deployments.List(r.Context(), actor(r), f, p)
	})
}

func (s *Server) getDeployment(w http.ResponseWriter, r *http.Request) error {
	return read(w, r, func() (*turbocat.Deployment, error) {
		return s.Deployments.Get(r.Context(), actor(r), r.PathValue("id"))
	})
}

func (s *Server) rollbackDeployment(w http.ResponseWriter, r *http.Request) error {
	return read(w, r, func() (*turbocat.Deployment, error) {
		return s.Deployments.Rollback(r.Context(), actor(r), r.PathValue("id"))
	})
}

func (s *Server) rotateDeploymentSecret(w http.ResponseWriter, r *http.Request) error {
	return read(w, r, func() (*service.CreatedDeployment, error) {
		return s.Deployments.RotateSecret(r.Context(), actor(r), r.PathValue("id"))
	})
}

func (s *Server) deactivateDeployment(w http.ResponseWriter, r *http.Request) error {
	return read(w, r, func() (*turbocat.Deployment, error) {
		return s.Deployments.Deactivate(r.Context(), actor(r), r.PathValue("id"))
	})
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) error {
	return create(w, r, func(in service.WebhookInput) (*service.CreatedWebhook, error) {
		return s.Webhooks.Subscribe(r.Context(), actor(r), in)
	})
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) error {
	return read(w, r, func() (turbocat.List[*turbocat.Webhook], error) {
		items, err := s.Webhooks.List(r.Context(), actor(r), MaxLimit)
		return turbocat.List[*turbocat.Webhook]{Items: items}, err
	})
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	return remove(w, r, "id", id, func() error { return s.Webhooks.Delete(r.Context(), actor(r), id) })
}

func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request) error {
	return list(w, r, func(p turbocat.Page) (turbocat.List[*turbocat.WebhookDelivery], error) {
		items, err := s.Webhooks.Deliveries(r.Context(), actor(r), r.PathValue("id"), p.Limit)
		return turbocat.List[*turbocat.WebhookDelivery]{Items: items}, err
	})
}
