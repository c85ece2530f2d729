package httpapi

import (
	"net/http"

	"github.com/turbocat/turbocat/internal/service"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// The apikeys group (functions/apikeys): API keys and secrets. Secrets show
// names and timestamps only, never values.

func (s *Server) createAPIKey(w http.ResponseWriter, r *http.Request) error {
	return create(w, r, func(in service.CreateAPIKeyInput) (*service.CreatedAPIKey, error) {
		return s.APIKeys.Create(r.Context(), actor(r), in)
	})
}

func (s *Server) listAPIKeys(w http.ResponseWriter, r *http.Request) error {
	return list(w, r, func(p turbocat.Page) (*turbocat.List[*turbocat.APIKey], error) {
		return s.APIKeys.List(r.Context(), actor(r), p)
	})
}

func (s *Server) revokeAPIKey(w http.ResponseWriter, r *http.Request) error {
	return read(w, r, func() (*turbocat.APIKey, error) { return s.APIKeys.Revoke(r.Context(), actor(r), r.PathValue("id")) })
}

func (s *Server) putSecret(w http.ResponseWriter, r *http.Request) error {
	var in service.SecretInput
	if err := decode(r, &in); err != nil {
		return err
	}
	meta, created, err := s.Secrets.Put(r.Context(), actor(r), in)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeData(w, r, status, meta)
	return nil
}

func (s *Server) listSecrets(w http.ResponseWriter, r *http.Request) error {
	return read(w, r, func() (turbocat.List[*turbocat.SecretMeta], error) {
		items, err := s.Secrets.List(r.Context(), actor(r))
		return turbocat.List[*turbocat.SecretMeta]{Items: items}, err
	})
}

func (s *Server) deleteSecret(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	return remove(w, r, "name", name, func() error { return s.Secrets.Delete(r.Context(), actor(r), name) })
}
