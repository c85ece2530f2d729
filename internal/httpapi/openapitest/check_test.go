package openapitest_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/httpapi/openapitest"
)

const (
	agentID = "6f1c2b9e-8d4a-4f3e-9a51-2c7d0e4b8a10"
	metaOK  = `"meta":{"timestamp":"2030-01-02T15:04:05.123456Z","requestId":"req-12345678"}`
)

func okBody(data string) string { return `{"success":true,"data":` + data + `,` + metaOK + `}` }

func errBody(code string) string {
	return `{"success":false,"error":{"code":"` + code + `","message":"m","details":[{"field":"name","message":"is required"}]},` + metaOK + `}`
}

// agent returns an agent JSON object with one field replaced (or removed
// when value is ""); field "" changes nothing.
func agent(field, value string) string {
	fields := [][2]string{
		{"id", `"` + agentID + `"`},
		{"templateId", `null`},
		{"name", `"fetch"`},
		{"description", `""`},
		{"type", `"api"`},
		{"config", `{"method":"GET","url":"https://example.com"}`},
		{"status", `"active"`},
		{"createdAt", `"2030-01-02T15:04:05.123Z"`},
		{"updatedAt", `"2030-01-02T15:04:05Z"`},
		{"addedLater", `{"x":1}`},
	}
	var parts []string
	for _, f := range fields {
		if f[0] == field {
			if value == "" {
				continue
			}
			f[1] = value
		}
		parts = append(parts, `"`+f[0]+`":`+f[1])
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func jsonHeader(kv ...string) http.Header {
	h := http.Header{"Content-Type": {"application/json; charset=utf-8"}, "X-Request-Id": {"req-12345678"}}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestCheck(t *testing.T) {
	t.Parallel()
	validAgentBody := `{"name":"fetch","type":"api","config":{"method":"GET","url":"https://example.com"}}`
	tests := []struct {
		name    string
		method  string
		target  string
		reqBody string
		status  int
		header  http.Header
		body    string
		wantErr string // substring; "" means the exchange matches the document
	}{
		{name: "agent as documented, with an undocumented extra field", method: "GET", target: "/api/v1/agents/" + agentID,
			status: 200, body: okBody(agent("", ""))},
		{name: "agent without a required field", method: "GET", target: "/api/v1/agents/" + agentID,
			status: 200, body: okBody(agent("name", "")), wantErr: `"/data/name": property "name" is missing`},
		{name: "agent with a null non-nullable field", method: "GET", target: "/api/v1/agents/" + agentID,
			status: 200, body: okBody(agent("name", "null")), wantErr: `"/data/name": Value is not nullable`},
		{name: "agent with a status outside the enum", method: "GET", target: "/api/v1/agents/" + agentID,
			status: 200, body: okBody(agent("status", `"paused"`)), wantErr: `"/data/status"`},
		{name: "agent with a non-UUID id", method: "GET", target: "/api/v1/agents/" + agentID,
			status: 200, body: okBody(agent("id", `"42"`)), wantErr: `"/data/id": string doesn't match the format "uuid"`},
		{name: "agent with a timestamp that is not RFC 3339", method: "GET", target: "/api/v1/agents/" + agentID,
			status: 200, body: okBody(agent("createdAt", `"02/01/2030"`)), wantErr: `"/data/createdAt"`},
		{name: "agent with a number where a string belongs", method: "GET", target: "/api/v1/agents/" + agentID,
			status: 200, body: okBody(agent("description", `7`)), wantErr: `"/data/description": value must be a string`},
		{name: "error envelope on a success status", method: "GET", target: "/api/v1/agents/" + agentID,
			status: 200, body: errBody("NOT_FOUND"), wantErr: `"/success"`},
		{name: "envelope without meta", method: "GET", target: "/api/v1/agents/" + agentID,
			status: 200, body: `{"success":true,"data":` + agent("", "") + `}`, wantErr: `property "meta" is missing`},
		{name: "undocumented status", method: "GET", target: "/api/v1/agents/" + agentID,
			status: 418, body: errBody("INTERNAL"), wantErr: "status is not supported"},
		{name: "409 on a route that cannot conflict", method: "GET", target: "/api/v1/agents/" + agentID,
			status: 409, body: errBody("CONFLICT"), wantErr: "status is not supported"},
		{name: "wrong content type", method: "GET", target: "/api/v1/agents/" + agentID,
			status: 200, header: jsonHeader("Content-Type", "text/plain"), body: okBody(agent("", "")), wantErr: "text/plain"},
		{name: "empty body", method: "GET", target: "/api/v1/agents/" + agentID,
			status: 200, body: "", wantErr: "decode"},
		{name: "404 as documented", method: "GET", target: "/api/v1/agents/" + agentID,
			status: 404, body: errBody("NOT_FOUND")},
		{name: "404 for a malformed id", method: "GET", target: "/api/v1/agents/not-a-uuid",
			status: 404, body: errBody("NOT_FOUND")},
		{name: "404 carrying another status's code", method: "GET", target: "/api/v1/agents/" + agentID,
			status: 404, body: errBody("CONFLICT"), wantErr: `"/error/code"`},
		{name: "error code outside the enum", method: "GET", target: "/api/v1/agents/" + agentID,
			status: 404, body: errBody("GONE"), wantErr: `"/error/code"`},
		{name: "429 with Retry-After", method: "GET", target: "/api/v1/agents",
			status: 429, header: jsonHeader("Retry-After", "3"), body: errBody("RATE_LIMITED")},
		{name: "429 without Retry-After", method: "GET", target: "/api/v1/agents",
			status: 429, body: errBody("RATE_LIMITED"), wantErr: "Retry-After"},
		{name: "401 without WWW-Authenticate", method: "GET", target: "/api/v1/agents",
			status: 401, body: errBody("TOKEN_EXPIRED"), wantErr: "WWW-Authenticate"},
		{name: "response without X-Request-Id", method: "GET", target: "/health",
			status: 200, header: http.Header{"Content-Type": {"application/json"}}, body: okBody(`{"status":"ok"}`), wantErr: "X-Request-Id"},
		{name: "list page", method: "GET", target: "/api/v1/agents?limit=2&type=api",
			status: 200, body: okBody(`{"items":[` + agent("", "") + `,` + agent("templateId", `"`+agentID+`"`) + `],"nextCursor":"abc"}`)},
		{name: "list with null items", method: "GET", target: "/api/v1/agents",
			status: 200, body: okBody(`{"items":null}`), wantErr: `"/data/items": Value is not nullable`},
		{name: "out-of-range limit accepted", method: "GET", target: "/api/v1/agents?limit=500",
			status: 200, body: okBody(`{"items":[]}`), wantErr: "request the document rejects"},
		{name: "out-of-range limit refused", method: "GET", target: "/api/v1/agents?limit=500",
			status: 400, body: errBody("VALIDATION_ERROR")},
		{name: "create as documented", method: "POST", target: "/api/v1/agents", reqBody: validAgentBody,
			status: 201, body: okBody(agent("", ""))},
		{name: "create with 200 instead of 201", method: "POST", target: "/api/v1/agents", reqBody: validAgentBody,
			status: 200, body: okBody(agent("", "")), wantErr: "status is not supported"},
		{name: "unknown request field accepted", method: "POST", target: "/api/v1/agents",
			reqBody: `{"name":"fetch","type":"api","config":{},"colour":"red"}`,
			status:  201, body: okBody(agent("", "")), wantErr: `property "colour" is unsupported`},
		{name: "unknown request field refused", method: "POST", target: "/api/v1/agents",
			reqBody: `{"name":"fetch","type":"api","config":{},"colour":"red"}`,
			status:  400, body: errBody("VALIDATION_ERROR")},
		{name: "missing required request field accepted", method: "POST", target: "/api/v1/workflows",
			reqBody: `{"name":"w"}`, status: 201, body: okBody(`{}`), wantErr: `property "steps" is missing`},
		{name: "optional body left out", method: "POST", target: "/api/v1/templates/" + agentID + "/instantiate",
			status: 201, body: okBody(`{"kind":"agent","agent":` + agent("", "") + `}`)},
		{name: "execution without its steps", method: "GET", target: "/api/v1/executions/" + agentID,
			status: 200, body: okBody(`{"id":"` + agentID + `","workflowId":"` + agentID + `","workflowVersion":1,"deploymentId":null,"status":"running","trigger":"api","inputData":{"a":1},"outputData":null,"error":null,"startedAt":null,"completedAt":null,"durationMs":null,"createdAt":"2030-01-02T15:04:05Z"}`),
			wantErr: `"/steps": property "steps" is missing`},
		{name: "execution with its steps", method: "GET", target: "/api/v1/executions/" + agentID,
			status: 200, body: okBody(`{"id":"` + agentID + `","workflowId":"` + agentID + `","workflowVersion":1,"deploymentId":null,"status":"completed","trigger":"api","inputData":null,"outputData":[1,"two"],"error":null,"startedAt":"2030-01-02T15:04:05Z","completedAt":"2030-01-02T15:04:06Z","durationMs":1000,"createdAt":"2030-01-02T15:04:05Z","steps":[{"executionId":"` + agentID + `","stepKey":"fetch","agentId":null,"status":"completed","attempt":1,"input":{},"output":"text","error":null,"startedAt":null,"completedAt":null,"durationMs":null,"inputTokens":0,"outputTokens":0,"costUsd":0}]}`)},
		{name: "the raw document", method: "GET", target: "/api/v1/openapi.json",
			status: 200, header: jsonHeader("Content-Type", "application/json"), body: `{"openapi":"3.0.3","info":{},"paths":{}}`},
		{name: "the document wrapped in an envelope", method: "GET", target: "/api/v1/openapi.json",
			status: 200, body: okBody(`{}`), wantErr: `property "openapi" is missing`},
	}
	v := setup(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.reqBody))
			h := tt.header
			if h == nil {
				h = jsonHeader()
			}
			err := v.Check(req, []byte(tt.reqBody), tt.status, h, []byte(tt.body))
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.wantErr)
			require.False(t, errors.Is(err, openapitest.ErrNoOperation))
		})
	}
}

