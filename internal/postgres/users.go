package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/turbocat/turbocat/internal/postgres/dbsqlc"
	"github.com/turbocat/turbocat/internal/turbocat"
)

var _ turbocat.UserStore = (*DB)(nil)
var _ turbocat.APIKeyStore = (*DB)(nil)
var _ turbocat.AuditStore = (*DB)(nil)

func toUser(u dbsqlc.User) *turbocat.User {
	return &turbocat.User{ID: u.ID, Email: u.Email, FullName: u.FullName, Role: u.Role,
		PasswordHash: u.PasswordHash, TokenVersion: int(u.TokenVersion), MonthlyBudgetUSD: u.MonthlyBudgetUsd,
		CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
}

// CreateUser implements turbocat.UserStore.
func (db *DB) CreateUser(ctx context.Context, u *turbocat.User) error {
	return db.inTx(ctx, func(q *dbsqlc.Queries) error {
		row, err := q.UserCreate(ctx, dbsqlc.UserCreateParams{Email: u.Email, PasswordHash: u.PasswordHash, FullName: u.FullName, Role: u.Role})
		if err != nil {
			return translate(err, "user")
		}
		*u = *toUser(row)
		actx := turbocat.WithActor(ctx, &turbocat.Actor{UserID: u.ID, Role: u.Role})
		return audit(actx, q, "user.register", "user", u.ID, nil)
	})
}

// UserByEmail implements turbocat.UserStore.
func (db *DB) UserByEmail(ctx context.Context, email string) (*turbocat.User, error) {
	row, err := db.q.UserGetByEmail(ctx, email)
	if err != nil {
		return nil, translate(err, "user")
	}
	return toUser(row), nil
}

// UserByID implements turbocat.UserStore.
func (db *DB) UserByID(ctx context.Context, id string) (*turbocat.User, error) {
	return getOne(id, "user", func() (dbsqlc.User, error) { return db.q.UserGet(ctx, id) }, toUser)
}

// ListUsers implements turbocat.UserStore.
func (db *DB) ListUsers(ctx context.Context, p turbocat.Page) (*turbocat.List[*turbocat.User], error) {
	return listPage(p, "users", func(limit int32, a after) ([]dbsqlc.User, error) {
		return db.q.UserList(ctx, dbsqlc.UserListParams{Limit: limit, CursorTime: a.Time, CursorID: a.ID})
	}, toUser, func(u *turbocat.User) (time.Time, string) { return u.CreatedAt, u.ID })
}

// SetPassword implements turbocat.UserStore.
func (db *DB) SetPassword(ctx context.Context, userID, hash string) error {
	return db.inTx(ctx, func(q *dbsqlc.Queries) error {
		if err := q.UserSetPassword(ctx, dbsqlc.UserSetPasswordParams{ID: userID, PasswordHash: hash}); err != nil {
			return fmt.Errorf("set password: %w", err)
		}
		n, err := q.RefreshTokenRevokeUser(ctx, userID)
		if err != nil {
			return fmt.Errorf("revoke refresh tokens: %w", err)
		}
		return audit(ctx, q, "user.password_change", "user", userID, map[string]any{"revokedRefreshTokens": n})
	})
}

// SetMonthlyBudget implements turbocat.UserStore.
func (db *DB) SetMonthlyBudget(ctx context.Context, userID string, usd *float64) error {
	return db.inTx(ctx, func(q *dbsqlc.Queries) error {
		if err := q.UserSetMonthlyBudget(ctx, dbsqlc.UserSetMonthlyBudgetParams{ID: userID, MonthlyBudgetUsd: usd}); err != nil {
			return fmt.Errorf("set monthly budget: %w", err)
		}
		return audit(ctx, q, "user.budget", "user", userID, map[string]any{"monthlyBudgetUsd": usd})
	})
}

// EndSessions implements turbocat.UserStore.
func (db *DB) EndSessions(ctx context.Context, userID string, allRefresh bool) error {
	return db.inTx(ctx, func(q *dbsqlc.Queries) error {
		if err := q.UserEndSessions(ctx, userID); err != nil {
			return fmt.Errorf("end sessions: %w", err)
		}
		if !allRefresh {
			return nil
		}
		n, err := q.RefreshTokenRevokeUser(ctx, userID)
		if err != nil {
			return fmt.Errorf("revoke refresh tokens: %w", err)
		}
		return audit(ctx, q, "auth.logout_everywhere", "user", userID, map[string]any{"revokedRefreshTokens": n})
	})
}

// UpdateProfile implements turbocat.UserStore.
func (db *DB) UpdateProfile(ctx context.Context, userID, email, fullName string) (*turbocat.User, error) {
	var out *turbocat.User
	err := db.inTx(ctx, func(q *dbsqlc.Queries) error {
		before, err := q.UserGet(ctx, userID)
		if err != nil {
			return translate(err, "user")
		}
		row, err := q.UserUpdateProfile(ctx, dbsqlc.UserUpdateProfileParams{ID: userID, Email: email, FullName: fullName})
		if err != nil {
			return translate(err, "user")
		}
		out = toUser(row)
		var changed []string
		if before.Email != row.Email {
			changed = append(changed, "email")
		}
		if before.FullName != row.FullName {
			changed = append(changed, "fullName")
		}
		return audit(ctx, q, "user.update", "user", userID, map[string]any{"fields": changed})
	})
	return out, err
}

// DeleteUser implements turbocat.UserStore.
func (db *DB) DeleteUser(ctx context.Context, userID string) error {
	return db.inTx(ctx, func(q *dbsqlc.Queries) error {
		if err := audit(ctx, q, "user.delete", "user", userID, nil); err != nil {
			return err
		}
		n, err := q.UserDelete(ctx, userID)
		if err != nil {
			return translate(err, "user")
		}
		if n == 0 {
			return turbocat.NotFound("user")
		}
		return nil
	})
}

// CreateRefreshToken implements turbocat.UserStore.
func (db *DB) CreateRefreshToken(ctx context.Context, t turbocat.RefreshToken) error {
	err := db.q.RefreshTokenCreate(ctx, dbsqlc.RefreshTokenCreateParams{UserID: t.UserID, FamilyID: t.FamilyID, TokenHash: t.Hash, ExpiresAt: t.Expires})
	if err != nil {
		return fmt.Errorf("store refresh token: %w", err)
	}
	return nil
}

var errInvalidRefresh = turbocat.Errorf(turbocat.EUNAUTHORIZED, "invalid or expired refresh token")

// RotateRefreshToken implements turbocat.UserStore.
func (db *DB) RotateRefreshToken(ctx context.Context, oldHash, newHash []byte, expires time.Time) (*turbocat.User, error) {
	var user *turbocat.User
	var reuse *dbsqlc.RefreshToken
	err := db.inTx(ctx, func(q *dbsqlc.Queries) error {
		old, err := q.RefreshTokenRotate(ctx, oldHash)
		if errors.Is(err, pgx.ErrNoRows) {
			prev, err := q.RefreshTokenGetByHash(ctx, oldHash)
			if err == nil && prev.RotatedAt != nil && prev.RevokedAt == nil {
				reuse = &prev
			} else if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("look up refresh token: %w", err)
			}
			return errInvalidRefresh
		}
		if err != nil {
			return fmt.Errorf("rotate refresh token: %w", err)
		}
		if err := q.RefreshTokenCreate(ctx, dbsqlc.RefreshTokenCreateParams{UserID: old.UserID, FamilyID: old.FamilyID, TokenHash: newHash, ExpiresAt: expires}); err != nil {
			return fmt.Errorf("store refresh token: %w", err)
		}
		u, err := q.UserGet(ctx, old.UserID)
		if err != nil {
			return translate(err, "user")
		}
		user = toUser(u)
		return nil
	})
	if reuse != nil {
		// A rotated token came back: someone holds a copy. Revoke the whole
		// family, in its own transaction, and leave a trace.
		rerr := db.inTx(ctx, func(q *dbsqlc.Queries) error {
			n, err := q.RefreshTokenRevokeFamily(ctx, reuse.FamilyID)
			if err != nil {
				return err
			}
			actx := turbocat.WithActor(ctx, &turbocat.Actor{UserID: reuse.UserID})
			return audit(actx, q, "auth.refresh_reuse", "refresh_token_family", reuse.FamilyID, map[string]any{"revoked": n})
		})
		if rerr != nil {
			return nil, fmt.Errorf("revoke reused refresh family: %w", rerr)
		}
	}
	if err != nil {
		return nil, err
	}
	return user, nil
}

