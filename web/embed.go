// Package web serves the Turbocat console: the Next.js static export in
// web/out, embedded in the binary at build time. `make web` builds the export;
// until it has been built, Handler answers every request with a short page
// that says so, and the API mounted beside it keeps working.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed all:out
var embedded embed.FS

// exportFS is the root of the static export inside the embedded files.
func exportFS() fs.FS {
	sub, err := fs.Sub(embedded, "out")
	if err != nil {
		// fs.Sub only fails on an invalid directory name, and "out" is valid.
		return embedded
	}
	return sub
}

// Built reports whether the binary embeds a built console (web/out/index.html).
func Built() bool {
	return built(exportFS())
}

// Handler serves the embedded console. Hashed assets under /_next/static/ are
// cached for a year; HTML and every other file must be revalidated. A path
// without a page of its own is served the page of its nearest parent route
// (client-side routing), and anything else the export's 404 page. When the
// console has not been built, every request gets a page saying to run
// `make web`.
func Handler() http.Handler {
	return newHandler(exportFS())
}

// built reports whether fsys holds an export.
func built(fsys fs.FS) bool {
	info, err := fs.Stat(fsys, "index.html")
	return err == nil && !info.IsDir()
}

// newHandler serves the export in fsys; tests pass an in-memory FS.
func newHandler(fsys fs.FS) http.Handler {
	if !built(fsys) {
		return notBuiltHandler{}
	}
	h := &handler{files: map[string]*asset{}}
	// Read every file once: the export is a few megabytes and is already in
	// memory, and reading it here gives each file a strong ETag.
	_ = fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil //nolint:nilerr // an unreadable entry is skipped, not fatal
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil //nolint:nilerr // an unreadable file is served as absent
		}
		sum := sha256.Sum256(data)
		a := &asset{
			name:        name,
			data:        data,
			etag:        `"` + hex.EncodeToString(sum[:12]) + `"`,
			contentType: contentType(name, data),
		}
		if compressible(a.contentType) {
			a.gzipped = gzipped(data)
		}
		h.files[name] = a
		return nil
	})
	return h
}

// asset is one file of the export, read at start.
type asset struct {
	name        string
	data        []byte
	gzipped     []byte // nil when compression does not pay
	etag        string
	contentType string
}

// compressible reports whether files of a content type are worth gzipping.
func compressible(contentType string) bool {
	return strings.HasPrefix(contentType, "text/") || strings.HasPrefix(contentType, "application/json") ||
		strings.HasPrefix(contentType, "image/svg+xml") || strings.HasPrefix(contentType, "application/manifest+json")
}

// gzipped compresses data once at start, or returns nil when that saves
// less than a tenth of it (tiny files).
func gzipped(data []byte) []byte {
	if len(data) < 1024 {
		return nil
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil
	}
	if _, err := zw.Write(data); err != nil {
		return nil
	}
	if err := zw.Close(); err != nil {
		return nil
	}
	if buf.Len() > len(data)*9/10 {
		return nil
	}
	return buf.Bytes()
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}

// handler serves a built export.
type handler struct {
	files map[string]*asset
}

// ServeHTTP implements http.Handler.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	a, status := h.resolve(r.URL.Path)
	if a == nil {
		http.NotFound(w, r)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", a.contentType)
	hdr.Set("X-Content-Type-Options", "nosniff")
	if strings.HasPrefix(a.name, "_next/static/") {
		hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hdr.Set("Cache-Control", "no-cache")
	}
	if strings.HasSuffix(a.name, ".html") {
		hdr.Set("Content-Security-Policy", contentSecurityPolicy)
		hdr.Set("X-Frame-Options", "DENY")
		hdr.Set("Referrer-Policy", "same-origin")
	}
	if status != http.StatusOK {
		// Fallback pages are not cached under the requested URL's validators.
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			_, _ = w.Write(a.data)
		}
		return
	}
	body, etag := a.data, a.etag
	if a.gzipped != nil {
		hdr.Set("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			// A different representation gets a different validator.
			body, etag = a.gzipped, strings.TrimSuffix(a.etag, `"`)+`-gz"`
			hdr.Set("Content-Encoding", "gzip")
		}
	}
	hdr.Set("ETag", etag)
	// ServeContent answers If-None-Match with 304 and handles Range.
	http.ServeContent(w, r, a.name, time.Time{}, bytes.NewReader(body))
}

// contentSecurityPolicy confines the console's pages to their own origin:
// scripts, styles, images and API calls come from it and nowhere else, so even
// injected markup cannot load a script from elsewhere or send a token away.
// Next.js's static export inlines its bootstrap scripts, hence 'unsafe-inline'.
const contentSecurityPolicy = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; " +
	"form-action 'self'; frame-ancestors 'none'"

// resolve maps a URL path to the file to serve and the status to answer with.
func (h *handler) resolve(urlPath string) (*asset, int) {
	name := strings.TrimPrefix(path.Clean("/"+urlPath), "/")
	if name == "" {
		name = "index.html"
	}
	for _, candidate := range []string{name, name + ".html", name + "/index.html"} {
		if a, ok := h.files[candidate]; ok {
			return a, http.StatusOK
		}
	}
	// A missing asset (it has an extension, or is under _next/) is a plain 404:
	// serving HTML in place of a script only hides the error.
	if strings.HasPrefix(name, "_next/") || path.Ext(name) != "" {
		return nil, http.StatusNotFound
	}
	// Client-side routes: /executions/abc is served the /executions page,
	// which reads the rest of the path in the browser. The root page is not a
	// fallback for everything, so a mistyped top-level path gets the 404 page.
	for dir := path.Dir(name); dir != "." && dir != "/"; dir = path.Dir(dir) {
		for _, candidate := range []string{dir + ".html", dir + "/index.html"} {
			if a, ok := h.files[candidate]; ok {
				return a, http.StatusOK
			}
		}
	}
	if a, ok := h.files["404.html"]; ok {
		return a, http.StatusNotFound
	}
	return nil, http.StatusNotFound
}

// contentTypes fixes the types of the files a Next.js export holds, so they do
// not depend on the host's mime.types.
var contentTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".json":        "application/json",
	".map":         "application/json",
	".txt":         "text/plain; charset=utf-8",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".jpg":         "image/jpeg",
	".jpeg":        "image/jpeg",
	".gif":         "image/gif",
	".webp":        "image/webp",
	".ico":         "image/x-icon",
	".woff":        "font/woff",
	".woff2":       "font/woff2",
	".ttf":         "font/ttf",
	".webmanifest": "application/manifest+json",
}

// contentType picks a file's Content-Type from its extension, then its bytes.
func contentType(name string, data []byte) string {
	ext := strings.ToLower(path.Ext(name))
	if ct, ok := contentTypes[ext]; ok {
		return ct
	}
	if ct := mime.TypeByExtension(ext); ct != "" {
		return ct
	}
	return http.DetectContentType(data)
}

// notBuiltHandler answers every request while the export is missing.
type notBuiltHandler struct{}

// notBuiltPage is the page notBuiltHandler serves.
const notBuiltPage = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Turbocat console not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem; line-height: 1.5">
<h1>The Turbocat console is not built</h1>
<p>This binary was built without the web console. Run <code>make web</code>, then rebuild or restart <code>turbocat dev</code>.</p>
<p>The API is running: see <a href="/api/v1/openapi.json">/api/v1/openapi.json</a> and <a href="/health">/health</a>.</p>
</body>
</html>
`

// ServeHTTP implements http.Handler.
func (notBuiltHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusServiceUnavailable)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(notBuiltPage))
	}
}
