package runtime

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// pathSeg is one step of a parsed JSONPath.
type pathSeg struct {
	kind    segKind
	name    string   // segField, segDescend
	index   int      // segIndex
	indexes []int    // segUnion (indexes) or names
	names   []string // segUnion of names
	start   *int     // segSlice
	end     *int     // segSlice
	filter  *filterExpr
}

type segKind int

const (
	segField segKind = iota
	segIndex
	segWildcard
	segDescend    // ..name
	segDescendAll // ..*
	segSlice
	segUnion
	segFilter
)

// jsonPath is a parsed JSONPath expression rooted at $ (the data) or $$
// (the context object).
type jsonPath struct {
	context  bool
	variable string // $name...: rooted at a workflow variable
	segs     []pathSeg
	definite bool
	src      string
}

// filterExpr is a simple filter [?(@.a.b OP literal)] or [?(@.a.b)].
type filterExpr struct {
	left  []pathSeg
	op    string
	right any
}

func parsePath(src string) (*jsonPath, error) {
	p := &jsonPath{src: src, definite: true}
	s := src
	switch {
	case strings.HasPrefix(s, "$$"):
		p.context = true
		s = s[2:]
	case len(s) > 1 && s[0] == '$' && isVariableStart(s[1]):
		i := 2
		for i < len(s) && isVariableChar(s[i]) {
			i++
		}
		p.variable = s[1:i]
		s = s[i:]
	case strings.HasPrefix(s, "$"):
		s = s[1:]
	default:
		return nil, fmt.Errorf("path %q must start with $", src)
	}
	segs, rest, err := parseSegs(s, false)
	if err != nil {
		return nil, fmt.Errorf("path %q: %w", src, err)
	}
	if rest != "" {
		return nil, fmt.Errorf("path %q: unexpected %q", src, rest)
	}
	p.segs = segs
	for _, sg := range segs {
		if sg.kind != segField && sg.kind != segIndex {
			p.definite = false
		}
	}
	return p, nil
}

func isVariableStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isVariableChar(c byte) bool { return isVariableStart(c) || c >= '0' && c <= '9' }

// evalIn applies the path to what it is rooted at: the input ($), the
// context object ($$) or a variable ($name).
func (p *jsonPath) evalIn(input any, env *stateEnv) (any, error) {
	switch {
	case p.context:
		return p.eval(env.context())
	case p.variable != "":
		v, ok := env.vars().get(p.variable)
		if !ok {
			return nil, &errPathNotFound{p.src}
		}
		return p.eval(v)
	}
	return p.eval(input)
}

// source returns the value the path is applied to, for error messages.
func (p *jsonPath) source(input any, env *stateEnv) any {
	switch {
	case p.context:
		return env.context()
	case p.variable != "":
		v, _ := env.vars().get(p.variable)
		return v
	}
	return input
}

func isNameChar(c byte) bool {
	return c != '.' && c != '[' && c != ' ' && c != ')' && c != '=' && c != '<' && c != '>' && c != '!' && c != '&' && c != '|'
}

func parseSegs(s string, inFilter bool) ([]pathSeg, string, error) {
	var segs []pathSeg
	for len(s) > 0 {
		switch {
		case strings.HasPrefix(s, ".."):
			s = s[2:]
			if strings.HasPrefix(s, "*") {
				segs = append(segs, pathSeg{kind: segDescendAll})
				s = s[1:]
				continue
			}
			if strings.HasPrefix(s, "[") {
				segs = append(segs, pathSeg{kind: segDescendAll})
				continue
			}
			i := 0
			for i < len(s) && isNameChar(s[i]) {
				i++
			}
			if i == 0 {
				return nil, s, fmt.Errorf("empty name after ..")
			}
			segs = append(segs, pathSeg{kind: segDescend, name: s[:i]})
			s = s[i:]
		case s[0] == '.':
			s = s[1:]
			if strings.HasPrefix(s, "*") {
				segs = append(segs, pathSeg{kind: segWildcard})
				s = s[1:]
				continue
			}
			i := 0
			for i < len(s) && isNameChar(s[i]) {
				i++
			}
			if i == 0 {
				return nil, s, fmt.Errorf("empty field name")
			}
			segs = append(segs, pathSeg{kind: segField, name: s[:i]})
			s = s[i:]
		case s[0] == '[':
			seg, rest, err := parseBracket(s[1:])
			if err != nil {
				return nil, s, err
			}
			segs = append(segs, seg)
			s = rest
		default:
			if inFilter {
				return segs, s, nil
			}
			return nil, s, fmt.Errorf("unexpected character %q", s[0])
		}
	}
	return segs, s, nil
}

