package sfn

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/turbocat/turbocat/internal/turbocat"
)

// StepRunnerFunctionArn is the placeholder compiled definitions carry for
// the step runner Lambda unless compiled with the real ARN.
const StepRunnerFunctionArn = "StepRunnerFunctionArn"

// placeholderRE matches ${Name}; other "${...}" text is not a placeholder.
var placeholderRE = regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*\}`)

// Substitute replaces every ${Name} placeholder in def with vars[Name],
// escaped for a JSON string (placeholders sit inside JSON strings). It
// fails with EVALIDATION, naming them, on placeholders vars does not have.
// Name is a letter or '_' then letters, digits or '_'; other "${...}" text
// is not a placeholder and stays as it is.
func Substitute(def []byte, vars map[string]string) ([]byte, error) {
	var unknown []string
	out := placeholderRE.ReplaceAllFunc(def, func(m []byte) []byte {
		name := string(m[2 : len(m)-1])
		v, ok := vars[name]
		if !ok {
			unknown = append(unknown, name)
			return m
		}
		return jsonEscape(v)
	})
	if len(unknown) > 0 {
		known := make([]string, 0, len(vars))
		for k := range vars {
			known = append(known, k)
		}
		slices.Sort(known)
		return nil, turbocat.Errorf(turbocat.EVALIDATION, "definition uses unknown placeholders %s (known: %s)",
			strings.Join(uniq(unknown), ", "), strings.Join(known, ", "))
	}
	return out, nil
}

func uniq(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

// jsonEscape escapes v for the inside of a JSON string.
func jsonEscape(v string) []byte {
	var b bytes.Buffer
	for _, r := range v {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.Bytes()
}
