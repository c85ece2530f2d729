package httpapi_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/auth"
)

func TestRegisterLoginMe(t *testing.T) {
	t.Parallel()
	f := setup(t)
	r := f.call("POST", "/api/v1/auth/register", "", map[string]string{"email": "  Bob@Example.COM ", "password": "correct horse battery", "fullName": "Bob"})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	var s session
	r.data(t, &s)
	require.Equal(t, "bob@example.com", s.User.Email, "email is normalised")
	require.Equal(t, 900, s.ExpiresIn)
	require.Equal(t, "user", s.User.Role)
	require.True(t, strings.HasPrefix(s.RefreshToken, "tcr_"))

	var hash string
	require.NoError(t, f.pool.QueryRow(context.Background(), `SELECT password_hash FROM users WHERE id = $1`, s.User.ID).Scan(&hash))
	require.True(t, strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$"), "stored as an OWASP-strength Argon2id PHC string: %s", hash)

	dup := f.call("POST", "/api/v1/auth/register", "", map[string]string{"email": "bob@example.com", "password": "another password", "fullName": "B"})
	require.Equal(t, http.StatusConflict, dup.Status)
	require.Equal(t, "CONFLICT", dup.code())

	login := f.call("POST", "/api/v1/auth/login", "", map[string]string{"email": "BOB@example.com", "password": "correct horse battery"})
	require.Equal(t, http.StatusOK, login.Status, "%s", login.Body)
	var s2 session
	login.data(t, &s2)
	remember(s2.RefreshToken, login.Body)

	me := f.call("GET", "/api/v1/auth/me", s2.AccessToken, nil)
	require.Equal(t, http.StatusOK, me.Status)
	var u struct{ Email, FullName string }
	me.data(t, &u)
	require.Equal(t, "bob@example.com", u.Email)
	require.Equal(t, "Bob", u.FullName)

	// Wrong password and unknown email: the same answer.
	wrong := f.call("POST", "/api/v1/auth/login", "", map[string]string{"email": "bob@example.com", "password": "wrong password"})
	unknown := f.call("POST", "/api/v1/auth/login", "", map[string]string{"email": "nobody@example.com", "password": "wrong password"})
	require.Equal(t, http.StatusUnauthorized, wrong.Status)
	require.Equal(t, http.StatusUnauthorized, unknown.Status)
	require.Equal(t, wrong.Env.Error.Message, unknown.Env.Error.Message)
	require.Equal(t, "UNAUTHORIZED", unknown.code())

	require.Equal(t, 1, f.count("audit_logs", "action = 'user.register' AND user_id = $1", s.User.ID))
	require.Equal(t, 1, f.count("audit_logs", "action = 'auth.login' AND user_id = $1", s.User.ID))
}

func TestRegisterValidation(t *testing.T) {
	t.Parallel()
	f := setup(t)
	cases := []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"bad email", map[string]string{"email": "not-an-email", "password": "long enough pw"}, 400, "email"},
		{"short password", map[string]string{"email": "a@example.com", "password": "short"}, 400, "password"},
		{"long password", map[string]string{"email": "a@example.com", "password": strings.Repeat("x", 129)}, 400, "password"},
		{"unknown field", map[string]any{"email": "a@example.com", "password": "long enough pw", "admin": true}, 400, "admin"},
		{"wrong type", map[string]any{"email": 5, "password": "long enough pw"}, 400, "email"},
	}
	for _, c := range cases {
		r := f.call("POST", "/api/v1/auth/register", "", c.body)
		require.Equal(t, c.status, r.Status, "%s: %s", c.name, r.Body)
		require.Equal(t, "VALIDATION_ERROR", r.code(), c.name)
		require.NotEmpty(t, r.fields(), c.name)
		require.True(t, strings.HasPrefix(r.fields()[0], c.field), "%s: details %v", c.name, r.fields())
	}
	for _, raw := range []string{"", "{", "[]", `{"email":"a@example.com"} {}`, strings.Repeat("[", 40) + strings.Repeat("]", 40)} {
		r := f.call("POST", "/api/v1/auth/register", "", raw)
		require.Equal(t, 400, r.Status, "%q: %s", raw, r.Body)
		require.Equal(t, "VALIDATION_ERROR", r.code())
	}
	big := `{"email":"a@example.com","password":"` + strings.Repeat("x", 1<<20) + `"}`
	r := f.call("POST", "/api/v1/auth/register", "", big)
	require.Equal(t, http.StatusRequestEntityTooLarge, r.Status)
	require.Equal(t, "PAYLOAD_TOO_LARGE", r.code())
	require.Equal(t, 0, f.count("users", ""), "no invalid registration created a user")
}

