package httpapi_test

import (
	"errors"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/httpapi"
	"github.com/turbocat/turbocat/internal/httpapi/openapitest"
)

var contract = sync.OnceValues(func() (*openapitest.Validator, error) {
	return openapitest.New(httpapi.OpenAPIDocument())
})

// checkContract validates every request the tests make, and its response,
// against the OpenAPI document, so the document cannot drift from the code.
// Answers to undocumented paths and methods (404s, 405s, CORS preflights)
// have no operation to check against.
func checkContract(t *testing.T, req *http.Request, reqBody []byte, r resp) {
	t.Helper()
	v, err := contract()
	require.NoError(t, err)
	err = v.Check(req, reqBody, r.Status, r.Header, r.Body)
	if errors.Is(err, openapitest.ErrNoOperation) && (r.Status == http.StatusNotFound || r.Status == http.StatusMethodNotAllowed || req.Method == http.MethodOptions) {
		return
	}
	require.NoError(t, err)
}
