// Package service holds the business rules that span adapters: sign-up and
// sessions (hashing, tokens, storage), API keys, validation of agents and
// workflows against their schemas and DAG rules, quotas and defaults. It
// depends on domain interfaces only, never on pgx or the AWS SDK; handlers
// and Lambda mains call it.
package service

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/turbocat/turbocat/internal/auth"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// Auth runs registration, login, token refresh and API-key checks.
type Auth struct {
	Users      turbocat.UserStore
	APIKeys    turbocat.APIKeyStore
	Audit      turbocat.AuditStore
	Hasher     *auth.Hasher
	Tokens     *auth.Tokens
	RefreshTTL time.Duration
	Now        func() time.Time
}

func (s *Auth) now() time.Time { return nowOr(s.Now) }

// RegisterInput is the body of POST /auth/register.
type RegisterInput struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	FullName string `json:"fullName"`
}

// NormalizeEmail lower-cases and trims an address and checks its syntax.
func NormalizeEmail(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) < 3 || len(s) > 254 {
		return s, false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || !strings.Contains(s[strings.LastIndexByte(s, '@'):], ".") {
		return s, false
	}
	return s, true
}

func checkPassword(field, pw string) *turbocat.FieldError {
	n := utf8.RuneCountInString(pw)
	if n < auth.MinPasswordLen || n > auth.MaxPasswordLen || len(pw) > 4*auth.MaxPasswordLen {
		return &turbocat.FieldError{Field: field, Message: fmt.Sprintf("must be %d to %d characters", auth.MinPasswordLen, auth.MaxPasswordLen)}
	}
	return nil
}

// Register creates an account and opens a session.
func (s *Auth) Register(ctx context.Context, in RegisterInput) (*turbocat.Session, error) {
	var details []turbocat.FieldError
	email, ok := NormalizeEmail(in.Email)
	if !ok {
		details = append(details, turbocat.FieldError{Field: "email", Message: "must be a valid email address"})
	}
	if fe := checkPassword("password", in.Password); fe != nil {
		details = append(details, *fe)
	}
	name := strings.TrimSpace(in.FullName)
	if utf8.RuneCountInString(name) > 200 {
		details = append(details, turbocat.FieldError{Field: "fullName", Message: "must be at most 200 characters"})
	}
	if len(details) > 0 {
		return nil, turbocat.ValidationError("invalid registration", details...)
	}
	hash, err := s.Hasher.Hash(ctx, in.Password)
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	u := &turbocat.User{Email: email, PasswordHash: hash, FullName: name, Role: turbocat.RoleUser}
	if err := s.Users.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	return s.session(ctx, u, "")
}

// LoginInput is the body of POST /auth/login.
type LoginInput struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

var errBadLogin = turbocat.Errorf(turbocat.EUNAUTHORIZED, "invalid email or password")

// Login checks credentials. Unknown emails and wrong passwords fail alike
// and take the same time: a dummy hash is verified for unknown emails.
func (s *Auth) Login(ctx context.Context, in LoginInput) (*turbocat.Session, error) {
	if strings.TrimSpace(in.Email) == "" || in.Password == "" {
		var d []turbocat.FieldError
		if strings.TrimSpace(in.Email) == "" {
			d = append(d, turbocat.FieldError{Field: "email", Message: "is required"})
		}
		if in.Password == "" {
			d = append(d, turbocat.FieldError{Field: "password", Message: "is required"})
		}
		return nil, turbocat.ValidationError("email and password are required", d...)
	}
	email, _ := NormalizeEmail(in.Email)
	if len(in.Password) > 4*auth.MaxPasswordLen {
		return nil, errBadLogin
	}
	u, err := s.Users.UserByEmail(ctx, email)
	if err != nil && turbocat.ErrorCodeOf(err) != turbocat.ENOTFOUND {
		return nil, err
	}
	phc := ""
	if u != nil {
		phc = u.PasswordHash
	}
	if err := s.Hasher.Verify(ctx, phc, in.Password); err != nil {
		if errors.Is(err, auth.ErrMismatch) {
			return nil, errBadLogin
		}
		return nil, fmt.Errorf("login: %w", err)
	}
	actx := turbocat.WithActor(ctx, &turbocat.Actor{UserID: u.ID, Role: u.Role})
	if err := s.Audit.Audit(actx, "auth.login", "user", u.ID, nil); err != nil {
		return nil, err
	}
	return s.session(ctx, u, "")
}

// session issues an access token and a refresh token in a new family.
func (s *Auth) session(ctx context.Context, u *turbocat.User, _ string) (*turbocat.Session, error) {
	access, err := s.Tokens.Issue(u.ID, u.Role, u.TokenVersion)
	if err != nil {
		return nil, err
	}
	refresh, hash := auth.RefreshToken()
	if err := s.Users.CreateRefreshToken(ctx, turbocat.RefreshToken{UserID: u.ID, FamilyID: turbocat.NewID(), Hash: hash, Expires: s.now().Add(s.RefreshTTL)}); err != nil {
		return nil, err
	}
	return &turbocat.Session{User: u, AccessToken: access, RefreshToken: refresh, ExpiresIn: int(s.Tokens.TTL().Seconds())}, nil
}