func TestRefreshRotationAndReuse(t *testing.T) {
	t.Parallel()
	f := setup(t)
	s := f.register("rot")
	r1 := f.call("POST", "/api/v1/auth/refresh", "", map[string]string{"refreshToken": s.RefreshToken})
	require.Equal(t, http.StatusOK, r1.Status, "%s", r1.Body)
	var s1 session
	r1.data(t, &s1)
	remember(s1.RefreshToken, r1.Body)
	require.NotEqual(t, s.RefreshToken, s1.RefreshToken, "rotated")
	require.Equal(t, http.StatusOK, f.call("GET", "/api/v1/auth/me", s1.AccessToken, nil).Status)

	// Reusing the first (rotated) token revokes the family: the newest
	// token stops working too, and the reuse is audited.
	reuse := f.call("POST", "/api/v1/auth/refresh", "", map[string]string{"refreshToken": s.RefreshToken})
	require.Equal(t, http.StatusUnauthorized, reuse.Status)
	after := f.call("POST", "/api/v1/auth/refresh", "", map[string]string{"refreshToken": s1.RefreshToken})
	require.Equal(t, http.StatusUnauthorized, after.Status, "the whole family is revoked")
	require.Equal(t, 1, f.count("audit_logs", "action = 'auth.refresh_reuse' AND user_id = $1", s.User.ID))
}

func TestRefreshConcurrentExactlyOneSucceeds(t *testing.T) {
	t.Parallel()
	f := setup(t)
	s := f.register("conc")
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := f.call("POST", "/api/v1/auth/refresh", "", map[string]string{"refreshToken": s.RefreshToken})
			if r.Status == http.StatusOK {
				var ns session
				r.data(t, &ns)
				remember(ns.RefreshToken, r.Body)
			}
			mu.Lock()
			statuses[r.Status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	require.Equal(t, map[int]int{200: 1, 401: 49}, statuses)
}

func TestLogoutAndPasswordChangeRevoke(t *testing.T) {
	t.Parallel()
	f := setup(t)
	s := f.register("out")
	r := f.call("POST", "/api/v1/auth/logout", s.AccessToken, map[string]string{"refreshToken": s.RefreshToken})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, http.StatusUnauthorized, f.call("POST", "/api/v1/auth/refresh", "", map[string]string{"refreshToken": s.RefreshToken}).Status)

	s2 := f.register("pw")
	login := f.call("POST", "/api/v1/auth/login", "", map[string]string{"email": s2.User.Email, "password": "correct horse battery"})
	var other session
	login.data(t, &other)
	remember(other.RefreshToken, login.Body)
	bad := f.call("POST", "/api/v1/auth/password", s2.AccessToken, map[string]string{"currentPassword": "nope nope nope", "newPassword": "new password 123"})
	require.Equal(t, http.StatusBadRequest, bad.Status)
	ok := f.call("POST", "/api/v1/auth/password", s2.AccessToken, map[string]string{"currentPassword": "correct horse battery", "newPassword": "new password 123"})
	require.Equal(t, http.StatusOK, ok.Status, "%s", ok.Body)
	for _, tok := range []string{s2.RefreshToken, other.RefreshToken} {
		require.Equal(t, http.StatusUnauthorized, f.call("POST", "/api/v1/auth/refresh", "", map[string]string{"refreshToken": tok}).Status,
			"a password change revokes every refresh token")
	}
	require.Equal(t, http.StatusOK, f.call("POST", "/api/v1/auth/login", "", map[string]string{"email": s2.User.Email, "password": "new password 123"}).Status)
	require.Equal(t, 1, f.count("audit_logs", "action = 'user.password_change' AND user_id = $1", s2.User.ID))
}

