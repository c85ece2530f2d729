// Package routes turns the Turbocat OpenAPI document into the list of API
// Gateway routes the CDK app creates, and decides which Lambda function serves
// each path. It is pure Go (no CDK) so that its rules are tested quickly.
package routes

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
)

// Function names of the API-facing Lambda functions (directories under
// functions/ and dist/).
const (
	Auth        = "auth"
	Agents      = "agents"
	Templates   = "templates"
	Workflows   = "workflows"
	Executions  = "executions"
	Deployments = "deployments"
	APIKeys     = "apikeys"
	Trigger     = "trigger"
)

// Route is one (method, path) of the OpenAPI document and the function that
// serves it. Method is upper case (GET, POST, ...); Path uses OpenAPI and
// API Gateway template syntax (/api/v1/agents/{id}).
type Route struct {
	Method   string
	Path     string
	Function string
}

// Key returns the API Gateway route key, e.g. "GET /api/v1/agents/{id}".
func (r Route) Key() string { return r.Method + " " + r.Path }

// rule maps a path to a function: exact when the path must equal pattern,
// otherwise the path must equal pattern or continue it with "/" (for
// patterns written "x*") or simply start with it (patterns written "x/*").
type rule struct {
	pattern  string
	exact    bool
	function string
}

// rules is the routing table of the assignment, most specific first.
var rules = []rule{
	{pattern: "/api/v1/auth/", function: Auth},
	{pattern: "/api/v1/users", function: Auth},
	{pattern: "/api/v1/audit-logs", function: Auth},
	{pattern: "/api/v1/openapi.json", exact: true, function: Auth},
	{pattern: "/health", exact: true, function: Auth},
	{pattern: "/ready", exact: true, function: Auth},
	{pattern: "/api/v1/agents", function: Agents},
	{pattern: "/api/v1/templates", function: Templates},
	{pattern: "/api/v1/workflows", function: Workflows},
	{pattern: "/api/v1/executions", function: Executions},
	{pattern: "/api/v1/approvals/", function: Executions},
	{pattern: "/api/v1/usage", exact: true, function: Executions},
	{pattern: "/api/v1/deployments", function: Deployments},
	{pattern: "/api/v1/webhooks", function: Deployments},
	{pattern: "/api/v1/api-keys", function: APIKeys},
	{pattern: "/api/v1/secrets", function: APIKeys},
	{pattern: "/hooks/", function: Trigger},
	// The MCP server runs workflows, as execute does.
	{pattern: "/mcp", exact: true, function: Workflows},
}

// ErrUnmapped is returned (wrapped) for a documented path that no rule maps
// to a function.
var ErrUnmapped = errors.New("no Lambda function is mapped to this path")

// ErrNoPaths is returned (wrapped) for a document that documents no paths.
var ErrNoPaths = errors.New("no paths")

// FunctionFor returns the function that serves path, or an error wrapping
// ErrUnmapped naming the path.
func FunctionFor(path string) (string, error) {
	for _, r := range rules {
		switch {
		case r.exact:
			if path == r.pattern {
				return r.function, nil
			}
		case strings.HasSuffix(r.pattern, "/"):
			if strings.HasPrefix(path, r.pattern) && len(path) > len(r.pattern) {
				return r.function, nil
			}
		default:
			if path == r.pattern || strings.HasPrefix(path, r.pattern+"/") {
				return r.function, nil
			}
		}
	}
	return "", fmt.Errorf("path %q: %w (add a rule in infra/routes/routes.go)", path, ErrUnmapped)
}

// APIFunctions lists every function that can serve API Gateway routes, in a
// stable order.
func APIFunctions() []string {
	return []string{Auth, Agents, Templates, Workflows, Executions, Deployments, APIKeys, Trigger}
}

// httpMethods are the OpenAPI operation keys API Gateway HTTP APIs can route.
var httpMethods = map[string]string{
	"get": "GET", "put": "PUT", "post": "POST", "delete": "DELETE",
	"options": "OPTIONS", "head": "HEAD", "patch": "PATCH",
}

// pathItemFields are path-item keys that are not operations.
var pathItemFields = map[string]bool{
	"summary": true, "description": true, "servers": true, "parameters": true,
}

// Parse reads an OpenAPI 3 document and returns one Route per documented
// (method, path), sorted by path then method. It fails on documents without
// paths, on operations API Gateway cannot route (trace, path-item $ref), and
// on paths no function is mapped to.
func Parse(doc []byte) ([]Route, error) {
	var d struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("parse OpenAPI document: %w", err)
	}
	if !strings.HasPrefix(d.OpenAPI, "3.") {
		return nil, fmt.Errorf("parse OpenAPI document: openapi version %q is not 3.x", d.OpenAPI)
	}
	if len(d.Paths) == 0 {
		return nil, fmt.Errorf("parse OpenAPI document: %w", ErrNoPaths)
	}
	var out []Route
	for path, item := range d.Paths {
		if !strings.HasPrefix(path, "/") {
			return nil, fmt.Errorf("path %q: must start with /", path)
		}
		fn, err := FunctionFor(path)
		if err != nil {
			return nil, err
		}
		for key := range item {
			lk := strings.ToLower(key)
			if pathItemFields[lk] || strings.HasPrefix(lk, "x-") {
				continue
			}
			method, ok := httpMethods[lk]
			if !ok {
				return nil, fmt.Errorf("path %q: operation %q cannot be routed by an API Gateway HTTP API", path, key)
			}
			out = append(out, Route{Method: method, Path: path, Function: fn})
		}
	}
	if len(out) == 0 {
		return nil, errors.New("parse OpenAPI document: no operations")
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	return out, nil
}

// Load reads the OpenAPI document at path and parses it with Parse.
func Load(path string) ([]Route, error) {
	doc, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read OpenAPI document: %w", err)
	}
	routes, err := Parse(doc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return routes, nil
}
