// Package openapitest checks HTTP exchanges against Turbocat's OpenAPI 3
// document, so tests can prove that real responses are what the document
// promises. A Validator routes a request to its documented operation the way
// net/http's ServeMux does (the server's own router), validates the request
// (path, query and body; never authentication, which the server checks
// itself) and the response (status documented for the operation, content
// type, headers, body schema). It is built on github.com/getkin/kin-openapi.
//
// The package's tests also hold internal/httpapi/openapi.json to the route
// table. To document a new route there: add the path item with operationId
// set to the handler's method name, one tag, x-function (the route's Group),
// x-scope, x-admin-only, x-session-only and x-auth-rate-limited as in the
// route, security ([] when public; bearerAuth only when session-only), the
// success response (a <Data>Envelope schema next to the data schema) and the
// shared error responses in components/responses the route can answer (401
// and 403 when authenticated, 404 with an {id}, 400 and 413 with a body,
// 400 with limit, 429 and 500 always). Request bodies set
// additionalProperties: false; data objects do not. Keep the file 2-space
// indented.
package openapitest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// ErrNoOperation is returned (wrapped) by Check when the request matches no
// documented operation: an undocumented path or method.
var ErrNoOperation = errors.New("no documented operation")

// Operation is one documented operation: an HTTP method and a path template
// such as /api/v1/agents/{id}.
type Operation struct {
	Method string
	Path   string
}

// Validator checks requests and responses against one OpenAPI document. It
// is safe for concurrent use.
type Validator struct {
	doc  *openapi3.T
	ops  []Operation
	mux  *http.ServeMux
	opts *openapi3filter.Options

	mu   sync.Mutex
	seen map[Operation]map[int]bool // statuses checked per operation
}

// canonicalUUID is what Postgres prints for a uuid (any version).
var canonicalUUID = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// New parses and validates an OpenAPI 3 document (JSON) and returns a
// Validator for it. Local $refs only; the document must be valid.
func New(doc []byte) (*Validator, error) {
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	t, err := loader.LoadFromData(doc)
	if err != nil {
		return nil, fmt.Errorf("load OpenAPI document: %w", err)
	}
	if err := t.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("invalid OpenAPI document: %w", err)
	}
	// Formats checked for this document only (the kin-openapi globals are
	// left alone): ids are canonical UUIDs; emails have an @ and no spaces
	// once trimmed, as the server trims them.
	t.SetStringFormatValidator("uuid", openapi3.NewCallbackValidator(func(s string) error {
		if !canonicalUUID.MatchString(s) {
			return errors.New("not a UUID")
		}
		return nil
	}))
	t.SetStringFormatValidator("email", openapi3.NewCallbackValidator(func(s string) error {
		s = strings.TrimSpace(s)
		at := strings.LastIndexByte(s, '@')
		if at < 1 || at == len(s)-1 || strings.ContainsAny(s, " \t\r\n") {
			return errors.New("not an email address")
		}
		return nil
	}))
	v := &Validator{
		doc:  t,
		mux:  http.NewServeMux(),
		seen: map[Operation]map[int]bool{},
		opts: &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
			// Schema dumps make failures unreadable and values may hold
			// secrets (API keys, tokens): report only the reasons.
			SchemaValidationOptions: append(t.GetSchemaValidationOptions(), openapi3.DisableSchemaErrorDetails()),
		},
	}
	if err := v.buildRoutes(); err != nil {
		return nil, err
	}
	return v, nil
}

type matchKey struct{}

// match is filled in by the ServeMux handler of the matched operation.
type match struct {
	route  *routers.Route
	params map[string]string
}