func TestCheckUndocumentedRequests(t *testing.T) {
	t.Parallel()
	v := setup(t)
	for _, target := range []string{"PUT /api/v1/agents", "GET /api/v1/agents/" + agentID + "/runs", "GET /api/v2/agents", "GET /"} {
		method, path, _ := strings.Cut(target, " ")
		err := v.Check(httptest.NewRequest(method, path, nil), nil, 404, jsonHeader(), []byte(errBody("NOT_FOUND")))
		require.ErrorIs(t, err, openapitest.ErrNoOperation, target)
	}
}

func TestNewRejectsInvalidDocuments(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"not JSON":             `{"openapi":`,
		"no info":              `{"openapi":"3.0.3","paths":{}}`,
		"dangling reference":   `{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{"/a":{"get":{"responses":{"200":{"$ref":"#/components/responses/Nope"}}}}}}`,
		"path unfit for a mux": `{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{"/a/{x}":{"get":{"parameters":[{"name":"x","in":"path","required":true,"schema":{"type":"string"}}],"responses":{"200":{"description":"d"}}}},"/a/{y}":{"get":{"parameters":[{"name":"y","in":"path","required":true,"schema":{"type":"string"}}],"responses":{"200":{"description":"d"}}}}}}`,
	}
	for name, doc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := openapitest.New([]byte(doc))
			require.Error(t, err)
		})
	}
}