// TestUpdateProfile: the name changes alone; a new email needs the current
// password, must be free, and then logs in; API keys cannot do it.
func TestUpdateProfile(t *testing.T) {
	t.Parallel()
	f := setup(t)
	s := f.register("profile")
	other := f.register("taken")
	r := f.call("PATCH", "/api/v1/auth/me", s.AccessToken, map[string]string{"fullName": "  Ada Lovelace "})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var u struct{ Email, FullName string }
	r.data(t, &u)
	require.Equal(t, "Ada Lovelace", u.FullName)
	require.Equal(t, s.User.Email, u.Email)

	r = f.call("PATCH", "/api/v1/auth/me", s.AccessToken, map[string]string{"email": "ada@example.com"})
	require.Equal(t, http.StatusBadRequest, r.Status)
	require.Equal(t, []string{"currentPassword: must be your current password to change the email"}, r.fields())
	r = f.call("PATCH", "/api/v1/auth/me", s.AccessToken, map[string]string{"email": "not an email", "fullName": strings.Repeat("x", 201)})
	require.Equal(t, http.StatusBadRequest, r.Status)
	require.ElementsMatch(t, []string{"email: must be a valid email address", "fullName: must be at most 200 characters"}, r.fields())
	r = f.call("PATCH", "/api/v1/auth/me", s.AccessToken, map[string]string{"email": other.User.Email, "currentPassword": "correct horse battery"})
	require.Equal(t, http.StatusConflict, r.Status, "%s", r.Body)
	require.Equal(t, "email is already registered", r.Env.Error.Message)

	newEmail := strings.Replace(s.User.Email, "profile", "ada", 1)
	r = f.call("PATCH", "/api/v1/auth/me", s.AccessToken, map[string]string{"email": strings.ToUpper(newEmail), "currentPassword": "correct horse battery"})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	r.data(t, &u)
	require.Equal(t, newEmail, u.Email, "stored normalised")
	require.Equal(t, http.StatusOK, f.call("POST", "/api/v1/auth/login", "", map[string]string{"email": newEmail, "password": "correct horse battery"}).Status)
	require.Equal(t, http.StatusUnauthorized, f.call("POST", "/api/v1/auth/login", "", map[string]string{"email": s.User.Email, "password": "correct horse battery"}).Status)
	require.Equal(t, 2, f.count("audit_logs", "action = 'user.update' AND user_id = $1", s.User.ID))

	var key struct{ Key string }
	kr := f.call("POST", "/api/v1/api-keys", s.AccessToken, map[string]any{"name": "k", "scopes": []string{"agents:read"}})
	require.Equal(t, http.StatusCreated, kr.Status, "%s", kr.Body)
	kr.data(t, &key)
	remember(key.Key, kr.Body)
	require.Equal(t, http.StatusForbidden, f.call("PATCH", "/api/v1/auth/me", key.Key, map[string]string{"fullName": "key"}).Status)
}