// Refresh rotates a refresh token: the old one stops working, and reusing it
// later revokes the whole family.
func (s *Auth) Refresh(ctx context.Context, token string) (*turbocat.Session, error) {
	if token == "" {
		return nil, turbocat.ValidationError("invalid refresh", turbocat.FieldError{Field: "refreshToken", Message: "is required"})
	}
	if len(token) > 256 {
		return nil, turbocat.Errorf(turbocat.EUNAUTHORIZED, "invalid or expired refresh token")
	}
	next, nextHash := auth.RefreshToken()
	u, err := s.Users.RotateRefreshToken(ctx, auth.HashToken(token), nextHash, s.now().Add(s.RefreshTTL))
	if err != nil {
		return nil, err
	}
	access, err := s.Tokens.Issue(u.ID, u.Role, u.TokenVersion)
	if err != nil {
		return nil, err
	}
	return &turbocat.Session{User: u, AccessToken: access, RefreshToken: next, ExpiresIn: int(s.Tokens.TTL().Seconds())}, nil
}

// LogoutInput is the body of POST /auth/logout.
type LogoutInput struct {
	RefreshToken string `json:"refreshToken"`
	// Everywhere ends every session of the user, not only this one.
	Everywhere bool `json:"everywhere"`
}

// Logout ends the session of the refresh token at once: its refresh family
// is revoked and the access tokens issued so far stop working (other
// sessions refresh theirs). With Everywhere, every session of the user
// ends.
func (s *Auth) Logout(ctx context.Context, actor *turbocat.Actor, in LogoutInput) error {
	if (in.RefreshToken == "" && !in.Everywhere) || len(in.RefreshToken) > 256 {
		return turbocat.ValidationError("invalid logout", turbocat.FieldError{Field: "refreshToken", Message: "is required (or everywhere: true)"})
	}
	if in.RefreshToken != "" {
		if err := s.Users.RevokeRefreshFamily(ctx, auth.HashToken(in.RefreshToken)); err != nil {
			return err
		}
	}
	return s.Users.EndSessions(ctx, actor.UserID, in.Everywhere)
}

// LogoutRefresh ends the session a refresh token belongs to, given the
// token alone (the console's cookie): its family is revoked and the user's
// access tokens issued so far stop working (other sessions refresh theirs).
// An unknown, used or expired token is already no session: no error.
func (s *Auth) LogoutRefresh(ctx context.Context, token string) error {
	if token == "" || len(token) > 256 {
		return nil
	}
	_, nextHash := auth.RefreshToken()
	u, err := s.Users.RotateRefreshToken(ctx, auth.HashToken(token), nextHash, s.now().Add(time.Minute))
	if code := turbocat.ErrorCodeOf(err); code == turbocat.EUNAUTHORIZED || code == turbocat.ETOKENEXPIRED {
		return nil
	} else if err != nil {
		return err
	}
	if err := s.Users.RevokeRefreshFamily(ctx, nextHash); err != nil {
		return err
	}
	return s.Users.EndSessions(ctx, u.ID, false)
}

// ChangePasswordInput is the body of POST /auth/password.
type ChangePasswordInput struct {
	CurrentPassword string `json:"currentPassword"`
	NewPassword     string `json:"newPassword"`
}

// ChangePassword checks the current password, stores the new one and
// revokes every refresh token of the user.
func (s *Auth) ChangePassword(ctx context.Context, userID string, in ChangePasswordInput) error {
	if fe := checkPassword("newPassword", in.NewPassword); fe != nil {
		return turbocat.ValidationError("invalid password", *fe)
	}
	u, err := s.Users.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	if len(in.CurrentPassword) > 4*auth.MaxPasswordLen || s.Hasher.Verify(ctx, u.PasswordHash, in.CurrentPassword) != nil {
		return turbocat.ValidationError("invalid password", turbocat.FieldError{Field: "currentPassword", Message: "does not match"})
	}
	hash, err := s.Hasher.Hash(ctx, in.NewPassword)
	if err != nil {
		return err
	}
	return s.Users.SetPassword(ctx, userID, hash)
}

// ProfileInput is the body of PATCH /auth/me: the fields given change. A
// new email needs the current password.
type ProfileInput struct {
	Email           *string `json:"email"`
	FullName        *string `json:"fullName"`
	CurrentPassword string  `json:"currentPassword"`
	// MonthlyBudgetUSD bounds the user's model spend per calendar month:
	// a number, or null to remove the bound.
	MonthlyBudgetUSD json.RawMessage `json:"monthlyBudgetUsd"`
}