func TestOperationsListsEveryDocumentedOperation(t *testing.T) {
	t.Parallel()
	v, err := openapitest.New([]byte(`{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{
		"/b":{"post":{"responses":{"200":{"description":"d"}}},"get":{"responses":{"200":{"description":"d"}}}},
		"/a/{id}":{"delete":{"parameters":[{"name":"id","in":"path","required":true,"schema":{"type":"string"}}],"responses":{"200":{"description":"d"}}}}}}`))
	require.NoError(t, err)
	require.Equal(t, []openapitest.Operation{{"DELETE", "/a/{id}"}, {"GET", "/b"}, {"POST", "/b"}}, v.Operations())
}

func TestExercisedReportsCheckedStatuses(t *testing.T) {
	t.Parallel()
	v, err := openapitest.New([]byte(`{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{
		"/a/{id}":{"get":{"parameters":[{"name":"id","in":"path","required":true,"schema":{"type":"string"}}],"responses":{"200":{"description":"d"},"404":{"description":"d"}}},
		           "delete":{"parameters":[{"name":"id","in":"path","required":true,"schema":{"type":"string"}}],"responses":{"200":{"description":"d"}}}}}}`))
	require.NoError(t, err)
	require.NoError(t, v.Check(httptest.NewRequest("GET", "/a/1", nil), nil, 404, nil, nil))
	require.NoError(t, v.Check(httptest.NewRequest("GET", "/a/2", nil), nil, 200, nil, nil))
	require.Error(t, v.Check(httptest.NewRequest("GET", "/a/3", nil), nil, 500, nil, nil), "500 is not documented")
	require.ErrorIs(t, v.Check(httptest.NewRequest("PUT", "/a/3", nil), nil, 404, nil, nil), openapitest.ErrNoOperation)
	require.Equal(t, map[openapitest.Operation][]int{
		{Method: "GET", Path: "/a/{id}"}:    {200, 404, 500},
		{Method: "DELETE", Path: "/a/{id}"}: nil,
	}, v.Exercised())
}

// BenchmarkCheck measures what contract checking adds to each exchange of a
// test suite.
func BenchmarkCheck(b *testing.B) {
	v, err := validator()
	require.NoError(b, err)
	body := []byte(okBody(`{"items":[` + agent("", "") + `,` + agent("", "") + `],"nextCursor":"abc"}`))
	h := jsonHeader()
	req := httptest.NewRequest("GET", "/api/v1/agents?limit=2", nil)
	b.ReportAllocs()
	for b.Loop() {
		if err := v.Check(req, nil, 200, h, body); err != nil {
			b.Fatal(err)
		}
	}
}