// buildRoutes registers one ServeMux pattern per operation. ServeMux panics
// on patterns it cannot parse or that conflict; that becomes an error here.
func (v *Validator) buildRoutes() (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("OpenAPI paths are not valid net/http patterns: %v", p)
		}
	}()
	for _, path := range v.doc.Paths.InMatchingOrder() {
		item := v.doc.Paths.Value(path)
		for method, op := range item.Operations() {
			// Authentication is the server's business: validate everything
			// else, with no security requirement.
			noAuth := *op
			noAuth.Security = &openapi3.SecurityRequirements{}
			route := &routers.Route{Spec: v.doc, Path: path, PathItem: item, Method: method, Operation: &noAuth}
			names := pathParamNames(path)
			v.mux.Handle(method+" "+path, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				m, ok := r.Context().Value(matchKey{}).(*match)
				if !ok {
					return
				}
				m.route = route
				for _, n := range names {
					m.params[n] = r.PathValue(n)
				}
			}))
			v.ops = append(v.ops, Operation{Method: method, Path: path})
		}
	}
	slices.SortFunc(v.ops, func(a, b Operation) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Method, b.Method)
	})
	return nil
}

func pathParamNames(path string) []string {
	var names []string
	for _, seg := range strings.Split(path, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			names = append(names, strings.TrimSuffix(strings.TrimPrefix(seg, "{"), "}"))
		}
	}
	return names
}

// Operations lists the documented operations, sorted by path then method.
func (v *Validator) Operations() []Operation {
	return slices.Clone(v.ops)
}

// Document returns the parsed document (for tests that inspect it; do not
// modify it).
func (v *Validator) Document() *openapi3.T { return v.doc }

// discard is a ResponseWriter for routing only.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// find returns the documented operation serving req and its path parameters.
func (v *Validator) find(req *http.Request) (*routers.Route, map[string]string, error) {
	m := &match{params: map[string]string{}}
	v.mux.ServeHTTP(&discard{h: http.Header{}}, req.WithContext(context.WithValue(req.Context(), matchKey{}, m)))
	if m.route == nil {
		return nil, nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, ErrNoOperation)
	}
	return m.route, m.params, nil
}

// Check validates one exchange: req (whose body, already consumed by the
// server, is given as reqBody), and the response's status, header and body.
//
// The request is checked against its operation's parameters and request
// body schema. A request the document rejects is only an error when the
// server accepted it (status below 400): the server may well refuse
// requests the document allows (rules no schema can express), and tests
// send invalid requests on purpose. A request body without a Content-Type is
// taken as JSON, as the server does.
//
// The response must have a status the operation documents, the documented
// content type and headers, and a body matching the schema. Data objects
// may carry fields the document does not list; request bodies may not.
//
// The error wraps ErrNoOperation when no documented operation matches, and
// otherwise describes every problem found.
func (v *Validator) Check(req *http.Request, reqBody []byte, status int, header http.Header, respBody []byte) error {
	route, params, err := v.find(req)
	if err != nil {
		return err
	}
	v.record(Operation{Method: route.Method, Path: route.Path}, status)
	ctx := req.Context()
	r := req.Clone(ctx)
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	r.ContentLength = int64(len(reqBody))
	if len(reqBody) > 0 && r.Header.Get("Content-Type") == "" {
		r.Header.Set("Content-Type", "application/json")
	}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: v.opts}
	var errs []error
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil && status < 400 {
		errs = append(errs, fmt.Errorf("%s %s: the server answered %d to a request the document rejects: %w", req.Method, route.Path, status, err))
	}
	if header == nil {
		header = http.Header{}
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(respBody)),
		Options:                v.opts,
	}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		errs = append(errs, fmt.Errorf("%s %s: response %d does not match the document: %w", req.Method, route.Path, status, err))
	}
	return errors.Join(errs...)
}

func (v *Validator) record(op Operation, status int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.seen[op] == nil {
		v.seen[op] = map[int]bool{}
	}
	v.seen[op][status] = true
}

// Exercised returns every documented operation with the response statuses
// Check has been given for it so far, sorted; an operation no exchange
// reached has none. A test suite can use it to find untested operations.
func (v *Validator) Exercised() map[Operation][]int {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make(map[Operation][]int, len(v.ops))
	for _, op := range v.ops {
		var statuses []int
		for st := range v.seen[op] {
			statuses = append(statuses, st)
		}
		slices.Sort(statuses)
		out[op] = statuses
	}
	return out
}
