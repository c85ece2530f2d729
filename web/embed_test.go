package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"
)

// exportFixture is a small export shaped like Next.js's output.
func exportFixture() fstest.MapFS {
	return fstest.MapFS{
		"index.html":                         {Data: []byte("<html>dashboard</html>")},
		"404.html":                           {Data: []byte("<html>not found page</html>")},
		"agents.html":                        {Data: []byte("<html>agents</html>")},
		"agents.txt":                         {Data: []byte("0:rsc payload")},
		"executions.html":                    {Data: []byte("<html>executions</html>")},
		"settings/index.html":                {Data: []byte("<html>settings</html>")},
		"_next/static/chunks/main-abc123.js": {Data: []byte("console.log(1)")},
		"_next/static/css/app-def456.css":    {Data: []byte("body{}")},
		"favicon.ico":                        {Data: []byte{0, 0, 1, 0}},
		"_next/static/chunks/big-789.js":     {Data: bigScript},
	}
}

// bigScript is large and repetitive enough to be served compressed.
var bigScript = bytes.Repeat([]byte("function turbocat(){return 42}\n"), 200)

func serve(t *testing.T, h http.Handler, method, target string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestHandlerServesExport(t *testing.T) {
	t.Parallel()
	h := newHandler(exportFixture())

	tests := []struct {
		name        string
		target      string
		status      int
		body        string
		contentType string
		cache       string
	}{
		{"root is the dashboard", "/", 200, "<html>dashboard</html>", "text/html; charset=utf-8", "no-cache"},
		{"page without extension", "/agents", 200, "<html>agents</html>", "text/html; charset=utf-8", "no-cache"},
		{"page with trailing slash", "/agents/", 200, "<html>agents</html>", "text/html; charset=utf-8", "no-cache"},
		{"directory index page", "/settings", 200, "<html>settings</html>", "text/html; charset=utf-8", "no-cache"},
		{"client route falls back to parent page", "/executions/0b8e2f9c-1d", 200, "<html>executions</html>", "text/html; charset=utf-8", "no-cache"},
		{"deep client route", "/agents/abc/edit", 200, "<html>agents</html>", "text/html; charset=utf-8", "no-cache"},
		{"hashed script cached for a year", "/_next/static/chunks/main-abc123.js", 200, "console.log(1)", "text/javascript; charset=utf-8", "public, max-age=31536000, immutable"},
		{"hashed stylesheet", "/_next/static/css/app-def456.css", 200, "body{}", "text/css; charset=utf-8", "public, max-age=31536000, immutable"},
		{"rsc payload is text and revalidated", "/agents.txt", 200, "0:rsc payload", "text/plain; charset=utf-8", "no-cache"},
		{"icon", "/favicon.ico", 200, "\x00\x00\x01\x00", "image/x-icon", "no-cache"},
		{"unknown top-level route gets the 404 page", "/no-such-page", 404, "<html>not found page</html>", "text/html; charset=utf-8", "no-cache"},
		{"path traversal stays inside the export", "/../../etc/passwd", 404, "<html>not found page</html>", "text/html; charset=utf-8", "no-cache"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := serve(t, h, http.MethodGet, tc.target, nil)
			require.Equal(t, tc.status, rec.Code)
			require.Equal(t, tc.body, rec.Body.String())
			require.Equal(t, tc.contentType, rec.Header().Get("Content-Type"))
			require.Equal(t, tc.cache, rec.Header().Get("Cache-Control"))
		})
	}
}

func TestHandlerMissingAssetIsPlain404(t *testing.T) {
	t.Parallel()
	h := newHandler(exportFixture())
	for _, target := range []string{"/_next/static/chunks/gone-999.js", "/logo.png", "/_next/data"} {
		rec := serve(t, h, http.MethodGet, target, nil)
		require.Equal(t, http.StatusNotFound, rec.Code, target)
		require.NotContains(t, rec.Body.String(), "<html>", "a missing asset must not be answered with a page: %s", target)
	}
}