func parseQuoted(s string) (string, string, error) {
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			i++
			b.WriteByte(s[i])
			continue
		}
		if c == q {
			return b.String(), s[i+1:], nil
		}
		b.WriteByte(c)
	}
	return "", "", fmt.Errorf("unterminated quoted name")
}

func parseBracket(s string) (pathSeg, string, error) {
	s = strings.TrimLeft(s, " ")
	if s == "" {
		return pathSeg{}, s, fmt.Errorf("unterminated [")
	}
	switch {
	case s[0] == '*':
		s = strings.TrimLeft(s[1:], " ")
		if !strings.HasPrefix(s, "]") {
			return pathSeg{}, s, fmt.Errorf("expected ]")
		}
		return pathSeg{kind: segWildcard}, s[1:], nil
	case s[0] == '\'' || s[0] == '"':
		var names []string
		for {
			name, rest, err := parseQuoted(s)
			if err != nil {
				return pathSeg{}, s, err
			}
			names = append(names, name)
			rest = strings.TrimLeft(rest, " ")
			if strings.HasPrefix(rest, ",") {
				s = strings.TrimLeft(rest[1:], " ")
				if s == "" || (s[0] != '\'' && s[0] != '"') {
					return pathSeg{}, s, fmt.Errorf("expected quoted name")
				}
				continue
			}
			if !strings.HasPrefix(rest, "]") {
				return pathSeg{}, rest, fmt.Errorf("expected ]")
			}
			if len(names) == 1 {
				return pathSeg{kind: segField, name: names[0]}, rest[1:], nil
			}
			return pathSeg{kind: segUnion, names: names}, rest[1:], nil
		}
	case s[0] == '?':
		return parseFilter(s[1:])
	}
	end := strings.IndexByte(s, ']')
	if end < 0 {
		return pathSeg{}, s, fmt.Errorf("unterminated [")
	}
	body, rest := strings.TrimSpace(s[:end]), s[end+1:]
	if strings.Contains(body, ":") {
		parts := strings.Split(body, ":")
		if len(parts) > 3 {
			return pathSeg{}, s, fmt.Errorf("bad slice %q", body)
		}
		seg := pathSeg{kind: segSlice}
		for i, part := range parts[:2] {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			n, err := strconv.Atoi(part)
			if err != nil {
				return pathSeg{}, s, fmt.Errorf("bad slice %q", body)
			}
			if i == 0 {
				seg.start = &n
			} else {
				seg.end = &n
			}
		}
		return seg, rest, nil
	}
	if strings.Contains(body, ",") {
		var idx []int
		for _, part := range strings.Split(body, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(part))
			if err != nil {
				return pathSeg{}, s, fmt.Errorf("bad index %q", part)
			}
			idx = append(idx, n)
		}
		return pathSeg{kind: segUnion, indexes: idx}, rest, nil
	}
	n, err := strconv.Atoi(body)
	if err != nil {
		return pathSeg{}, s, fmt.Errorf("bad index %q", body)
	}
	return pathSeg{kind: segIndex, index: n}, rest, nil
}

