package app

import (
	"fmt"
	"net/http"
	"net/http/pprof"
	goruntime "runtime"

	"github.com/turbocat/turbocat/internal/postgres"
)

// LocalHandler is what `turbocat dev` serves on one port: the whole API
// (/api/, /hooks/, /mcp, /health, /ready), /metrics in the Prometheus text format, and the web console (when given)
// on every other path.
func (a *App) LocalHandler(console http.Handler) http.Handler {
	api := a.Server.Handler()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", a.metrics)
	if a.Config.Pprof {
		// Go's profiler, for measuring turbocat dev under load
		// (TURBOCAT_PPROF=true; turbocat dev listens on loopback).
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	mux.Handle("/api/", api)
	mux.Handle("/hooks/", api)
	mux.Handle("/mcp", api)
	mux.Handle("/health", api)
	mux.Handle("/ready", api)
	if console != nil {
		mux.Handle("/", console)
	} else {
		mux.Handle("/", api)
	}
	return mux
}

// metrics serves the Prometheus text format.
func (a *App) metrics(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	a.Metrics.WritePrometheus(w)
	postgres.WriteQueryMetrics(w)
	fmt.Fprintf(w, "# HELP go_goroutines Goroutines that currently exist.\n# TYPE go_goroutines gauge\ngo_goroutines %d\n", goruntime.NumGoroutine())
}
