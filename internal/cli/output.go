package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func addOutputFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVarP(p, "output", "o", "table", "output format: table or json")
}

func checkOutput(o string) error {
	if o != "table" && o != "json" {
		return fmt.Errorf("unknown output format %q: use table or json", o)
	}
	return nil
}

// report prints what a command did: v as JSON with -o json, else text.
func report(w io.Writer, output string, v any, text string) error {
	if output == "json" {
		return printJSON(w, v)
	}
	_, err := fmt.Fprintln(w, text)
	return err
}

func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

func printTable(w io.Writer, header []string, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	_ = tw.Flush()
}

// str renders a JSON value for a table cell.
func str(v any) string {
	switch v := v.(type) {
	case nil:
		return "-"
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// isTerminal reports whether v (standard input or output) is an
// interactive terminal; pipes, files and /dev/null are not.
func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// readHidden asks for a value at a terminal without echoing it. ok is false
// when standard input is not a terminal (the caller reads it plainly).
func readHidden(env *Env, prompt string) (value string, ok bool, err error) {
	f, isFile := env.Stdin.(*os.File)
	if !isFile || !isTerminal(f) {
		return "", false, nil
	}
	v, err := readHiddenLine(f, env.Stderr, prompt)
	fmt.Fprintln(env.Stderr)
	return v, true, err
}

// errorText renders a run's or a step's error ({error, cause}) as a line
// of text: "Code.Timeout: the agent ran past 30 s".
func errorText(v any) string {
	if raw, ok := v.(json.RawMessage); ok {
		if len(raw) == 0 || string(raw) == "null" {
			return ""
		}
		var x any
		if json.Unmarshal(raw, &x) != nil {
			return string(raw)
		}
		v = x
	}
	switch e := v.(type) {
	case nil:
		return ""
	case string:
		return e
	case map[string]any:
		name, cause := str0(e["error"]), str0(e["cause"])
		if step := str0(e["stepKey"]); step != "" {
			name = "step " + step + ": " + name
		}
		switch {
		case name != "" && cause != "":
			return name + ": " + cause
		case name != "" || cause != "":
			return name + cause
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// orDash is s, or "-" for an empty table cell.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// intOf returns a JSON number as an int (0 for anything else).
func intOf(v any) int {
	f, _ := v.(float64)
	return int(f)
}

// floatPtr returns a JSON number as a *float64 (nil for anything else).
func floatPtr(v any) *float64 {
	f, ok := v.(float64)
	if !ok {
		return nil
	}
	return &f
}

// int64Ptr returns a JSON number as an *int64 (nil for anything else).
func int64Ptr(v any) *int64 {
	f, ok := v.(float64)
	if !ok {
		return nil
	}
	n := int64(f)
	return &n
}
