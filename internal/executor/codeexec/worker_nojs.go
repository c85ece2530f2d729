//go:build turbocat_nojs

package codeexec

import (
	"fmt"
	"os"
)

// MaybeRunWorker, in a binary built with the turbocat_nojs tag (the Lambda
// functions, whose code workers are the separate cmd/codeworker binary),
// refuses to serve: this binary has no JavaScript engine.
func MaybeRunWorker() {
	if os.Getenv(WorkerEnv) != "1" {
		return
	}
	fmt.Fprintln(os.Stderr, "code worker: this binary was built without the JavaScript engine (tag turbocat_nojs); start cmd/codeworker instead")
	os.Exit(2)
}
