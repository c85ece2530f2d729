package httpapi

import (
	"net/http"
	"strconv"

	"github.com/turbocat/turbocat/internal/service"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// The workflows group (functions/workflows): workflows, and running and
// deploying them.

func (s *Server) createWorkflow(w http.ResponseWriter, r *http.Request) error {
	return create(w, r, func(in service.WorkflowInput) (*turbocat.Workflow, error) {
		return s.Workflows.Create(r.Context(), actor(r), in)
	})
}

func (s *Server) listWorkflows(w http.ResponseWriter, r *http.Request) error {
	return list(w, r, func(p turbocat.Page) (*turbocat.List[*turbocat.Workflow], error) {
		return s.Workflows.List(r.Context(), actor(r), r.URL.Query().Get("search"), p)
	})
}

func (s *Server) getWorkflow(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	return read(w, r, func() (*turbocat.Workflow, error) {
		v := r.URL.Query().Get("version")
		if v == "" {
			return s.Workflows.Get(r.Context(), actor(r), id)
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, turbocat.ValidationError("invalid version", turbocat.FieldError{Field: "version", Message: "must be a positive integer"})
		}
		return s.Workflows.Version(r.Context(), actor(r), id, n)
	})
}

func (s *Server) replaceWorkflow(w http.ResponseWriter, r *http.Request) error {
	return s.updateWorkflow(w, r, true)
}

func (s *Server) patchWorkflow(w http.ResponseWriter, r *http.Request) error {
	return s.updateWorkflow(w, r, false)
}

func (s *Server) updateWorkflow(w http.ResponseWriter, r *http.Request, full bool) error {
	return update(w, r, func(in service.WorkflowInput) (*turbocat.Workflow, error) {
		return s.Workflows.Update(r.Context(), actor(r), r.PathValue("id"), in, full)
	})
}

func (s *Server) deleteWorkflow(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	return remove(w, r, "id", id, func() error { return s.Workflows.Delete(r.Context(), actor(r), id) })
}

func (s *Server) executeWorkflow(w http.ResponseWriter, r *http.Request) error {
	wf, err := s.Workflows.Get(r.Context(), actor(r), r.PathValue("id"))
	if err != nil {
		return err // another user's workflow is a 404 before the body is read
	}
	var in service.ExecuteInput
	if err := decodeOptional(r, &in); err != nil {
		return err
	}
	if k := r.Header.Get("Idempotency-Key"); k != "" && in.IdempotencyKey == "" {
		in.IdempotencyKey = k
	}
	e, err := s.Executions.ExecuteWorkflow(r.Context(), actor(r), wf, in)
	if err != nil {
		return err
	}
	return s.answerRun(w, r, e)
}

func (s *Server) deployWorkflow(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.Workflows.Get(r.Context(), actor(r), r.PathValue("id")); err != nil {
		return err
	}
	return create(w, r, func(in service.DeployInput) (*service.CreatedDeployment, error) {
		return s.Deployments.Deploy(r.Context(), actor(r), r.PathValue("id"), in)
	})
}
