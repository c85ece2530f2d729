package httpapi

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/turbocat/turbocat/internal/metrics"
	"github.com/turbocat/turbocat/internal/service"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// Config is what the HTTP layer needs from the process configuration.
type Config struct {
	AllowedOrigins []string
	RateLimit      float64 // per user or key, requests per second
	RateBurst      int
	IPRateLimit    float64 // per client IP, requests per second
	AuthRateLimit  float64 // login/register/refresh per minute per IP
}

// Services are the HTTP API's dependencies: one service per resource. Every
// handler calls its resource's service, for reads and writes alike.
type Services struct {
	Auth        *service.Auth // sessions, accounts and API-key checks
	APIKeys     *service.APIKeys
	Secrets     *service.Secrets
	Audit       *service.Audit
	Agents      *service.Agents
	Templates   *service.Templates
	Workflows   *service.Workflows
	Executions  *service.Executions
	Deployments *service.Deployments
	Webhooks    *service.Webhooks
	// Health reports whether the database is reachable (GET /ready).
	Health turbocat.Pinger
	// Metrics, if set, records requests per route.
	Metrics *metrics.Registry
}

// check returns an error naming the first required service that is nil.
func (svc Services) check() error {
	for _, d := range []struct {
		name string
		nil  bool
	}{
		{"Auth", svc.Auth == nil}, {"APIKeys", svc.APIKeys == nil}, {"Secrets", svc.Secrets == nil},
		{"Audit", svc.Audit == nil}, {"Agents", svc.Agents == nil}, {"Templates", svc.Templates == nil},
		{"Workflows", svc.Workflows == nil}, {"Executions", svc.Executions == nil},
		{"Deployments", svc.Deployments == nil}, {"Webhooks", svc.Webhooks == nil}, {"Health", svc.Health == nil},
	} {
		if d.nil {
			return fmt.Errorf("httpapi: the %s service is required", d.name)
		}
	}
	return nil
}

// Server serves the API over its services.
type Server struct {
	Services

	cfg         Config
	logger      *slog.Logger
	ipLimiter   *limiter
	userLimiter *limiter
	authLimiter *limiter
	hookLimiter *limiter // per deployment
}

// NewServer returns a Server over svc, every service of which is required
// (Metrics aside).
func NewServer(cfg Config, svc Services, logger *slog.Logger) (*Server, error) {
	if err := svc.check(); err != nil {
		return nil, err
	}
	if cfg.RateLimit <= 0 {
		cfg.RateLimit = 50
	}
	if cfg.RateBurst <= 0 {
		cfg.RateBurst = 100
	}
	if cfg.IPRateLimit <= 0 {
		cfg.IPRateLimit = 100
	}
	if cfg.AuthRateLimit <= 0 {
		cfg.AuthRateLimit = 20
	}
	return &Server{
		Services:    svc,
		cfg:         cfg,
		logger:      logger,
		ipLimiter:   newLimiter(cfg.IPRateLimit, int(cfg.IPRateLimit*2)),
		userLimiter: newLimiter(cfg.RateLimit, cfg.RateBurst),
		authLimiter: newLimiter(cfg.AuthRateLimit/60, max(int(cfg.AuthRateLimit/2), 3)),
		hookLimiter: newLimiter(cfg.RateLimit, cfg.RateBurst),
	}, nil
}

// Route is one entry of the route table: the single place that says which
// handler serves which method and path, who may call it, and which Lambda
// function serves it on AWS.
type Route struct {
	Method  string
	Path    string // net/http pattern path, e.g. /api/v1/agents/{id}
	Group   string // the functions/<name> that serves it on AWS
	Public  bool   // no authentication
	Scope   string // API-key scope required
	Admin   bool   // administrators only
	JWTOnly bool   // user sessions only (not API keys)
	Limited bool   // stricter per-IP limit (login, register, refresh)
	// Owns names the resource kind whose id is in the path, for the
	// ownership matrix test: another user's id must be a 404.
	Owns    string
	Handler func(s *Server, w http.ResponseWriter, r *http.Request) error
}

// Function groups, one per Lambda function.
const (
	GroupAuth        = "auth"
	GroupAgents      = "agents"
	GroupTemplates   = "templates"
	GroupWorkflows   = "workflows"
	GroupExecutions  = "executions"
	GroupDeployments = "deployments"
	GroupAPIKeys     = "apikeys"
	GroupTrigger     = "trigger"
)

