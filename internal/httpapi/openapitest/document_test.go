package openapitest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/auth"
	"github.com/turbocat/turbocat/internal/httpapi"
	"github.com/turbocat/turbocat/internal/httpapi/openapitest"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// validator parses the real document once for the whole package.
var validator = sync.OnceValues(func() (*openapitest.Validator, error) {
	return openapitest.New(httpapi.OpenAPIDocument())
})

func setup(t *testing.T) *openapitest.Validator {
	t.Helper()
	v, err := validator()
	require.NoError(t, err)
	return v
}

func TestDocumentIsValidOpenAPI3(t *testing.T) {
	t.Parallel()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(httpapi.OpenAPIDocument())
	require.NoError(t, err)
	require.NoError(t, doc.Validate(context.Background()))
	require.Equal(t, "3.0.3", doc.OpenAPI)
	require.NotEmpty(t, doc.Info.Description, "users read the info description first")
}

// The document is edited by hand: keep it 2-space indented JSON so diffs
// stay readable (key order is the author's, and json.Indent keeps it).
func TestDocumentIsCanonicallyFormatted(t *testing.T) {
	t.Parallel()
	raw := httpapi.OpenAPIDocument()
	var compact, indented bytes.Buffer
	require.NoError(t, json.Compact(&compact, raw))
	require.NoError(t, json.Indent(&indented, compact.Bytes(), "", "  "))
	indented.WriteByte('\n')
	if !bytes.Equal(indented.Bytes(), raw) {
		a, b := strings.Split(indented.String(), "\n"), strings.Split(string(raw), "\n")
		for i := range min(len(a), len(b)) {
			if a[i] != b[i] {
				t.Fatalf("openapi.json is not 2-space indented JSON with a final newline: line %d is %q, want %q", i+1, b[i], a[i])
			}
		}
		t.Fatalf("openapi.json is not 2-space indented JSON with a final newline (%d lines, want %d)", len(b), len(a))
	}
}

// handlerName is the method name of a route's handler, e.g. "listAgents".
func handlerName(rt httpapi.Route) string {
	name := runtime.FuncForPC(reflect.ValueOf(rt.Handler).Pointer()).Name()
	name = name[strings.LastIndexByte(name, '.')+1:]
	return strings.TrimSuffix(name, "-fm")
}

// TestDocumentMatchesRoutes keeps the document and the route table from
// drifting: every route has exactly one operation, every operation a route,
// and what each route table entry says about access is documented.
func TestDocumentMatchesRoutes(t *testing.T) {
	t.Parallel()
	v := setup(t)
	doc := v.Document()

	routes := map[openapitest.Operation]httpapi.Route{}
	for _, rt := range httpapi.Routes() {
		op := openapitest.Operation{Method: rt.Method, Path: rt.Path}
		_, dup := routes[op]
		require.False(t, dup, "route %s %s is in Routes() twice", rt.Method, rt.Path)
		routes[op] = rt
	}
	ops := v.Operations()
	for _, op := range ops {
		_, ok := routes[op]
		require.True(t, ok, "the document describes %s %s, which Routes() does not serve", op.Method, op.Path)
	}
	for op := range routes {
		n := 0
		for _, o := range ops {
			if o == op {
				n++
			}
		}
		require.Equal(t, 1, n, "%s %s must be documented exactly once", op.Method, op.Path)
	}

	for op, rt := range routes {
		t.Run(op.Method+" "+op.Path, func(t *testing.T) {
			t.Parallel()
			o := doc.Paths.Value(op.Path).GetOperation(op.Method)
			require.NotNil(t, o)
			require.Equal(t, handlerName(rt), o.OperationID, "operationId is the handler's name")
			require.Len(t, o.Tags, 1)
			require.NotEmpty(t, o.Summary)
			require.NotEmpty(t, o.Description)
			require.Equal(t, rt.Group, o.Extensions["x-function"], "x-function names the Lambda function")

			require.NotNil(t, o.Security, "every operation states its security")
			if rt.Public {
				require.Empty(t, *o.Security, "public routes need no credential")
				require.Nil(t, o.Extensions["x-scope"])
			} else {
				require.NotEmpty(t, *o.Security, "authenticated routes list their schemes")
				require.NotNil(t, o.Responses.Status(401), "authenticated routes answer 401")
				if rt.Scope != "" {
					require.Equal(t, rt.Scope, o.Extensions["x-scope"])
				} else {
					require.Nil(t, o.Extensions["x-scope"])
				}
				require.Equal(t, rt.Admin, o.Extensions["x-admin-only"] == true)
				require.Equal(t, rt.JWTOnly, o.Extensions["x-session-only"] == true)
				if rt.JWTOnly {
					require.Equal(t, openapi3.SecurityRequirements{{"bearerAuth": []string{}}}, *o.Security, "session-only routes take no API key header")
				}
				if rt.Scope != "" || rt.Admin || rt.JWTOnly {
					require.NotNil(t, o.Responses.Status(403), "routes with a scope, admin or session rule answer 403")
				}
			}
			require.Equal(t, rt.Limited, o.Extensions["x-auth-rate-limited"] == true)

			success := 0
			for code := range o.Responses.Map() {
				if code[0] == '2' {
					success++
				}
			}
			require.GreaterOrEqual(t, success, 1, "a success status is documented")
			require.NotNil(t, o.Responses.Status(429), "every route can be rate limited")
			require.NotNil(t, o.Responses.Status(500), "every route can fail")
			if strings.Contains(op.Path, "{id}") {
				require.NotNil(t, o.Responses.Status(404), "routes with an id answer 404")
				require.NotNil(t, o.Parameters.GetByInAndName("path", "id"), "the id path parameter is declared")
			}
			if o.RequestBody != nil {
				require.NotNil(t, o.Responses.Status(400), "routes with a body answer 400")
				require.NotNil(t, o.Responses.Status(413), "routes with a body answer 413")
				s := o.RequestBody.Value.Content.Get("application/json").Schema.Value
				if s.Extensions["x-user-defined"] != true { // a webhook's body is the caller's own input
					require.NotNil(t, s.AdditionalProperties.Has, "request bodies are strict")
					require.False(t, *s.AdditionalProperties.Has, "request bodies are strict")
				}
			}
			if o.Parameters.GetByInAndName("query", "limit") != nil {
				require.NotNil(t, o.Responses.Status(400), "paginated routes answer 400 for a bad limit")
			}
		})
	}
}