// UpdateProfile changes the caller's name and email.
func (s *Auth) UpdateProfile(ctx context.Context, userID string, in ProfileInput) (*turbocat.User, error) {
	u, err := s.Users.UserByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	email, name := u.Email, u.FullName
	var details []turbocat.FieldError
	if in.FullName != nil {
		name = strings.TrimSpace(*in.FullName)
		if utf8.RuneCountInString(name) > 200 {
			details = append(details, turbocat.FieldError{Field: "fullName", Message: "must be at most 200 characters"})
		}
	}
	if in.Email != nil {
		e, ok := NormalizeEmail(*in.Email)
		switch {
		case !ok:
			details = append(details, turbocat.FieldError{Field: "email", Message: "must be a valid email address"})
		case e != u.Email && (len(in.CurrentPassword) > 4*auth.MaxPasswordLen || s.Hasher.Verify(ctx, u.PasswordHash, in.CurrentPassword) != nil):
			details = append(details, turbocat.FieldError{Field: "currentPassword", Message: "must be your current password to change the email"})
		default:
			email = e
		}
	}
	budget, setBudget := u.MonthlyBudgetUSD, in.MonthlyBudgetUSD != nil
	if setBudget {
		var ok bool
		if budget, ok = optionalNumber[float64](in.MonthlyBudgetUSD); !ok || (budget != nil && (*budget < 0 || *budget > 1e9)) {
			details = append(details, turbocat.FieldError{Field: "monthlyBudgetUsd", Message: "must be a number of USD from 0 to 1000000000, or null for no bound"})
		}
	}
	if len(details) > 0 {
		return nil, turbocat.ValidationError("invalid profile", details...)
	}
	if setBudget {
		if err := s.Users.SetMonthlyBudget(ctx, userID, budget); err != nil {
			return nil, err
		}
		u.MonthlyBudgetUSD = budget
	}
	if email == u.Email && name == u.FullName {
		return u, nil
	}
	return s.Users.UpdateProfile(ctx, userID, email, name)
}

// Authenticate turns a bearer credential (JWT access token or API key) into
// an actor. Errors are EUNAUTHORIZED or ETOKENEXPIRED.
func (s *Auth) Authenticate(ctx context.Context, credential string) (*turbocat.Actor, error) {
	if strings.HasPrefix(credential, auth.APIKeyPrefix) {
		return s.authenticateKey(ctx, credential)
	}
	claims, err := s.Tokens.Verify(credential)
	if errors.Is(err, auth.ErrTokenExpired) {
		return nil, turbocat.Errorf(turbocat.ETOKENEXPIRED, "access token expired; refresh it with POST /api/v1/auth/refresh")
	}
	if err != nil {
		return nil, &turbocat.Error{Code: turbocat.EUNAUTHORIZED, Message: "invalid access token", Err: err}
	}
	// The user must still exist, the role comes from the database so a
	// demotion applies at once, and a token of an older token version was
	// ended by a logout or a password change.
	u, err := s.Users.UserByID(ctx, claims.Subject)
	if turbocat.ErrorCodeOf(err) == turbocat.ENOTFOUND {
		return nil, turbocat.Errorf(turbocat.EUNAUTHORIZED, "invalid access token")
	}
	if err != nil {
		return nil, err
	}
	if claims.Version != u.TokenVersion {
		// TOKEN_EXPIRED: a client still signed in refreshes; one that
		// logged out (its refresh family revoked) cannot.
		return nil, turbocat.Errorf(turbocat.ETOKENEXPIRED, "the access token was ended by a logout or a password change; refresh it with POST /api/v1/auth/refresh or sign in again")
	}
	return &turbocat.Actor{UserID: u.ID, Role: u.Role}, nil
}

var errBadKey = turbocat.Errorf(turbocat.EUNAUTHORIZED, "invalid API key")

func (s *Auth) authenticateKey(ctx context.Context, key string) (*turbocat.Actor, error) {
	prefix, ok := auth.ParseAPIKey(key)
	if !ok {
		return nil, errBadKey
	}
	k, role, err := s.APIKeys.APIKeyByPrefix(ctx, prefix)
	if turbocat.ErrorCodeOf(err) == turbocat.ENOTFOUND {
		return nil, errBadKey
	}
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(k.KeyHash, auth.HashToken(key)) != 1 || k.RevokedAt != nil || (k.ExpiresAt != nil && !s.now().Before(*k.ExpiresAt)) {
		return nil, errBadKey
	}
	if k.LastUsedAt == nil || s.now().Sub(*k.LastUsedAt) > time.Minute {
		if err := s.APIKeys.TouchAPIKey(ctx, k.ID); err != nil {
			return nil, err
		}
	}
	return &turbocat.Actor{UserID: k.UserID, Role: role, APIKeyID: k.ID, Scopes: k.Scopes}, nil
}

// Me returns the actor's account.
func (s *Auth) Me(ctx context.Context, actor *turbocat.Actor) (*turbocat.User, error) {
	return s.Users.UserByID(ctx, actor.UserID)
}

// ListUsers returns a page of every account (administrators only; the
// route checks the role).
func (s *Auth) ListUsers(ctx context.Context, p turbocat.Page) (*turbocat.List[*turbocat.User], error) {
	return s.Users.ListUsers(ctx, p)
}
