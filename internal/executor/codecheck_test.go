package executor_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/executor"
)

// TestCheckCodeSource: a code agent with a syntax error or without main is
// refused at save, at its line (issue 18, item 11).
func TestCheckCodeSource(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, src string
		line      int
		want      string
	}{
		{"function", "function main(input) { return input; }", 0, ""},
		{"async function", "async function main(input) { return input; }", 0, ""},
		{"const arrow", "const main = (input) => input;", 0, ""},
		{"var", "var main = function (i) { return i; };", 0, ""},
		{"helpers beside main", "function helper(x) { return x * 2; }\nfunction main(i) { return helper(i.n); }", 0, ""},
		{"syntax error", "function main(input) {\n  return input +;\n}", 2, "SyntaxError: Unexpected token"},
		{"unclosed", "function main(input) {\n  return input;\n", 3, "SyntaxError"},
		{"no main", "function handler(input) { return input; }", 0, "must define function main(input, ctx)"},
		{"main only nested", "function outer() { function main() {} }", 0, "must define function main"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := executor.CheckCodeSource(tc.src)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			var se *executor.SourceError
			require.ErrorAs(t, err, &se)
			require.Equal(t, tc.line, se.Line, se.Error())
			require.Contains(t, se.Message, tc.want)
		})
	}
}
