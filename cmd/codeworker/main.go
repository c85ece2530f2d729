// Command codeworker is the sandboxed worker process of code agents on
// Lambda: the steprunner function ships it beside its bootstrap
// (dist/steprunner/codeworker) and starts it for JavaScript runs, so that
// only this small binary links the JavaScript engine (goja) and the
// function itself stays smaller. turbocat dev re-executes itself instead.
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
