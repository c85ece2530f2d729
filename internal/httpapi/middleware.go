package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/turbocat/turbocat/internal/corspolicy"
	"github.com/turbocat/turbocat/internal/tracing"
	"github.com/turbocat/turbocat/internal/turbocat"
)

type reqIDKey struct{}

func requestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(reqIDKey{}).(string)
	return id
}

// validRequestID accepts what a client or API Gateway would send: short,
// printable, no spaces; anything else is replaced, so logs stay clean.
func validRequestID(s string) bool {
	if len(s) < 8 || len(s) > 128 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// statusRecorder remembers the status and size written.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

// Flush lets streaming handlers (server-sent events) flush through.
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap exposes the underlying writer to http.ResponseController.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// logInfo collects what handlers learn (the user) for the access log.
type logInfo struct{ userID string }

type logInfoKey struct{}

// base is the outer middleware: request id, recovery, security headers,
// CORS, per-IP rate limit and the access log.
func (s *Server) base(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = newRequestID()
		}
		info := &logInfo{}
		ctx := context.WithValue(r.Context(), reqIDKey{}, id)
		ctx = context.WithValue(ctx, logInfoKey{}, info)
		ctx = turbocat.WithRequestInfo(ctx, turbocat.RequestInfo{RequestID: id, IP: clientIP(r), UserAgent: truncate(r.UserAgent(), 512)})
		r = r.WithContext(ctx)
		ctx, span := tracing.Start(ctx, "api", map[string]string{"method": r.Method})
		r = r.WithContext(ctx)
		rec := &statusRecorder{ResponseWriter: w}
		h := rec.Header()
		h.Set("X-Request-Id", id)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")

		defer func() {
			if p := recover(); p != nil {
				s.logger.LogAttrs(ctx, slog.LevelError, "panic", slog.String("request_id", id),
					slog.String("panic", fmt.Sprint(p)), slog.String("stack", string(debug.Stack())))
				if rec.status == 0 {
					s.writeError(rec, r, fmt.Errorf("panic: %v", p))
				}
			}
			route := r.Pattern // set by the mux: the route, not the raw path
			if route == "" || route == "/" {
				route = "unmatched"
			}
			s.Metrics.Request(route, rec.status, time.Since(start))
			span.Annotate("route", route)
			span.End(nil)
			level := slog.LevelInfo
			if rec.status >= 500 {
				level = slog.LevelError
			}
			s.logger.LogAttrs(ctx, level, "request",
				slog.String("request_id", id), slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", rec.status), slog.Int("bytes", rec.bytes),
				slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
				slog.String("ip", clientIP(r)), slog.String("user_id", info.userID))
		}()

		if !s.cors(rec, r) {
			return
		}
		if ok, retry := s.ipLimiter.allow(clientIP(r)); !ok {
			s.writeError(rec, r, &turbocat.Error{Code: turbocat.ERATELIMITED, Message: "too many requests from this address; retry later", RetryAfter: retry})
			return
		}
		next.ServeHTTP(rec, r)
	})
}

// cors answers preflights and sets CORS headers for allowed origins. It
// returns false when the request has been answered.
func (s *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	w.Header().Add("Vary", "Origin")
	if !slices.Contains(s.cfg.AllowedOrigins, origin) {
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusForbidden)
			return false
		}
		return true // no CORS headers: the browser blocks the response
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
	h.Set("Access-Control-Expose-Headers", strings.Join(corspolicy.ExposeHeaders, ", "))
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS")
		h.Set("Access-Control-Allow-Headers", strings.Join(corspolicy.AllowHeaders, ", "))
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return false
	}
	return true
}

// clientIP is the peer address. Behind API Gateway the Lambda adapter sets it
// from the request context's source IP; X-Forwarded-For is not trusted.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// bearer extracts the credential from Authorization: Bearer or X-API-Key.
func bearer(r *http.Request) string {
	if k := r.Header.Get("X-API-Key"); k != "" {
		if !strings.HasPrefix(k, "tc_") {
			return "x-api-key-not-an-api-key" // JWTs belong in Authorization
		}
		return k
	}
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// authenticate resolves the caller of a route that needs one, checks the
// per-user rate limit, the admin flag and the API-key scope.
func (s *Server) authenticate(rt Route, w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	cred := bearer(r)
	if cred == "" {
		s.writeError(w, r, turbocat.Errorf(turbocat.EUNAUTHORIZED, "authentication required: send Authorization: Bearer <access token or API key>"))
		return r, false
	}
	actor, err := s.Auth.Authenticate(r.Context(), cred)
	if err != nil {
		s.writeError(w, r, err)
		return r, false
	}
	if info, ok := r.Context().Value(logInfoKey{}).(*logInfo); ok {
		info.userID = actor.UserID
	}
	key := "u:" + actor.UserID
	if actor.APIKeyID != "" {
		key = "k:" + actor.APIKeyID
	}
	if ok, retry := s.userLimiter.allow(key); !ok {
		s.writeError(w, r, &turbocat.Error{Code: turbocat.ERATELIMITED, Message: "rate limit exceeded; retry later", RetryAfter: retry})
		return r, false
	}
	if rt.Admin && !actor.IsAdmin() {
		s.writeError(w, r, turbocat.Errorf(turbocat.EFORBIDDEN, "administrators only"))
		return r, false
	}
	if rt.Scope != "" && !actor.HasScope(rt.Scope) {
		s.writeError(w, r, turbocat.Errorf(turbocat.EFORBIDDEN, "this API key lacks the %s scope", rt.Scope))
		return r, false
	}
	if rt.JWTOnly && actor.APIKeyID != "" {
		s.writeError(w, r, turbocat.Errorf(turbocat.EFORBIDDEN, "this route needs a user session, not an API key"))
		return r, false
	}
	return r.WithContext(turbocat.WithActor(r.Context(), actor)), true
}

// limiter is a keyed token-bucket rate limiter with idle-entry eviction.
type limiter struct {
	mu      sync.Mutex
	limit   rate.Limit
	burst   int
	entries map[string]*limiterEntry
	sweep   time.Time
	now     func() time.Time
}

type limiterEntry struct {
	l    *rate.Limiter
	seen time.Time
}

func newLimiter(perSecond float64, burst int) *limiter {
	return &limiter{limit: rate.Limit(perSecond), burst: burst, entries: map[string]*limiterEntry{}, now: time.Now}
}

// allow takes a token for key; when none is left it says how long to wait.
func (l *limiter) allow(key string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.sweep) > time.Minute {
		for k, e := range l.entries {
			if now.Sub(e.seen) > 10*time.Minute {
				delete(l.entries, k)
			}
		}
		l.sweep = now
	}
	e := l.entries[key]
	if e == nil {
		e = &limiterEntry{l: rate.NewLimiter(l.limit, l.burst)}
		l.entries[key] = e
	}
	e.seen = now
	res := e.l.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		if d < time.Second {
			d = time.Second
		}
		return false, d
	}
	return true, 0
}