// RevokeRefreshFamily implements turbocat.UserStore.
func (db *DB) RevokeRefreshFamily(ctx context.Context, hash []byte) error {
	return db.inTx(ctx, func(q *dbsqlc.Queries) error {
		tok, err := q.RefreshTokenGetByHash(ctx, hash)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("look up refresh token: %w", err)
		}
		if a := turbocat.ActorFrom(ctx); a != nil && a.UserID != tok.UserID {
			return nil // not the caller's token: nothing to revoke, nothing to say
		}
		if _, err := q.RefreshTokenRevokeFamily(ctx, tok.FamilyID); err != nil {
			return fmt.Errorf("revoke refresh family: %w", err)
		}
		return audit(ctx, q, "auth.logout", "refresh_token_family", tok.FamilyID, nil)
	})
}

func toAPIKey(k dbsqlc.ApiKey) *turbocat.APIKey {
	return &turbocat.APIKey{ID: k.ID, UserID: k.UserID, Name: k.Name, Prefix: k.Prefix, Scopes: k.Scopes,
		LastUsedAt: k.LastUsedAt, ExpiresAt: k.ExpiresAt, RevokedAt: k.RevokedAt, CreatedAt: k.CreatedAt, KeyHash: k.KeyHash}
}

// CreateAPIKey implements turbocat.APIKeyStore.
func (db *DB) CreateAPIKey(ctx context.Context, k *turbocat.APIKey) error {
	return db.inTx(ctx, func(q *dbsqlc.Queries) error {
		row, err := q.APIKeyCreate(ctx, dbsqlc.APIKeyCreateParams{UserID: k.UserID, Name: k.Name, Prefix: k.Prefix,
			KeyHash: k.KeyHash, Scopes: k.Scopes, ExpiresAt: k.ExpiresAt})
		if err != nil {
			return translate(err, "api key")
		}
		*k = *toAPIKey(row)
		return audit(ctx, q, "api_key.create", "api_key", k.ID, map[string]any{"name": k.Name, "scopes": k.Scopes, "prefix": k.Prefix})
	})
}

