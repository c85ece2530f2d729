package cli

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"
)

// diffContext is how many unchanged lines a diff shows around a change.
const diffContext = 2

// writeFieldDiff writes how a field changes: one line for single-line
// values, a line diff of the two values as YAML otherwise.
func writeFieldDiff(w io.Writer, indent, field string, before, after any) {
	b, a := showValue(before), showValue(after)
	if !strings.Contains(b, "\n") && !strings.Contains(a, "\n") {
		fmt.Fprintf(w, "%s%s: %s → %s\n", indent, field, b, a)
		return
	}
	fmt.Fprintf(w, "%s%s:\n", indent, field)
	for _, l := range lineDiff(strings.Split(b, "\n"), strings.Split(a, "\n"), diffContext) {
		fmt.Fprintf(w, "%s  %s\n", indent, strings.TrimRight(l, " "))
	}
}

// showValue renders a value for a diff: scalars inline (strings quoted, so
// an empty one shows), anything else as YAML.
func showValue(v any) string {
	switch t := v.(type) {
	case nil:
		return "(none)"
	case string:
		if t == "" {
			return `""`
		}
		if !strings.Contains(t, "\n") {
			return fmt.Sprintf("%q", t)
		}
		return strings.TrimRight(t, "\n")
	case float64, int, bool:
		return fmt.Sprint(t)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	_ = enc.Close()
	return strings.TrimRight(buf.String(), "\n")
}

// lineDiff returns the lines of a unified-style diff of a and b: "- " for
// lines only in a, "+ " only in b, "  " for the context lines kept around
// each change, and "…" where unchanged lines are left out.
func lineDiff(a, b []string, context int) []string {
	// lcs[i][j] is the length of the longest common subsequence of a[i:]
	// and b[j:].
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type op struct {
		mark byte
		text string
	}
	var ops []op
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			ops = append(ops, op{' ', a[i]})
			i, j = i+1, j+1
		case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, op{'-', a[i]})
			i++
		default:
			ops = append(ops, op{'+', b[j]})
			j++
		}
	}
	// Keep the changes and the context lines within reach of one.
	keep := make([]bool, len(ops))
	for k, o := range ops {
		if o.mark == ' ' {
			continue
		}
		for x := max(0, k-context); x <= min(len(ops)-1, k+context); x++ {
			keep[x] = true
		}
	}
	var out []string
	skipped := false
	for k, o := range ops {
		if !keep[k] {
			skipped = true
			continue
		}
		if skipped && len(out) > 0 {
			out = append(out, "…")
		}
		skipped = false
		out = append(out, string(o.mark)+" "+o.text)
	}
	return out
}