// TestJWTAttackCorpus: every forged, stale or misused token is a 401, and
// only an expired genuine token says TOKEN_EXPIRED.
func TestJWTAttackCorpus(t *testing.T) {
	t.Parallel()
	f := setup(t)
	s := f.register("jwt")
	key := []byte("test-secret-test-secret-test-secret-0123")
	now := time.Now()
	claims := func(mut func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"iss": auth.Issuer, "aud": []string{auth.Audience}, "sub": s.User.ID, "typ": "access", "role": "user",
			"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
		if mut != nil {
			mut(c)
		}
		return c
	}
	sign := func(c jwt.MapClaims, k []byte) string {
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(k)
		require.NoError(t, err)
		return tok
	}
	b64 := base64.RawURLEncoding.EncodeToString
	parts := strings.Split(sign(claims(nil), key), ".")
	require.Equal(t, http.StatusOK, f.call("GET", "/api/v1/auth/me", sign(claims(nil), key), nil).Status, "the control token works")

	hs384, err := jwt.NewWithClaims(jwt.SigningMethodHS384, claims(nil)).SignedString(key)
	require.NoError(t, err)

	// A second user, then deleted: their token must stop working.
	gone := f.register("gone")
	_, err = f.pool.Exec(context.Background(), `DELETE FROM users WHERE id = $1`, gone.User.ID)
	require.NoError(t, err)

	corpus := map[string]string{
		"alg none":          b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + ".",
		"alg NONE":          b64([]byte(`{"alg":"NONE","typ":"JWT"}`)) + "." + parts[1] + ".",
		"alg nOnE":          b64([]byte(`{"alg":"nOnE","typ":"JWT"}`)) + "." + parts[1] + ".",
		"other algorithm":   hs384,
		"wrong key":         sign(claims(nil), []byte("another-secret-another-secret-0123456")),
		"tampered payload":  parts[0] + "." + b64([]byte(`{"iss":"turbocat","aud":["turbocat-api"],"sub":"`+s.User.ID+`","typ":"access","role":"admin","exp":9999999999}`)) + "." + parts[2],
		"missing exp":       sign(claims(func(c jwt.MapClaims) { delete(c, "exp") }), key),
		"future nbf":        sign(claims(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Hour).Unix() }), key),
		"future iat":        sign(claims(func(c jwt.MapClaims) { c["iat"] = now.Add(time.Hour).Unix() }), key),
		"wrong iss":         sign(claims(func(c jwt.MapClaims) { c["iss"] = "evil" }), key),
		"wrong aud":         sign(claims(func(c jwt.MapClaims) { c["aud"] = []string{"other"} }), key),
		"refresh as access": s.RefreshToken,
		"typ refresh":       sign(claims(func(c jwt.MapClaims) { c["typ"] = "refresh" }), key),
		"no sub":            sign(claims(func(c jwt.MapClaims) { delete(c, "sub") }), key),
		"deleted user":      gone.AccessToken,
		"oversized":         sign(claims(func(c jwt.MapClaims) { c["pad"] = strings.Repeat("x", 5000) }), key),
		"bad base64":        "e30.!!!.???",
		"garbage":           "not-a-token",
		"expired wrong key": sign(claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Minute).Unix() }), []byte("another-secret-another-secret-0123456")),
	}
	for name, tok := range corpus {
		r := f.call("GET", "/api/v1/auth/me", tok, nil)
		require.Equal(t, http.StatusUnauthorized, r.Status, "%s was accepted: %s", name, r.Body)
		require.Equal(t, "UNAUTHORIZED", r.code(), name)
	}
	expired := f.call("GET", "/api/v1/auth/me", sign(claims(func(c jwt.MapClaims) {
		c["iat"] = now.Add(-time.Hour).Unix()
		c["exp"] = now.Add(-time.Minute).Unix()
	}), key), nil)
	require.Equal(t, http.StatusUnauthorized, expired.Status)
	require.Equal(t, "TOKEN_EXPIRED", expired.code())
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	f := setup(t)
	s := f.register("keys")
	k := f.apiKey(s.AccessToken, "agents:read")
	require.True(t, strings.HasPrefix(k.Key, "tc_"))
	require.True(t, strings.HasPrefix(k.Key, k.Prefix))

	// Authenticates as Bearer and as X-API-Key; scopes apply per route.
	require.Equal(t, http.StatusOK, f.call("GET", "/api/v1/agents", k.Key, nil).Status)
	require.Equal(t, http.StatusOK, f.call("GET", "/api/v1/agents", "", nil, "X-API-Key", k.Key).Status)
	noScope := f.call("POST", "/api/v1/agents", k.Key, codeAgent("a"))
	require.Equal(t, http.StatusForbidden, noScope.Status)
	require.Equal(t, "FORBIDDEN", noScope.code())
	require.Contains(t, noScope.Env.Error.Message, "agents:write")
	require.Equal(t, http.StatusForbidden, f.call("POST", "/api/v1/api-keys", k.Key, map[string]any{"name": "x", "scopes": []string{"agents:read"}}).Status,
		"keys cannot mint keys")

	// The list never shows the secret.
	list := f.call("GET", "/api/v1/api-keys", s.AccessToken, nil)
	require.Equal(t, http.StatusOK, list.Status)
	require.NotContains(t, string(list.Body), k.Key)
	require.Contains(t, string(list.Body), k.Prefix)
	var stored []byte
	require.NoError(t, f.pool.QueryRow(context.Background(), `SELECT key_hash FROM api_keys WHERE id = $1`, k.ID).Scan(&stored))
	require.Equal(t, auth.HashToken(k.Key), stored, "only the hash is stored")

	// Tampered, wrong checksum, unknown: 401.
	last := "0"
	if strings.HasSuffix(k.Key, "0") {
		last = "1"
	}
	for _, bad := range []string{k.Key[:len(k.Key)-1] + last, k.Key + "x", "tc_" + strings.Repeat("0", 85)} {
		require.Equal(t, http.StatusUnauthorized, f.call("GET", "/api/v1/agents", bad, nil).Status)
	}
	// Validation.
	r := f.call("POST", "/api/v1/api-keys", s.AccessToken, map[string]any{"name": "", "scopes": []string{"nope"}, "expiresAt": "2001-01-01T00:00:00Z"})
	require.Equal(t, http.StatusBadRequest, r.Status)
	require.Len(t, r.fields(), 3, "%v", r.fields())

	// Revocation stops the key at once.
	require.Equal(t, http.StatusOK, f.call("DELETE", "/api/v1/api-keys/"+k.ID, s.AccessToken, nil).Status)
	require.Equal(t, http.StatusUnauthorized, f.call("GET", "/api/v1/agents", k.Key, nil).Status)

	// Expired keys do not work.
	exp := f.apiKey(s.AccessToken, "agents:read")
	_, err := f.pool.Exec(context.Background(), `UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`, exp.ID)
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, f.call("GET", "/api/v1/agents", exp.Key, nil).Status)
	require.Equal(t, 2, f.count("audit_logs", "action = 'api_key.create' AND user_id = $1", s.User.ID))
	require.Equal(t, 1, f.count("audit_logs", "action = 'api_key.revoke' AND user_id = $1", s.User.ID))
}