func TestScopeEnumMatchesAuth(t *testing.T) {
	t.Parallel()
	s := setup(t).Document().Components.Schemas["Scope"].Value
	var got []string
	for _, e := range s.Enum {
		got = append(got, e.(string))
	}
	require.ElementsMatch(t, auth.Scopes, got, "components.schemas.Scope must list auth.Scopes")
}

func TestErrorCodeEnumMatchesDomain(t *testing.T) {
	t.Parallel()
	s := setup(t).Document().Components.Schemas["ErrorCode"].Value
	var got []string
	for _, e := range s.Enum {
		got = append(got, e.(string))
	}
	var ws []string
	for _, c := range turbocat.ErrorCodes {
		ws = append(ws, string(c))
	}
	require.ElementsMatch(t, ws, got)
}

// Every data object the API returns stays open to new fields; every request
// body is closed.
func TestDataObjectsAreOpenAndBodiesStrict(t *testing.T) {
	t.Parallel()
	doc := setup(t).Document()
	bodies := map[string]bool{}
	for _, item := range doc.Paths.Map() {
		for _, o := range item.Operations() {
			if o.RequestBody != nil {
				ref := o.RequestBody.Value.Content.Get("application/json").Schema.Ref
				bodies[ref[strings.LastIndexByte(ref, '/')+1:]] = true
			}
		}
	}
	require.NotEmpty(t, bodies)
	for name, s := range doc.Components.Schemas {
		strict := s.Value.AdditionalProperties.Has != nil && !*s.Value.AdditionalProperties.Has
		if bodies[name] && s.Value.Extensions["x-user-defined"] != true {
			require.True(t, strict, "request body %s must set additionalProperties: false", name)
		} else if strict && !strings.HasSuffix(name, "Input") {
			t.Errorf("response schema %s sets additionalProperties: false; data objects gain fields over time", name)
		}
	}
	require.True(t, bodies["WorkflowInput"], "the workflow body is found through its operation")
}

// Every component is used: a schema nobody references is a leftover that
// misleads readers of the document.
func TestEveryComponentIsReferenced(t *testing.T) {
	t.Parallel()
	raw := string(httpapi.OpenAPIDocument())
	c := setup(t).Document().Components
	kinds := map[string][]string{}
	for n := range c.Schemas {
		kinds["schemas"] = append(kinds["schemas"], n)
	}
	for n := range c.Responses {
		kinds["responses"] = append(kinds["responses"], n)
	}
	for n := range c.Parameters {
		kinds["parameters"] = append(kinds["parameters"], n)
	}
	for n := range c.Headers {
		kinds["headers"] = append(kinds["headers"], n)
	}
	require.NotEmpty(t, kinds["schemas"])
	for kind, names := range kinds {
		for _, n := range names {
			require.Contains(t, raw, `"$ref": "#/components/`+kind+`/`+n+`"`, "components.%s.%s is never referenced", kind, n)
		}
	}
}
