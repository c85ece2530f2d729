package httpapi

import (
	"net/http"

	"github.com/turbocat/turbocat/internal/service"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// The templates group (functions/templates).

func (s *Server) createTemplate(w http.ResponseWriter, r *http.Request) error {
	return create(w, r, func(in service.TemplateInput) (*turbocat.Template, error) {
		return s.Templates.Create(r.Context(), actor(r), in)
	})
}

func (s *Server) listTemplates(w http.ResponseWriter, r *http.Request) error {
	kind := r.URL.Query().Get("kind")
	return list(w, r, func(p turbocat.Page) (*turbocat.List[*turbocat.Template], error) {
		if kind != "" && kind != turbocat.TemplateAgent && kind != turbocat.TemplateWorkflow {
			return nil, turbocat.ValidationError("invalid kind", turbocat.FieldError{Field: "kind", Message: "must be agent or workflow"})
		}
		return s.Templates.List(r.Context(), actor(r), kind, p)
	})
}

func (s *Server) getTemplate(w http.ResponseWriter, r *http.Request) error {
	return read(w, r, func() (*turbocat.Template, error) { return s.Templates.Get(r.Context(), actor(r), r.PathValue("id")) })
}

func (s *Server) updateTemplate(w http.ResponseWriter, r *http.Request) error {
	return update(w, r, func(in service.TemplateInput) (*turbocat.Template, error) {
		return s.Templates.Update(r.Context(), actor(r), r.PathValue("id"), in)
	})
}

func (s *Server) deleteTemplate(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	return remove(w, r, "id", id, func() error { return s.Templates.Delete(r.Context(), actor(r), id) })
}

func (s *Server) instantiateTemplate(w http.ResponseWriter, r *http.Request) error {
	var in service.InstantiateInput
	if err := decodeOptional(r, &in); err != nil {
		return err
	}
	a := actor(r)
	// Instantiating writes agents or workflows: the key needs those scopes.
	if !a.HasScope("agents:write") || !a.HasScope("workflows:write") {
		return turbocat.Errorf(turbocat.EFORBIDDEN, "instantiating a template needs the agents:write and workflows:write scopes")
	}
	out, err := s.Templates.Instantiate(r.Context(), a, r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeData(w, r, http.StatusCreated, out)
	return nil
}
