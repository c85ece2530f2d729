package service

import (
	"context"

	"github.com/turbocat/turbocat/internal/turbocat"
)

// Audit reads the audit log: users read their own entries; administrators
// signed in (not through an API key) read everyone's, or one user's.
type Audit struct {
	Store turbocat.AuditStore
}

// AuditQuery is what a listing of the audit log asks for. UserID (a user's
// id, or "" for every user) is honoured for administrators only.
type AuditQuery struct {
	turbocat.AuditFilter
	UserID string
}

// List returns a page of the audit entries the actor may read.
func (s *Audit) List(ctx context.Context, actor *turbocat.Actor, q AuditQuery, p turbocat.Page) (*turbocat.List[*turbocat.AuditEntry], error) {
	f := q.AuditFilter
	uid := actor.UserID
	f.UserID = &uid
	if actor.IsAdmin() && actor.APIKeyID == "" {
		f.UserID = nil
		if q.UserID != "" {
			if !turbocat.IsID(q.UserID) {
				return nil, turbocat.ValidationError("invalid userId", turbocat.FieldError{Field: "userId", Message: "must be a user id (UUID)"})
			}
			f.UserID = &q.UserID
		}
	}
	return s.Store.ListAudit(ctx, f, p)
}