func TestHandlerRevalidatesWithETag(t *testing.T) {
	t.Parallel()
	h := newHandler(exportFixture())
	first := serve(t, h, http.MethodGet, "/agents", nil)
	etag := first.Header().Get("ETag")
	require.NotEmpty(t, etag)

	again := serve(t, h, http.MethodGet, "/agents", map[string]string{"If-None-Match": etag})
	require.Equal(t, http.StatusNotModified, again.Code)
	require.Empty(t, again.Body.String())

	other := serve(t, h, http.MethodGet, "/", nil)
	require.NotEqual(t, etag, other.Header().Get("ETag"), "different files must have different ETags")
}

func TestHandlerMethods(t *testing.T) {
	t.Parallel()
	h := newHandler(exportFixture())

	head := serve(t, h, http.MethodHead, "/agents", nil)
	require.Equal(t, http.StatusOK, head.Code)
	require.Empty(t, head.Body.String())

	post := serve(t, h, http.MethodPost, "/agents", nil)
	require.Equal(t, http.StatusMethodNotAllowed, post.Code)
	require.Equal(t, "GET, HEAD", post.Header().Get("Allow"))
}

func TestHandlerNotBuilt(t *testing.T) {
	t.Parallel()
	empty := fstest.MapFS{".keep": {Data: nil}}
	require.False(t, built(empty))
	require.True(t, built(exportFixture()))

	h := newHandler(empty)
	for _, target := range []string{"/", "/agents", "/_next/static/chunks/main.js"} {
		rec := serve(t, h, http.MethodGet, target, nil)
		require.Equal(t, http.StatusServiceUnavailable, rec.Code, target)
		require.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
		require.Equal(t, "no-cache", rec.Header().Get("Cache-Control"))
		require.Contains(t, rec.Body.String(), "make web")
		require.Contains(t, rec.Body.String(), "not built")
	}
}

func TestBuiltMatchesEmbeddedExport(t *testing.T) {
	t.Parallel()
	// The embedded export may or may not be built in this checkout; Built and
	// Handler must agree on which it is.
	rec := serve(t, Handler(), http.MethodGet, "/", nil)
	if Built() {
		require.Equal(t, http.StatusOK, rec.Code)
		require.NotContains(t, rec.Body.String(), "console is not built")
	} else {
		require.Equal(t, http.StatusServiceUnavailable, rec.Code)
		require.Contains(t, rec.Body.String(), "make web")
	}
}

func TestHandlerServesBuiltExport(t *testing.T) {
	t.Parallel()
	if !Built() {
		t.Skip("web/out is not built in this checkout: run `make web` to test the real export")
	}
	h := Handler()
	// Every page of the console, including the client-routed detail pages.
	for _, route := range []string{"/", "/login", "/register", "/agents", "/agents/edit", "/workflows", "/workflows/edit",
		"/templates", "/executions", "/executions/view", "/deployments", "/settings"} {
		rec := serve(t, h, http.MethodGet, route, nil)
		require.Equal(t, http.StatusOK, rec.Code, route)
		require.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"), route)
		require.Equal(t, "no-cache", rec.Header().Get("Cache-Control"), route)
		body := rec.Body.String()
		require.Contains(t, body, "/_next/static/", route)

		// Every script and stylesheet the page names is served, typed and cached for good.
		refs := assetRef.FindAllStringSubmatch(body, -1)
		require.NotEmpty(t, refs, route)
		for _, m := range refs {
			asset := serve(t, h, http.MethodGet, m[1], nil)
			require.Equal(t, http.StatusOK, asset.Code, m[1])
			require.Equal(t, "public, max-age=31536000, immutable", asset.Header().Get("Cache-Control"), m[1])
			require.Contains(t, []string{"text/javascript; charset=utf-8", "text/css; charset=utf-8", "font/woff2"},
				asset.Header().Get("Content-Type"), m[1])
		}
	}
	rec := serve(t, h, http.MethodGet, "/definitely-not-a-page", nil)
	require.Equal(t, http.StatusNotFound, rec.Code)
	require.Contains(t, rec.Body.String(), "Page not found")
}

