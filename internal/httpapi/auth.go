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

// The console keeps its refresh token in a cookie that script cannot read
// and the browser sends only to the refresh route: a request with
// SessionHeader: cookie gets the refresh token as RefreshCookie (HttpOnly,
// Secure, SameSite=Strict, Path=/api/v1/auth/refresh) instead of in the
// body. POST /auth/refresh then reads it when the body names no token,
// and DELETE /auth/refresh ends that session and clears the cookie.
const (
	SessionHeader = "X-Turbocat-Session"
	RefreshCookie = "turbocat_refresh"
	refreshPath   = "/api/v1/auth/refresh"
)

// cookieSession sends a session's refresh token as the cookie when the
// request asked for it.
func (s *Server) cookieSession(w http.ResponseWriter, r *http.Request, sess *turbocat.Session) {
	if r.Header.Get(SessionHeader) != "cookie" || sess == nil || sess.RefreshToken == "" {
		return
	}
	http.SetCookie(w, &http.Cookie{Name: RefreshCookie, Value: sess.RefreshToken, Path: refreshPath,
		MaxAge: int(s.Auth.RefreshTTL.Seconds()), HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
	sess.RefreshToken = ""
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) error {
	return create(w, r, func(in service.RegisterInput) (*turbocat.Session, error) {
		sess, err := s.Auth.Register(r.Context(), in)
		s.cookieSession(w, r, sess)
		return sess, err
	})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	return update(w, r, func(in service.LoginInput) (*turbocat.Session, error) {
		sess, err := s.Auth.Login(r.Context(), in)
		s.cookieSession(w, r, sess)
		return sess, err
	})
}

type refreshInput struct {
	RefreshToken string `json:"refreshToken"`
}

func (s *Server) refresh(w http.ResponseWriter, r *http.Request) error {
	var in refreshInput
	if err := decodeOptional(r, &in); err != nil {
		return err
	}
	if in.RefreshToken == "" {
		if c, err := r.Cookie(RefreshCookie); err == nil && c.Value != "" {
			in.RefreshToken = c.Value
			r.Header.Set(SessionHeader, "cookie") // the new one goes back there
		}
	}
	sess, err := s.Auth.Refresh(r.Context(), in.RefreshToken)
	if err != nil {
		if r.Header.Get(SessionHeader) == "cookie" && turbocat.ErrorCodeOf(err) != turbocat.EVALIDATION {
			clearRefreshCookie(w)
		}
		return err
	}
	s.cookieSession(w, r, sess)
	writeData(w, r, http.StatusOK, sess)
	return nil
}

// endCookieSession is DELETE /auth/refresh: the console's log out.
func (s *Server) endCookieSession(w http.ResponseWriter, r *http.Request) error {
	token := ""
	if c, err := r.Cookie(RefreshCookie); err == nil {
		token = c.Value
	}
	if err := s.Auth.LogoutRefresh(r.Context(), token); err != nil {
		return err
	}
	clearRefreshCookie(w)
	writeData(w, r, http.StatusOK, map[string]bool{"loggedOut": true})
	return nil
}

func clearRefreshCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: RefreshCookie, Value: "", Path: refreshPath, MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
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