func parseFilter(s string) (pathSeg, string, error) {
	s = strings.TrimLeft(s, " ")
	if !strings.HasPrefix(s, "(") {
		return pathSeg{}, s, fmt.Errorf("expected ( after ?")
	}
	s = strings.TrimLeft(s[1:], " ")
	if !strings.HasPrefix(s, "@") {
		return pathSeg{}, s, fmt.Errorf("filter must start with @")
	}
	left, rest, err := parseSegs(s[1:], true)
	if err != nil {
		return pathSeg{}, s, err
	}
	for _, sg := range left {
		if sg.kind != segField && sg.kind != segIndex {
			return pathSeg{}, s, fmt.Errorf("filter path must be definite")
		}
	}
	f := &filterExpr{left: left}
	rest = strings.TrimLeft(rest, " ")
	for _, op := range []string{"==", "!=", "<=", ">=", "<", ">"} {
		if strings.HasPrefix(rest, op) {
			f.op = op
			rest = strings.TrimLeft(rest[len(op):], " ")
			break
		}
	}
	if f.op != "" {
		end := strings.IndexByte(rest, ')')
		if end < 0 {
			return pathSeg{}, rest, fmt.Errorf("unterminated filter")
		}
		lit := strings.TrimSpace(rest[:end])
		if len(lit) >= 2 && lit[0] == '\'' && lit[len(lit)-1] == '\'' {
			f.right = lit[1 : len(lit)-1]
		} else {
			v, err := decodeJSON([]byte(lit))
			if err != nil {
				return pathSeg{}, rest, fmt.Errorf("bad filter literal %q", lit)
			}
			f.right = v
		}
		rest = rest[end:]
	}
	rest = strings.TrimLeft(rest, " ")
	if !strings.HasPrefix(rest, ")") {
		return pathSeg{}, rest, fmt.Errorf("expected ) in filter")
	}
	rest = strings.TrimLeft(rest[1:], " ")
	if !strings.HasPrefix(rest, "]") {
		return pathSeg{}, rest, fmt.Errorf("expected ] after filter")
	}
	return pathSeg{kind: segFilter, filter: f}, rest[1:], nil
}

// errPathNotFound reports that a definite path matched nothing.
type errPathNotFound struct{ path string }

func (e *errPathNotFound) Error() string {
	return fmt.Sprintf("the JSONPath '%s' could not be found in the input", e.path)
}

// eval applies the path to data. A definite path returns its single value
// or errPathNotFound; an indefinite path returns the array of matches.
func (p *jsonPath) eval(data any) (any, error) {
	if p.definite {
		cur := data
		for _, sg := range p.segs {
			next, ok := step(cur, sg)
			if !ok {
				return nil, &errPathNotFound{p.src}
			}
			cur = next
		}
		return cur, nil
	}
	cur := []any{data}
	for _, sg := range p.segs {
		var next []any
		for _, c := range cur {
			next = applySeg(next, c, sg)
		}
		cur = next
	}
	if cur == nil {
		cur = []any{}
	}
	return cur, nil
}

func step(cur any, sg pathSeg) (any, bool) {
	switch sg.kind {
	case segField:
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		v, ok := m[sg.name]
		return v, ok
	case segIndex:
		a, ok := cur.([]any)
		if !ok {
			return nil, false
		}
		i := sg.index
		if i < 0 {
			i += len(a)
		}
		if i < 0 || i >= len(a) {
			return nil, false
		}
		return a[i], true
	}
	return nil, false
}

func applySeg(out []any, cur any, sg pathSeg) []any {
	switch sg.kind {
	case segField, segIndex:
		if v, ok := step(cur, sg); ok {
			out = append(out, v)
		}
	case segWildcard:
		out = appendChildren(out, cur)
	case segUnion:
		for _, n := range sg.names {
			if v, ok := step(cur, pathSeg{kind: segField, name: n}); ok {
				out = append(out, v)
			}
		}
		for _, i := range sg.indexes {
			if v, ok := step(cur, pathSeg{kind: segIndex, index: i}); ok {
				out = append(out, v)
			}
		}
	case segSlice:
		a, ok := cur.([]any)
		if !ok {
			break
		}
		start, end := 0, len(a)
		if sg.start != nil {
			start = *sg.start
			if start < 0 {
				start += len(a)
			}
		}
		if sg.end != nil {
			end = *sg.end
			if end < 0 {
				end += len(a)
			}
		}
		start = max(0, min(start, len(a)))
		end = max(0, min(end, len(a)))
		for i := start; i < end; i++ {
			out = append(out, a[i])
		}
	case segDescend:
		walk(cur, func(v any) {
			if m, ok := v.(map[string]any); ok {
				if x, ok := m[sg.name]; ok {
					out = append(out, x)
				}
			}
		})
	case segDescendAll:
		walk(cur, func(v any) { out = appendChildren(out, v) })
	case segFilter:
		var items []any
		items = appendChildren(items, cur)
		for _, it := range items {
			if sg.filter.match(it) {
				out = append(out, it)
			}
		}
	}
	return out
}

