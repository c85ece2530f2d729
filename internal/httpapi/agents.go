package httpapi

import (
	"net/http"

	"github.com/turbocat/turbocat/internal/service"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// The agents group (functions/agents).

func (s *Server) createAgent(w http.ResponseWriter, r *http.Request) error {
	return create(w, r, func(in service.AgentInput) (*turbocat.Agent, error) {
		return s.Agents.Create(r.Context(), actor(r), in)
	})
}

func (s *Server) listAgents(w http.ResponseWriter, r *http.Request) error {
	f := turbocat.AgentFilter{Type: r.URL.Query().Get("type"), Search: r.URL.Query().Get("search")}
	return list(w, r, func(p turbocat.Page) (*turbocat.List[*turbocat.Agent], error) {
		if err := oneOf("type", f.Type, turbocat.AgentCode, turbocat.AgentAPI, turbocat.AgentLLM); err != nil {
			return nil, err
		}
		return s.Agents.List(r.Context(), actor(r), f, p)
	})
}

func (s *Server) getAgent(w http.ResponseWriter, r *http.Request) error {
	return read(w, r, func() (*turbocat.Agent, error) { return s.Agents.Get(r.Context(), actor(r), r.PathValue("id")) })
}

func (s *Server) updateAgent(w http.ResponseWriter, r *http.Request) error {
	return update(w, r, func(in service.AgentInput) (*turbocat.Agent, error) {
		return s.Agents.Update(r.Context(), actor(r), r.PathValue("id"), in)
	})
}

func (s *Server) deleteAgent(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	return remove(w, r, "id", id, func() error { return s.Agents.Delete(r.Context(), actor(r), id) })
}

func (s *Server) testAgent(w http.ResponseWriter, r *http.Request) error {
	a := actor(r)
	if _, err := s.Agents.Get(r.Context(), a, r.PathValue("id")); err != nil {
		return err // another user's agent is a 404 before the body is read
	}
	var in service.AgentTestInput
	if err := decodeOptional(r, &in); err != nil {
		return err
	}
	return read(w, r, func() (*service.AgentTestResult, error) { return s.Agents.Test(r.Context(), a, r.PathValue("id"), in) })
}
