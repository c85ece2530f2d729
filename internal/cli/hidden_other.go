//go:build !linux

package cli

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// readHiddenLine prints prompt and reads one line from the terminal f
// without echoing it.
func readHiddenLine(f *os.File, stderr io.Writer, prompt string) (string, error) {
	fmt.Fprint(stderr, prompt)
	b, err := term.ReadPassword(int(f.Fd()))
	return string(b), err
}
