package httpapi

import _ "embed"

//go:embed openapi.json
var openAPIDoc []byte

// OpenAPIDocument returns the OpenAPI 3 document of the API.
func OpenAPIDocument() []byte { return openAPIDoc }