// Routes returns the route table.
func Routes() []Route {
	return []Route{
		{Method: "GET", Path: "/health", Group: GroupAuth, Public: true, Handler: (*Server).health},
		{Method: "GET", Path: "/ready", Group: GroupAuth, Public: true, Handler: (*Server).ready},
		{Method: "GET", Path: "/api/v1/openapi.json", Group: GroupAuth, Public: true, Handler: (*Server).openAPI},

		{Method: "POST", Path: "/api/v1/auth/register", Group: GroupAuth, Public: true, Limited: true, Handler: (*Server).register},
		{Method: "POST", Path: "/api/v1/auth/login", Group: GroupAuth, Public: true, Limited: true, Handler: (*Server).login},
		{Method: "POST", Path: "/api/v1/auth/refresh", Group: GroupAuth, Public: true, Limited: true, Handler: (*Server).refresh},
		{Method: "DELETE", Path: "/api/v1/auth/refresh", Group: GroupAuth, Public: true, Limited: true, Handler: (*Server).endCookieSession},
		{Method: "POST", Path: "/api/v1/auth/logout", Group: GroupAuth, JWTOnly: true, Handler: (*Server).logout},
		{Method: "GET", Path: "/api/v1/auth/me", Group: GroupAuth, Handler: (*Server).me},
		{Method: "PATCH", Path: "/api/v1/auth/me", Group: GroupAuth, JWTOnly: true, Handler: (*Server).updateMe},
		{Method: "POST", Path: "/api/v1/auth/password", Group: GroupAuth, JWTOnly: true, Handler: (*Server).changePassword},
		{Method: "GET", Path: "/api/v1/users", Group: GroupAuth, Admin: true, JWTOnly: true, Handler: (*Server).listUsers},
		{Method: "GET", Path: "/api/v1/audit-logs", Group: GroupAuth, Scope: "audit:read", Handler: (*Server).listAudit},

		{Method: "POST", Path: "/api/v1/api-keys", Group: GroupAPIKeys, JWTOnly: true, Handler: (*Server).createAPIKey},
		{Method: "GET", Path: "/api/v1/api-keys", Group: GroupAPIKeys, JWTOnly: true, Handler: (*Server).listAPIKeys},
		{Method: "DELETE", Path: "/api/v1/api-keys/{id}", Group: GroupAPIKeys, JWTOnly: true, Owns: "api_key", Handler: (*Server).revokeAPIKey},

		{Method: "POST", Path: "/api/v1/secrets", Group: GroupAPIKeys, Scope: "secrets:write", Handler: (*Server).putSecret},
		{Method: "GET", Path: "/api/v1/secrets", Group: GroupAPIKeys, Scope: "secrets:read", Handler: (*Server).listSecrets},
		{Method: "DELETE", Path: "/api/v1/secrets/{name}", Group: GroupAPIKeys, Scope: "secrets:write", Owns: "secret", Handler: (*Server).deleteSecret},

		{Method: "POST", Path: "/api/v1/agents", Group: GroupAgents, Scope: "agents:write", Handler: (*Server).createAgent},
		{Method: "GET", Path: "/api/v1/agents", Group: GroupAgents, Scope: "agents:read", Handler: (*Server).listAgents},
		{Method: "GET", Path: "/api/v1/agents/{id}", Group: GroupAgents, Scope: "agents:read", Owns: "agent", Handler: (*Server).getAgent},
		{Method: "PATCH", Path: "/api/v1/agents/{id}", Group: GroupAgents, Scope: "agents:write", Owns: "agent", Handler: (*Server).updateAgent},
		{Method: "DELETE", Path: "/api/v1/agents/{id}", Group: GroupAgents, Scope: "agents:write", Owns: "agent", Handler: (*Server).deleteAgent},
		{Method: "POST", Path: "/api/v1/agents/{id}/test", Group: GroupAgents, Scope: "agents:write", Owns: "agent", Handler: (*Server).testAgent},

		{Method: "POST", Path: "/api/v1/templates", Group: GroupTemplates, Scope: "templates:write", Handler: (*Server).createTemplate},
		{Method: "GET", Path: "/api/v1/templates", Group: GroupTemplates, Scope: "templates:read", Handler: (*Server).listTemplates},
		{Method: "GET", Path: "/api/v1/templates/{id}", Group: GroupTemplates, Scope: "templates:read", Owns: "template", Handler: (*Server).getTemplate},
		{Method: "PATCH", Path: "/api/v1/templates/{id}", Group: GroupTemplates, Scope: "templates:write", Owns: "template", Handler: (*Server).updateTemplate},
		{Method: "DELETE", Path: "/api/v1/templates/{id}", Group: GroupTemplates, Scope: "templates:write", Owns: "template", Handler: (*Server).deleteTemplate},
		{Method: "POST", Path: "/api/v1/templates/{id}/instantiate", Group: GroupTemplates, Scope: "templates:read", Owns: "template", Handler: (*Server).instantiateTemplate},

		{Method: "POST", Path: "/api/v1/workflows", Group: GroupWorkflows, Scope: "workflows:write", Handler: (*Server).createWorkflow},
		{Method: "GET", Path: "/api/v1/workflows", Group: GroupWorkflows, Scope: "workflows:read", Handler: (*Server).listWorkflows},
		{Method: "GET", Path: "/api/v1/workflows/{id}", Group: GroupWorkflows, Scope: "workflows:read", Owns: "workflow", Handler: (*Server).getWorkflow},
		{Method: "PUT", Path: "/api/v1/workflows/{id}", Group: GroupWorkflows, Scope: "workflows:write", Owns: "workflow", Handler: (*Server).replaceWorkflow},
		{Method: "PATCH", Path: "/api/v1/workflows/{id}", Group: GroupWorkflows, Scope: "workflows:write", Owns: "workflow", Handler: (*Server).patchWorkflow},
		{Method: "DELETE", Path: "/api/v1/workflows/{id}", Group: GroupWorkflows, Scope: "workflows:write", Owns: "workflow", Handler: (*Server).deleteWorkflow},
		{Method: "POST", Path: "/api/v1/workflows/{id}/execute", Group: GroupWorkflows, Scope: "workflows:execute", Owns: "workflow", Handler: (*Server).executeWorkflow},
		{Method: "POST", Path: "/api/v1/workflows/{id}/deployments", Group: GroupWorkflows, Scope: "deployments:write", Owns: "workflow", Handler: (*Server).deployWorkflow},
		{Method: "GET", Path: "/api/v1/workflows/{id}/definition", Group: GroupWorkflows, Scope: "workflows:read", Owns: "workflow", Handler: (*Server).getDefinition},
		// The MCP server: each active deployment is a tool that runs it.
		{Method: "POST", Path: "/mcp", Group: GroupWorkflows, Scope: "workflows:execute", Handler: (*Server).serveMCP},

		{Method: "GET", Path: "/api/v1/executions", Group: GroupExecutions, Scope: "executions:read", Handler: (*Server).listExecutions},
		{Method: "GET", Path: "/api/v1/usage", Group: GroupExecutions, Scope: "executions:read", Handler: (*Server).usage},
		{Method: "GET", Path: "/api/v1/executions/{id}", Group: GroupExecutions, Scope: "executions:read", Owns: "execution", Handler: (*Server).getExecution},
		{Method: "GET", Path: "/api/v1/executions/{id}/steps", Group: GroupExecutions, Scope: "executions:read", Owns: "execution", Handler: (*Server).getExecutionSteps},
		{Method: "GET", Path: "/api/v1/executions/{id}/steps/{key}/turns", Group: GroupExecutions, Scope: "executions:read", Owns: "execution", Handler: (*Server).getStepTurns},
		{Method: "GET", Path: "/api/v1/executions/{id}/logs", Group: GroupExecutions, Scope: "executions:read", Owns: "execution", Handler: (*Server).getExecutionLogs},
		{Method: "POST", Path: "/api/v1/executions/{id}/cancel", Group: GroupExecutions, Scope: "executions:write", Owns: "execution", Handler: (*Server).cancelExecution},
		{Method: "POST", Path: "/api/v1/executions/{id}/retry", Group: GroupExecutions, Scope: "executions:write", Owns: "execution", Handler: (*Server).retryExecution},
		{Method: "POST", Path: "/api/v1/executions/{id}/replay", Group: GroupExecutions, Scope: "executions:write", Owns: "execution", Handler: (*Server).replayExecution},
		{Method: "GET", Path: "/api/v1/executions/{id}/replay-report", Group: GroupExecutions, Scope: "executions:read", Owns: "execution", Handler: (*Server).getReplayReport},
		{Method: "POST", Path: "/api/v1/executions/{id}/steps/{key}/approve", Group: GroupExecutions, Scope: "executions:write", Owns: "execution", Handler: (*Server).approveStep},
		{Method: "POST", Path: "/api/v1/executions/{id}/steps/{key}/reject", Group: GroupExecutions, Scope: "executions:write", Owns: "execution", Handler: (*Server).rejectStep},
		{Method: "GET", Path: "/api/v1/approvals/{token}", Group: GroupExecutions, Public: true, Limited: true, Handler: (*Server).getApprovalLink},
		{Method: "POST", Path: "/api/v1/approvals/{token}", Group: GroupExecutions, Public: true, Limited: true, Handler: (*Server).postApprovalLink},

		{Method: "GET", Path: "/api/v1/deployments", Group: GroupDeployments, Scope: "deployments:read", Handler: (*Server).listDeployments},
		{Method: "GET", Path: "/api/v1/deployments/{id}", Group: GroupDeployments, Scope: "deployments:read", Owns: "deployment", Handler: (*Server).getDeployment},
		{Method: "POST", Path: "/api/v1/deployments/{id}/rollback", Group: GroupDeployments, Scope: "deployments:write", Owns: "deployment", Handler: (*Server).rollbackDeployment},
		{Method: "POST", Path: "/api/v1/deployments/{id}/rotate-secret", Group: GroupDeployments, Scope: "deployments:write", Owns: "deployment", Handler: (*Server).rotateDeploymentSecret},
		{Method: "DELETE", Path: "/api/v1/deployments/{id}", Group: GroupDeployments, Scope: "deployments:write", Owns: "deployment", Handler: (*Server).deactivateDeployment},

		{Method: "POST", Path: "/api/v1/webhooks", Group: GroupDeployments, Scope: "webhooks:write", Handler: (*Server).createWebhook},
		{Method: "GET", Path: "/api/v1/webhooks", Group: GroupDeployments, Scope: "webhooks:read", Handler: (*Server).listWebhooks},
		{Method: "DELETE", Path: "/api/v1/webhooks/{id}", Group: GroupDeployments, Scope: "webhooks:write", Owns: "webhook", Handler: (*Server).deleteWebhook},
		{Method: "GET", Path: "/api/v1/webhooks/{id}/deliveries", Group: GroupDeployments, Scope: "webhooks:read", Owns: "webhook", Handler: (*Server).listDeliveries},

		{Method: "POST", Path: "/hooks/{id}", Group: GroupTrigger, Public: true, Handler: (*Server).hook},
		{Method: "POST", Path: "/hooks/{workflowId}/{environment}", Group: GroupTrigger, Public: true, Handler: (*Server).hookEnvironment},
	}
}