func TestAdminOnlyRoutes(t *testing.T) {
	t.Parallel()
	f := setup(t)
	u := f.register("plain")
	adm := f.register("admin")
	_, err := f.pool.Exec(context.Background(), `UPDATE users SET role = 'admin' WHERE id = $1`, adm.User.ID)
	require.NoError(t, err)
	require.Equal(t, http.StatusForbidden, f.call("GET", "/api/v1/users", u.AccessToken, nil).Status)
	r := f.call("GET", "/api/v1/users", adm.AccessToken, nil)
	require.Equal(t, http.StatusOK, r.Status, "role is read from the database at each request")
	var list struct{ Items []struct{ Email string } }
	r.data(t, &list)
	require.Len(t, list.Items, 2)

	// Users read their own audit log; admins read everyone's.
	var mine, all struct{ Items []struct{ UserID *string } }
	f.call("GET", "/api/v1/audit-logs", u.AccessToken, nil).data(t, &mine)
	for _, e := range mine.Items {
		require.Equal(t, u.User.ID, *e.UserID)
	}
	f.call("GET", "/api/v1/audit-logs", adm.AccessToken, nil).data(t, &all)
	require.Greater(t, len(all.Items), len(mine.Items))
}

// TestLogoutEndsAccessTokensAtOnce: after a logout the session's access
// token stops working at once (not at its expiry) and cannot be
// refreshed; another session of the same user refreshes and goes on; after
// a logout everywhere or a password change, no old token works.
func TestLogoutEndsAccessTokensAtOnce(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.register("sessions")
	login := func(password string) session {
		var s session
		r := f.call("POST", "/api/v1/auth/login", "", map[string]string{"email": a.User.Email, "password": password})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		r.data(t, &s)
		remember(s.RefreshToken, r.Body)
		return s
	}
	b := login("correct horse battery")
	require.Equal(t, http.StatusOK, f.call("GET", "/api/v1/auth/me", a.AccessToken, nil).Status)

	require.Equal(t, http.StatusOK, f.call("POST", "/api/v1/auth/logout", a.AccessToken, map[string]string{"refreshToken": a.RefreshToken}).Status)
	gone := f.call("GET", "/api/v1/auth/me", a.AccessToken, nil)
	require.Equal(t, http.StatusUnauthorized, gone.Status, "the logged-out session's access token ends at once")
	require.Equal(t, "TOKEN_EXPIRED", gone.Env.Error.Code)
	require.Equal(t, http.StatusUnauthorized, f.call("POST", "/api/v1/auth/refresh", "", map[string]string{"refreshToken": a.RefreshToken}).Status)

	// The other session refreshes and goes on.
	var b2 session
	r := f.call("POST", "/api/v1/auth/refresh", "", map[string]string{"refreshToken": b.RefreshToken})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	r.data(t, &b2)
	remember(b2.RefreshToken, r.Body)
	require.Equal(t, http.StatusOK, f.call("GET", "/api/v1/auth/me", b2.AccessToken, nil).Status)

	// Everywhere: no session survives.
	c := login("correct horse battery")
	require.Equal(t, http.StatusOK, f.call("POST", "/api/v1/auth/logout", c.AccessToken, map[string]any{"everywhere": true}).Status)
	for _, s := range []session{b2, c} {
		require.Equal(t, http.StatusUnauthorized, f.call("GET", "/api/v1/auth/me", s.AccessToken, nil).Status)
		require.Equal(t, http.StatusUnauthorized, f.call("POST", "/api/v1/auth/refresh", "", map[string]string{"refreshToken": s.RefreshToken}).Status)
	}
	require.Equal(t, 1, f.count("audit_logs", "action = 'auth.logout_everywhere'"))

	// A password change ends the sessions too.
	d := login("correct horse battery")
	require.Equal(t, http.StatusOK, f.call("POST", "/api/v1/auth/password", d.AccessToken,
		map[string]string{"currentPassword": "correct horse battery", "newPassword": "another horse battery"}).Status)
	require.Equal(t, http.StatusUnauthorized, f.call("GET", "/api/v1/auth/me", d.AccessToken, nil).Status)
	e := login("another horse battery")
	require.Equal(t, http.StatusOK, f.call("GET", "/api/v1/auth/me", e.AccessToken, nil).Status)
}
