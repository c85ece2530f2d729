package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/turbocat/turbocat/internal/service"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// The auth group (functions/auth): health, the OpenAPI document, sessions,
// accounts and the audit log.

func (s *Server) health(w http.ResponseWriter, r *http.Request) error {
	writeData(w, r, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.Health.Ping(ctx); err != nil {
		s.logger.Warn("readiness check failed", "error", err.Error())
		return turbocat.Errorf(turbocat.EUNAVAILABLE, "database unreachable")
	}
	writeData(w, r, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}

func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(OpenAPIDocument())
	return nil
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) error {
	return create(w, r, func(in service.RegisterInput) (*turbocat.Session, error) {
		return s.Auth.Register(r.Context(), in)
	})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	return update(w, r, func(in service.LoginInput) (*turbocat.Session, error) {
		return s.Auth.Login(r.Context(), in)
	})
}

type refreshInput struct {
	RefreshToken string `json:"refreshToken"`
}

func (s *Server) refresh(w http.ResponseWriter, r *http.Request) error {
	return update(w, r, func(in refreshInput) (*turbocat.Session, error) {
		return s.Auth.Refresh(r.Context(), in.RefreshToken)
	})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	return update(w, r, func(in service.LogoutInput) (map[string]bool, error) {
		return map[string]bool{"loggedOut": true}, s.Auth.Logout(r.Context(), actor(r), in)
	})
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	return read(w, r, func() (*turbocat.User, error) { return s.Auth.Me(r.Context(), actor(r)) })
}

func (s *Server) updateMe(w http.ResponseWriter, r *http.Request) error {
	return update(w, r, func(in service.ProfileInput) (*turbocat.User, error) {
		return s.Auth.UpdateProfile(r.Context(), actor(r).UserID, in)
	})
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	return update(w, r, func(in service.ChangePasswordInput) (map[string]bool, error) {
		return map[string]bool{"passwordChanged": true}, s.Auth.ChangePassword(r.Context(), actor(r).UserID, in)
	})
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	return list(w, r, func(p turbocat.Page) (*turbocat.List[*turbocat.User], error) {
		return s.Auth.ListUsers(r.Context(), p)
	})
}

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	in := service.AuditQuery{UserID: q.Get("userId"),
		AuditFilter: turbocat.AuditFilter{ResourceType: q.Get("resourceType"), ResourceID: q.Get("resourceId"), Action: q.Get("action")}}
	var err error
	if in.Since, err = timeParam(r, "since"); err != nil {
		return err
	}
	if in.Until, err = timeParam(r, "until"); err != nil {
		return err
	}
	return list(w, r, func(p turbocat.Page) (*turbocat.List[*turbocat.AuditEntry], error) {
		return s.Audit.List(r.Context(), actor(r), in, p)
	})
}