func appendChildren(out []any, cur any) []any {
	switch c := cur.(type) {
	case map[string]any:
		for _, k := range sortedKeys(c) {
			out = append(out, c[k])
		}
	case []any:
		out = append(out, c...)
	}
	return out
}

func walk(v any, fn func(any)) {
	fn(v)
	switch c := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(c) {
			walk(c[k], fn)
		}
	case []any:
		for _, x := range c {
			walk(x, fn)
		}
	}
}

func (f *filterExpr) match(item any) bool {
	cur := item
	for _, sg := range f.left {
		next, ok := step(cur, sg)
		if !ok {
			return false
		}
		cur = next
	}
	if f.op == "" {
		return true
	}
	if ln, ok := toFloat(cur); ok {
		rn, ok := toFloat(f.right)
		if !ok {
			return f.op == "!="
		}
		switch f.op {
		case "==":
			return ln == rn
		case "!=":
			return ln != rn
		case "<":
			return ln < rn
		case "<=":
			return ln <= rn
		case ">":
			return ln > rn
		case ">=":
			return ln >= rn
		}
	}
	if ls, ok := cur.(string); ok {
		rs, ok := f.right.(string)
		if !ok {
			return f.op == "!="
		}
		switch f.op {
		case "==":
			return ls == rs
		case "!=":
			return ls != rs
		case "<":
			return ls < rs
		case "<=":
			return ls <= rs
		case ">":
			return ls > rs
		case ">=":
			return ls >= rs
		}
	}
	eq := jsonEqual(cur, f.right)
	switch f.op {
	case "==":
		return eq
	case "!=":
		return !eq
	}
	return false
}

// errResultPath reports that a ResultPath could not be applied.
type errResultPath struct{ msg string }

func (e *errResultPath) Error() string { return e.msg }

// setPath returns a copy of data with value stored at the reference path
// p. Objects along the path are copied, never mutated; missing ones are
// created. A path through a non-object fails.
func setPath(data any, p *jsonPath, value any) (any, error) {
	if !p.definite || p.context {
		return nil, &errResultPath{fmt.Sprintf("invalid ResultPath %q: must be a reference path", p.src)}
	}
	return setSegs(data, p.segs, value, p.src)
}

func setSegs(cur any, segs []pathSeg, value any, src string) (any, error) {
	if len(segs) == 0 {
		return value, nil
	}
	sg := segs[0]
	switch sg.kind {
	case segField:
		var m map[string]any
		switch c := cur.(type) {
		case map[string]any:
			m = make(map[string]any, len(c)+1)
			for k, v := range c {
				m[k] = v
			}
		case nil:
			m = map[string]any{}
		default:
			return nil, &errResultPath{fmt.Sprintf("Unable to apply ResultPath \"%s\" to input %s", src, mustEncode(cur))}
		}
		child, err := setSegs(m[sg.name], segs[1:], value, src)
		if err != nil {
			return nil, err
		}
		m[sg.name] = child
		return m, nil
	case segIndex:
		a, ok := cur.([]any)
		if !ok || sg.index < 0 || sg.index >= len(a) {
			return nil, &errResultPath{fmt.Sprintf("Unable to apply ResultPath \"%s\" to input %s", src, mustEncode(cur))}
		}
		c := append([]any(nil), a...)
		child, err := setSegs(c[sg.index], segs[1:], value, src)
		if err != nil {
			return nil, err
		}
		c[sg.index] = child
		return c, nil
	}
	return nil, &errResultPath{fmt.Sprintf("invalid ResultPath %q", src)}
}

func mustEncode(v any) string {
	b, err := encodeJSON(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return string(b)
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	}
	return 0, false
}

func jsonEqual(a, b any) bool {
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for k, x := range av {
			y, ok := bv[k]
			if !ok || !jsonEqual(x, y) {
				return false
			}
		}
		return true
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for i := range av {
			if !jsonEqual(av[i], bv[i]) {
				return false
			}
		}
		return true
	}
	if af, ok := toFloat(a); ok {
		bf, ok := toFloat(b)
		return ok && af == bf
	}
	return a == b
}