// APIKeyByPrefix implements turbocat.APIKeyStore.
func (db *DB) APIKeyByPrefix(ctx context.Context, prefix string) (*turbocat.APIKey, string, error) {
	row, err := db.q.APIKeyGetByPrefix(ctx, prefix)
	if err != nil {
		return nil, "", translate(err, "api key")
	}
	k := toAPIKey(dbsqlc.ApiKey{ID: row.ID, UserID: row.UserID, Name: row.Name, Prefix: row.Prefix, KeyHash: row.KeyHash,
		Scopes: row.Scopes, LastUsedAt: row.LastUsedAt, ExpiresAt: row.ExpiresAt, RevokedAt: row.RevokedAt, CreatedAt: row.CreatedAt})
	return k, row.UserRole, nil
}

// TouchAPIKey implements turbocat.APIKeyStore.
func (db *DB) TouchAPIKey(ctx context.Context, id string) error {
	return db.q.APIKeyTouch(ctx, id)
}

// ListAPIKeys implements turbocat.APIKeyStore.
func (db *DB) ListAPIKeys(ctx context.Context, userID string, p turbocat.Page) (*turbocat.List[*turbocat.APIKey], error) {
	return listPage(p, "api keys", func(limit int32, a after) ([]dbsqlc.ApiKey, error) {
		return db.q.APIKeyList(ctx, dbsqlc.APIKeyListParams{UserID: userID, Limit: limit, CursorTime: a.Time, CursorID: a.ID})
	}, toAPIKey, func(k *turbocat.APIKey) (time.Time, string) { return k.CreatedAt, k.ID })
}

// RevokeAPIKey implements turbocat.APIKeyStore.
func (db *DB) RevokeAPIKey(ctx context.Context, userID, id string) (*turbocat.APIKey, error) {
	if !isUUID(id) {
		return nil, turbocat.NotFound("api key")
	}
	var k *turbocat.APIKey
	err := db.inTx(ctx, func(q *dbsqlc.Queries) error {
		row, err := q.APIKeyRevoke(ctx, dbsqlc.APIKeyRevokeParams{ID: id, UserID: userID})
		if err != nil {
			return translate(err, "api key")
		}
		k = toAPIKey(row)
		return audit(ctx, q, "api_key.revoke", "api_key", id, map[string]any{"prefix": k.Prefix})
	})
	return k, err
}

// Audit implements turbocat.AuditStore.
func (db *DB) Audit(ctx context.Context, action, resourceType, resourceID string, metadata map[string]any) error {
	return audit(ctx, db.q, action, resourceType, resourceID, metadata)
}

// ListAudit implements turbocat.AuditStore.
func (db *DB) ListAudit(ctx context.Context, f turbocat.AuditFilter, p turbocat.Page) (*turbocat.List[*turbocat.AuditEntry], error) {
	var cursorID *int64
	if p.Cursor != "" {
		id, err := decodeIDCursor(p.Cursor)
		if err != nil {
			return nil, err
		}
		cursorID = &id
	}
	rows, err := db.q.AuditList(ctx, dbsqlc.AuditListParams{
		Limit: int32(p.Limit + 1), UserID: f.UserID, ResourceType: nilIfEmpty(f.ResourceType),
		ResourceID: nilIfEmpty(f.ResourceID), Action: nilIfEmpty(f.Action), Since: f.Since, Until: f.Until, CursorID: cursorID,
	})
	if err != nil {
		return nil, fmt.Errorf("list audit log: %w", err)
	}
	items := mapSlice(rows, func(r dbsqlc.AuditLog) *turbocat.AuditEntry {
		return &turbocat.AuditEntry{ID: r.ID, UserID: r.UserID, Action: r.Action, ResourceType: r.ResourceType,
			ResourceID: r.ResourceID, Metadata: r.Metadata, IP: r.Ip, UserAgent: r.UserAgent, RequestID: r.RequestID, CreatedAt: r.CreatedAt}
	})
	out := &turbocat.List[*turbocat.AuditEntry]{Items: items}
	if len(items) > p.Limit {
		out.Items = items[:p.Limit]
		out.NextCursor = encodeIDCursor(items[p.Limit-1].ID)
	}
	if out.Items == nil {
		out.Items = []*turbocat.AuditEntry{}
	}
	return out, nil
}

func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
