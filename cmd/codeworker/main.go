// Command codeworker is the sandboxed worker process of code agents on
// Lambda: the steprunner and agents functions ship it beside their
// bootstrap (dist/<function>/codeworker) and start it for JavaScript runs,
// so that only this small binary links the JavaScript engine (goja) and
// the functions themselves stay small. turbocat dev re-executes itself
// instead.
package main

import (
	"fmt"
	"os"

	"github.com/turbocat/turbocat/internal/executor/codeexec"
)

func main() {
	codeexec.MaybeRunWorker() // serves runs over stdin/stdout and exits
	fmt.Fprintln(os.Stderr, "codeworker: started by the code executor only (TURBOCAT_CODE_WORKER=1)")
	os.Exit(2)
}
