// Command consoleproxy serves the embedded console (web.Handler) and proxies
// the API to a running `turbocat dev`, the way `turbocat dev` mounts them on
// one origin. The end-to-end tests use it only while the turbocat binary does
// not serve the console at / itself, so the browser always exercises the Go
// handler that ships.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/turbocat/turbocat/web"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "consoleproxy:", err)
		os.Exit(1)
	}
}

func run() error {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	api := flag.String("api", "", "base URL of turbocat dev, e.g. http://127.0.0.1:3001")
	flag.Parse()
	target, err := url.Parse(*api)
	if err != nil || target.Scheme == "" || target.Host == "" {
		return fmt.Errorf("-api %q is not a base URL", *api)
	}
	if !web.Built() {
		return errors.New("the console is not built into this binary: run make web first")
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.FlushInterval = -1 // server-sent events go through at once
	mux := http.NewServeMux()
	mux.Handle("/api/", proxy)
	mux.Handle("/health", proxy)
	mux.Handle("/ready", proxy)
	mux.Handle("/", web.Handler())

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *listen, err)
	}
	// The test reads the address from the first line of stdout.
	fmt.Printf("listening on http://%s\n", ln.Addr())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	slog.Info("consoleproxy: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