// Handler returns the API with the full middleware chain, serving the routes
// of the given groups (every route when none is given).
func (s *Server) Handler(groups ...string) http.Handler {
	mux := http.NewServeMux()
	var methods []string
	for _, rt := range Routes() {
		if len(groups) > 0 && !slices.Contains(groups, rt.Group) {
			continue
		}
		mux.Handle(rt.Method+" "+rt.Path, s.route(rt))
		if !slices.Contains(methods, rt.Method) {
			methods = append(methods, rt.Method)
		}
	}
	slices.Sort(methods)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// A path that exists under other methods is a 405 naming them.
		var allow []string
		for _, m := range methods {
			probe := *r
			probe.Method = m
			if _, pattern := mux.Handler(&probe); pattern != "/" {
				allow = append(allow, m)
			}
		}
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			s.writeError(w, r, turbocat.Errorf(turbocat.EMETHOD, "%s is not allowed on %s; use %s", r.Method, r.URL.Path, strings.Join(allow, ", ")))
			return
		}
		s.writeError(w, r, turbocat.Errorf(turbocat.ENOTFOUND, "no route for %s %s; see /api/v1/openapi.json", r.Method, r.URL.Path))
	})
	return s.base(mux)
}

// route wraps one handler with the per-route policy.
func (s *Server) route(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt.Limited {
			if ok, retry := s.authLimiter.allow(clientIP(r)); !ok {
				s.writeError(w, r, &turbocat.Error{Code: turbocat.ERATELIMITED, Message: "too many attempts; retry later", RetryAfter: retry})
				return
			}
		}
		if err := checkQuery(r); err != nil {
			s.writeError(w, r, err)
			return
		}
		if !rt.Public {
			var ok bool
			if r, ok = s.authenticate(rt, w, r); !ok {
				return
			}
		}
		if err := rt.Handler(s, w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

func actor(r *http.Request) *turbocat.Actor { return turbocat.ActorFrom(r.Context()) }
