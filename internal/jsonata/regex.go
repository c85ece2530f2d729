package jsonata

import (
	"time"

	"github.com/dlclark/regexp2/v2"
)

// regex is a compiled regular expression literal. JSONata regular
// expressions are JavaScript's, so they are compiled in ECMAScript mode.
type regex struct {
	re  *regexp2.Regexp
	src string
}

// regexTimeout bounds one match, so a catastrophic pattern cannot hang an
// evaluation.
const regexTimeout = 2 * time.Second

func compileRegex(pattern, flags string) (*regex, error) {
	opts := regexp2.ECMAScript
	for _, f := range flags {
		switch f {
		case 'i':
			opts |= regexp2.IgnoreCase
		case 'm':
			opts |= regexp2.Multiline
		}
	}
	re, err := regexp2.Compile(pattern, opts)
	if err != nil {
		return nil, err
	}
	re.MatchTimeout = regexTimeout
	return &regex{re: re, src: pattern}, nil
}

// match is one match of a regular expression, in code points.
type match struct {
	text   string
	start  int
	end    int
	groups []any // string, or nil for a group that did not take part
}

// find returns the first match at or after rune offset from, or nil.
func (r *regex) find(s string, from int) (*match, error) {
	m, err := r.re.FindRunesMatchStartingAt([]rune(s), from)
	if err != nil {
		return nil, newError("D3137", 0, "", map[string]any{"message": "regular expression evaluation failed: " + err.Error()})
	}
	if m == nil {
		return nil, nil
	}
	out := &match{text: m.String(), start: m.RuneIndex, end: m.RuneIndex + m.RuneLength}
	for _, g := range m.Groups()[1:] {
		if len(g.Captures) == 0 {
			out.groups = append(out.groups, nil)
		} else {
			out.groups = append(out.groups, g.String())
		}
	}
	return out, nil
}

// all returns up to limit (negative: every) matches, as JavaScript's global
// matching does; a zero-length match after the first is error D1004.
func (r *regex) all(s string, limit int) ([]*match, error) {
	var out []*match
	n := len([]rune(s))
	pos := 0
	for limit < 0 || len(out) < limit {
		m, err := r.find(s, pos)
		if err != nil {
			return nil, err
		}
		if m == nil {
			break
		}
		if len(out) > 0 && m.text == "" {
			return nil, newError("D1004", 0, "", nil)
		}
		out = append(out, m)
		pos = m.end
		if pos >= n {
			break
		}
	}
	return out, nil
}

var regexSig = mustSig("<s-:o>")

// regexMatcher is the function value a regex literal evaluates to: applied
// to a string it returns the first match as {match, start, end, groups}.
func regexMatcher(r *regex) func(*call, []any) (any, error) {
	return func(_ *call, a []any) (any, error) {
		s, ok := a[0].(string)
		if !ok {
			return undefined, nil
		}
		m, err := r.find(s, 0)
		if err != nil || m == nil {
			return undefined, err
		}
		return matchObject(m), nil
	}
}

func matchObject(m *match) map[string]any {
	groups := make([]any, len(m.groups))
	copy(groups, m.groups)
	return map[string]any{"match": m.text, "start": float64(m.start), "end": float64(m.end), "groups": groups}
}

// regexOf returns the regular expression a function argument denotes.
func regexOf(v any) (*regex, bool) {
	b, ok := v.(*builtin)
	if !ok || b.re == nil {
		return nil, false
	}
	return b.re, true
}