// assetRef finds the hashed assets a page references.
var assetRef = regexp.MustCompile(`"(/_next/static/[^"?]+\.(?:js|css|woff2))"`)

func TestHandlerGzip(t *testing.T) {
	t.Parallel()
	h := newHandler(exportFixture())

	tests := []struct {
		name           string
		acceptEncoding string
		wantGzip       bool
	}{
		{"browser", "gzip, deflate, br", true},
		{"gzip only", "gzip", true},
		{"no header", "", false},
		{"gzip refused", "gzip;q=0, br", false},
		{"other codings only", "br, zstd", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := serve(t, h, http.MethodGet, "/_next/static/chunks/big-789.js", map[string]string{"Accept-Encoding": tc.acceptEncoding})
			require.Equal(t, http.StatusOK, rec.Code)
			require.Equal(t, "Accept-Encoding", rec.Header().Get("Vary"))
			require.Equal(t, "text/javascript; charset=utf-8", rec.Header().Get("Content-Type"))
			body := rec.Body.Bytes()
			if !tc.wantGzip {
				require.Empty(t, rec.Header().Get("Content-Encoding"))
				require.Equal(t, bigScript, body)
				return
			}
			require.Equal(t, "gzip", rec.Header().Get("Content-Encoding"))
			require.Less(t, len(body), len(bigScript)/2, "the compressed body must be smaller")
			zr, err := gzip.NewReader(bytes.NewReader(body))
			require.NoError(t, err)
			plain, err := io.ReadAll(zr)
			require.NoError(t, err)
			require.Equal(t, bigScript, plain)
		})
	}

	t.Run("representations have distinct ETags", func(t *testing.T) {
		t.Parallel()
		plain := serve(t, h, http.MethodGet, "/_next/static/chunks/big-789.js", nil)
		zipped := serve(t, h, http.MethodGet, "/_next/static/chunks/big-789.js", map[string]string{"Accept-Encoding": "gzip"})
		require.NotEqual(t, plain.Header().Get("ETag"), zipped.Header().Get("ETag"))
		again := serve(t, h, http.MethodGet, "/_next/static/chunks/big-789.js",
			map[string]string{"Accept-Encoding": "gzip", "If-None-Match": zipped.Header().Get("ETag")})
		require.Equal(t, http.StatusNotModified, again.Code)
	})

	t.Run("tiny files are sent as they are", func(t *testing.T) {
		t.Parallel()
		rec := serve(t, h, http.MethodGet, "/agents", map[string]string{"Accept-Encoding": "gzip"})
		require.Empty(t, rec.Header().Get("Content-Encoding"))
		require.Equal(t, "<html>agents</html>", rec.Body.String())
	})
}

func TestHandlerPagesCarrySecurityHeaders(t *testing.T) {
	t.Parallel()
	h := newHandler(exportFixture())

	page := serve(t, h, http.MethodGet, "/agents", nil)
	csp := page.Header().Get("Content-Security-Policy")
	require.Contains(t, csp, "connect-src 'self'", "API calls must stay on the console's origin")
	require.Contains(t, csp, "frame-ancestors 'none'")
	require.Equal(t, "DENY", page.Header().Get("X-Frame-Options"))
	require.Equal(t, "nosniff", page.Header().Get("X-Content-Type-Options"))

	asset := serve(t, h, http.MethodGet, "/_next/static/chunks/main-abc123.js", nil)
	require.Empty(t, asset.Header().Get("Content-Security-Policy"))
	require.Equal(t, "nosniff", asset.Header().Get("X-Content-Type-Options"))
}

// BenchmarkHandler measures building the handler over the embedded export
// (read, hash and gzip every file once, at `turbocat dev` start).
func BenchmarkHandler(b *testing.B) {
	if !Built() {
		b.Skip("web/out is not built: run `make web`")
	}
	for b.Loop() {
		_ = Handler()
	}
}
