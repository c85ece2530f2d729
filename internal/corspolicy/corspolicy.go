// Package corspolicy is the API's CORS policy in one place: the HTTP layer
// answers preflights with it (turbocat dev, a Lambda behind a proxy) and
// the CDK app configures API Gateway's preflight with it, so the two never
// drift apart.
package corspolicy

// AllowHeaders are the request headers a browser on an allowed origin may
// send: credentials, idempotency keys, the log stream's Last-Event-ID and
// the headers of MCP clients of /mcp.
var AllowHeaders = []string{"Authorization", "Content-Type", "X-API-Key", "X-Request-Id", "Idempotency-Key",
	"Last-Event-ID", "Mcp-Protocol-Version", "Mcp-Session-Id"}

// ExposeHeaders are the response headers such a browser may read.
var ExposeHeaders = []string{"X-Request-Id", "Retry-After", "Mcp-Session-Id"}
